#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# service-perm.sh: vsockdev's sockets and capture get the mode and group the operator chose, whatever the umask
# (000 and 022): 0660 and 0600 by default, --socket-mode/--socket-group, --pcap-mode/--pcap-group, the capture's
# group following --socket-group; a capture already there with 0666 is made 0600 too; bad modes and groups are
# usage errors.
# Usage: service-perm.sh VSOCKDEV
# Exit: 0 pass, 1 fail, 77 skip (no group to give files: not root and in no group but one's own), 99 bad invocation.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 VSOCKDEV" >&2
	exit 99
fi
vsockdev=$(realpath "$1")

. "$(dirname "$0")/harness.sh"

# Groups to give the files: other than this user's own, so a change shows. Root may give any; another user
# only a group it is a member of.
own=$(id -g)
if [ "$(id -u)" = 0 ]; then
	group1=nogroup gid1=$(getent group nogroup | cut -d: -f3)
	[ -n "$gid1" ] || group1=65534 gid1=65534
	group2=4242 gid2=4242	# a number no name has: numbers are taken as they are
else
	gid1=$(id -G | tr ' ' '\n' | grep -vx "$own" | head -1)
	[ -n "$gid1" ] || skip "this user is in no group but its own, so no group change can be seen (run as root)"
	group1=$(getent group "$gid1" | cut -d: -f1)
	[ -n "$group1" ] || group1=$gid1
	group2=$gid1 gid2=$gid1
fi
start_harness

# run UMASK ARGS...: vsockdev with two VMs, statistics and a capture, under UMASK, until it is ready; the
# modes and groups (stat -c '%a %g') of its files are then in $tmp/modes as "NAME MODE GID" lines.
run() {
	local mask=$1 pid f
	shift
	rm -f "$tmp"/run/*
	(umask "$mask" && exec "$vsockdev" --vm "guest-cid=3,socket=$tmp/run/vm3.vhost,uds-path=$tmp/run/vm3.vsock" \
		--vm "guest-cid=4,socket=$tmp/run/vm4.vhost" --stats "$tmp/run/stats" -w "$tmp/run/cap.pcap" "$@") \
		>"$tmp/run.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	: >"$tmp/modes"
	if wait_for "$tmp/run.log" 'ready: every socket listens' 10; then
		for f in vm3.vhost vm3.vsock vm4.vhost stats cap.pcap; do
			echo "$f $(stat -c '%a %g' "$tmp/run/$f")" >>"$tmp/modes"
		done
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# expect WHAT SOCKET_MODE SOCKET_GID PCAP_MODE PCAP_GID: every socket and the capture as said.
expect() {
	local what=$1 want
	want=$(printf 'vm3.vhost %s %s\nvm3.vsock %s %s\nvm4.vhost %s %s\nstats %s %s\ncap.pcap %s %s\n' \
		"$2" "$3" "$2" "$3" "$2" "$3" "$2" "$3" "$4" "$5")
	if [ "$(cat "$tmp/modes")" = "$want" ]; then
		ok "$what: sockets $2 gid $3, capture $4 gid $5"
	else
		bad "$what: want sockets $2 gid $3, capture $4 gid $5; got:"
		show "$tmp/modes" "$tmp/run.log"
	fi
}

mkdir -p "$tmp/run"
for mask in 000 022; do
	run $mask
	expect "umask $mask, defaults" 660 "$own" 600 "$own"
	run $mask --socket-mode 0620 --socket-group "$group1"
	expect "umask $mask, --socket-mode 0620 --socket-group $group1" 620 "$gid1" 600 "$gid1"
	run $mask --socket-mode 666 --socket-group "$group1" --pcap-mode 0640 --pcap-group "$group2"
	expect "umask $mask, --socket-mode 666 --socket-group $group1 --pcap-mode 0640 --pcap-group $group2" \
		666 "$gid1" 640 "$gid2"
done
# umask 077 is no excuse either way: what the operator asked for is what the files get.
run 077 --socket-mode 0666 --pcap-mode 0644
expect "umask 077, --socket-mode 0666 --pcap-mode 0644" 666 "$own" 644 "$own"

# A capture left by an earlier run, readable by all, is truncated and made 0600 like a new one.
rm -f "$tmp"/run/*
(umask 000 && : >"$tmp/old.pcap" && chmod 666 "$tmp/old.pcap")
(umask 000 && exec "$vsockdev" --vm "guest-cid=3,socket=$tmp/run/vm3.vhost" -w "$tmp/old.pcap") >"$tmp/run.log" 2>&1 &
pid=$!
pids="$pids $pid"
if wait_for "$tmp/run.log" 'ready: every socket listens' 10 && [ "$(stat -c %a "$tmp/old.pcap")" = 600 ]; then
	ok "a capture already there with mode 666 is made 600"
else
	bad "a capture already there kept mode $(stat -c %a "$tmp/old.pcap"):"
	show "$tmp/run.log"
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# A user that is not in the group (nobody, whose own group is nogroup) cannot give it: vsockdev must say so and not start.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$tmp" && mkdir -m 1777 "$tmp/nobody"
	timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups "$vsockdev" \
		--vm "guest-cid=3,socket=$tmp/nobody/vm3.vhost" --socket-group "$group2" >"$tmp/run.log" 2>&1
	st=$?
	if [ $st = 1 ] && grep -q "cannot give it the group $gid2: Operation not permitted (the daemon's user must be a member" \
		"$tmp/run.log" && [ ! -e "$tmp/nobody/vm3.vhost" ]; then
		ok "a user outside --socket-group $group2: exit 1, 'must be a member of the group', no socket left"
	else
		bad "a user outside the group: exit $st (want 1, the reason, no socket left):"
		show "$tmp/run.log"
	fi
else
	echo "# not root (or no setpriv): a user outside the group is not tried"
fi

# Usage errors (exit 2), saying what is wrong.
usage_error() {
	local what=$1 words=$2
	shift 2
	"$vsockdev" --vm "guest-cid=3,socket=$tmp/run/x.vhost" "$@" >"$tmp/err.log" 2>&1
	local st=$?
	if [ $st = 2 ] && grep -q -- "$words" "$tmp/err.log" && [ ! -e "$tmp/run/x.vhost" ]; then
		ok "$what: exit 2, '$words'"
	else
		bad "$what: exit $st, want 2 and '$words' (and no socket made):"
		show "$tmp/err.log"
	fi
}
usage_error "--socket-mode 0800" "expected octal permission bits" --socket-mode 0800
usage_error "--socket-mode 1777" "expected octal permission bits" --socket-mode 1777
usage_error "--pcap-mode rw" "expected octal permission bits" --pcap-mode rw
usage_error "--socket-group no-such-group-here" "no group named 'no-such-group-here'" --socket-group no-such-group-here
usage_error "--pcap-group -5" "no group named '-5'" --pcap-group -5
verdict
