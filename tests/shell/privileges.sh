#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# privileges.sh: vsockdump and vsocktop give up root once the capture is open: -Z USER switches user, group and
# supplementary groups (checked in /proc/PID/status while they wait on a FIFO), both always set no_new_privs,
# vsockdump run as root without -Z becomes the user vsockmon when that user exists (a throwaway /etc/passwd in a
# mount namespace of the test's own), and -Z root keeps root.
# Usage: privileges.sh VSOCKTOP VSOCKDUMP MKPCAP
# Exit: 0 pass, 1 fail, 77 skip (not root, no user nobody, no unshare), 99 bad invocation.
set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 VSOCKTOP VSOCKDUMP MKPCAP" >&2
	exit 99
fi
top=$(realpath "$1") dump=$(realpath "$2") mkpcap=$(realpath "$3")

. "$(dirname "$0")/harness.sh"
[ "$(id -u)" = 0 ] || skip "needs root: it checks that root is given up (as root: meson test -C BUILDDIR privileges)"
getent passwd nobody >/dev/null || skip "no user nobody to switch to"
start_harness
chmod 755 "$tmp"
nobody_uid=$(id -u nobody) nobody_gid=$(id -g nobody)

cat >"$tmp/one.pkt" <<'PKT'
1.000000 3:1234 > 2:5000 request buf_alloc=65536
PKT
"$mkpcap" "$tmp/one.pkt" "$tmp/one.pcap" || { echo "FAIL: mkpcap"; exit 1; }
mkfifo "$tmp/fifo"

# run_waiting UID GID LABEL CMD...: runs CMD on the FIFO, whose writer sent a capture's header and first packet and
# is then silent, so the tool has opened its input and waits; checks its ids, no_new_privs, then SIGTERM.
run_waiting() {
	local uid=$1 gid=$2 label=$3 i st
	shift 3
	exec 3<>"$tmp/fifo"
	cat "$tmp/one.pcap" >&3
	"$@" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	# Until it has taken the packet in (the FIFO is empty) and made its changes.
	for ((i = 0; i < 40; i++)); do
		st=$(cat /proc/$pid/status 2>/dev/null)
		[ -n "$st" ] && grep -q "^Uid:.*\b$uid\b" <<<"$st" && grep -q '^NoNewPrivs:.*1' <<<"$st" && break
		sleep 0.05
	done
	st=$(cat /proc/$pid/status 2>/dev/null)
	if grep -Eq "^Uid:\s+$uid\s+$uid\s+$uid\s+$uid$" <<<"$st" && grep -Eq "^Gid:\s+$gid\s+$gid\s+$gid\s+$gid$" <<<"$st" &&
	   grep -Eq '^NoNewPrivs:\s+1$' <<<"$st" && { [ "$uid" = 0 ] || ! grep -Eq '^Groups:.*\b0\b' <<<"$st"; }; then
		ok "$label: $(grep -E '^(Uid|Gid|Groups|NoNewPrivs):' <<<"$st" | tr -s '\t\n' ' ')"
	else
		bad "$label: expected uid $uid, gid $gid, no_new_privs; /proc/$pid/status says:"
		grep -E '^(Uid|Gid|Groups|NoNewPrivs):' <<<"$st" | show
		show "$tmp/err"
	fi
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		bad "$label: still running 2 s after SIGTERM (stop-signals checks that)"
	fi
	wait "$pid"
	exec 3>&-
}

run_waiting "$nobody_uid" "$nobody_gid" "vsockdump -Z nobody" "$dump" -Z nobody -r "$tmp/fifo"
run_waiting 0 0 "vsockdump -Z root" "$dump" -Z root -r "$tmp/fifo"
run_waiting "$nobody_uid" "$nobody_gid" "vsocktop -Z nobody" "$top" -b -Z nobody -r "$tmp/fifo"
run_waiting 0 0 "vsocktop without -Z" "$top" -b -r "$tmp/fifo"

# A -Z user that does not exist is an error before any packet.
if "$dump" -Z no-such-user-here -r "$tmp/one.pcap" >"$tmp/out" 2>"$tmp/err"; then
	bad "vsockdump -Z no-such-user-here succeeded"
else
	grep -q 'no-such-user-here: no such user' "$tmp/err" && ok "vsockdump -Z no-such-user-here: $(cat "$tmp/err")" ||
		{ bad "vsockdump -Z no-such-user-here: the message"; show "$tmp/err"; }
fi

# vsockdump's default user, vsockmon, in a mount namespace where /etc/passwd and /etc/group have it.
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	cp /etc/passwd "$tmp/passwd"
	cp /etc/group "$tmp/group"
	grep -q '^vsockmon:' "$tmp/passwd" || echo 'vsockmon:x:64991:64991::/nonexistent:/usr/sbin/nologin' >>"$tmp/passwd"
	grep -q '^vsockmon:' "$tmp/group" || echo 'vsockmon:x:64991:' >>"$tmp/group"
	vuid=$(awk -F: '$1 == "vsockmon" {print $3}' "$tmp/passwd") vgid=$(awk -F: '$1 == "vsockmon" {print $4}' "$tmp/passwd")
	run_waiting "$vuid" "$vgid" "vsockdump as root without -Z, with a user vsockmon" \
		unshare -m sh -c 'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && exec "$3" -r "$4"' \
		sh "$tmp/passwd" "$tmp/group" "$dump" "$tmp/fifo"
else
	echo "note: unshare -m does not work here; vsockdump's default user is not checked"
fi
if ! getent passwd vsockmon >/dev/null; then
	run_waiting 0 0 "vsockdump as root without -Z and no user vsockmon: keeps root" "$dump" -r "$tmp/fifo"
fi

verdict
