#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev.sh: a real Linux guest under QEMU uses vsockdev as its vhost-user-vsock device: 8 MiB each way, SEQPACKET, a refused connect, half-closes both ways, 50 connections; vsockdev's tap and the guest's own vsockmon must show the same packets.
# Usage: vsockdev.sh VSOCKDEV VSOCK-PEER VSOCKDUMP
# Env: VM_WORKDIR (default $BUILDDIR/tests/vm/vsockdev, or a temporary directory): the initramfs, the guest's
#      console, the captures and every tool's output stay there for a look after a failure.
# Exit: 0 pass, 1 fail, 77 skip (QEMU or a cloud kernel is missing; ./do deps installs both), 99 the run broke.
# The host opens no vsock socket: vsockdev serves the guest's device over vhost-user, host programs use
# Unix sockets; only the guest's kernel has a vsock stack.
set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 VSOCKDEV VSOCK-PEER VSOCKDUMP" >&2
	exit 99
fi
dev=$(realpath "$1") peer=$(realpath "$2") vd=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
workdir vsockdev
need_stats_tools
initramfs

# ---- the daemon and the host's programs
H=$work/h.sock
start_daemon "$dev" --vm "guest-cid=3,socket=$work/vu.sock,uds-path=$H" --pcap "$work/dev.pcap" --stats "$work/stats.sock"
listen up recv "uds-listen:${H}_1234" --expect 8m --seed 1
listen seq seq-echo "uds-listen:${H}_1236" --seqpacket
listen half-up halfclose-server "uds-listen:${H}_1238"
listen conc echo "uds-listen:${H}_1240" --count 50 --parallel
# The host-initiated steps, when the guest says its listener is up.
on_console "@@HOST-GO down" down send "uds:$H:5000" 8m --seed 2
on_console "@@HOST-GO half-down" half-down halfclose-client "uds:$H:5001" 300000
# A host program's CONNECT to a guest port nothing listens on: the guest's own kernel answers with an RST.
on_console "@@HOST-GO down" host-refused expect-reset "uds:$H:5999"

t0=$(date +%s.%N)
boot vsockdev 280
rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || exit $(( rc == 99 ? 99 : 1 ))
echo "# guest run: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
r=$work/results
stats=$(stats)
echo "$stats" >"$work/stats.json"

# ---- the traffic, judged from both ends
res() { sed -n "s/^$1 //p" "$r/results.txt"; }
hostline() { head -n 1 "$work/$1.host"; }
for s in up down seq refused half-up half-down conc; do
	line=$(res "$s")
	if [ "$(field "$line" rc)" != 0 ]; then
		bad "guest step $s: ${line:-no result}"
		[ -s "$r/$s.err" ] && show "$r/$s.err"
	fi
done
up=$(res up) uph=$(hostline up)
if [ "$(field "$up" sent)" = 8388608 ] && [ "$(field "$uph" recv)" = 8388608 ] &&
   [ "$(field "$up" sum)" = "$(field "$uph" sum)" ]; then
	ok "guest to host: 8 MiB, checksum $(field "$up" sum) at both ends ($(field "$up" ms) ms)"
else
	bad "guest to host: guest '$up', host '$uph'"; show "$work/up.host.err"
fi
down=$(res down) downh=$(hostline down)
if [ "$(field "$downh" sent)" = 8388608 ] && [ "$(field "$down" recv)" = 8388608 ] &&
   [ "$(field "$down" sum)" = "$(field "$downh" sum)" ] && grep -q '^rc=0' "$work/down.host"; then
	ok "host to guest: 8 MiB through CONNECT 5000, checksum $(field "$down" sum) at both ends ($(field "$downh" ms) ms)"
else
	bad "host to guest: guest '$down', host '$downh'"; show "$work/down.host.err"
fi
seq=$(res seq)
if [ "$(field "$seq" msgs)" = 19 ] && [ "$(field "$seq" ok)" = 19 ] && [ "$(field "$(hostline seq)" msgs)" = 19 ]; then
	ok "SEQPACKET: 19 messages of 1 byte to 200000 bytes, each echoed whole (host saw $(field "$(hostline seq)" msgs))"
else
	bad "SEQPACKET: guest '$seq', host '$(hostline seq)'"
fi
refused=$(res refused)
if [ "$(field "$refused" errno)" = ECONNRESET ] && [ "$(field "$refused" ms)" -lt 1000 ] 2>/dev/null; then
	ok "a connect to a port with no host listener fails at once: ECONNRESET in $(field "$refused" ms) ms"
else
	bad "refused connect: '$refused'"
fi
hu=$(res half-up) huh=$(hostline half-up)
if [ "$(field "$hu" ok)" = 1 ] && [ "$(field "$huh" recv)" = 300000 ]; then
	ok "half-close, guest shuts down sending first: the host's $(field "$hu" answer)-byte answer still arrives"
else
	bad "half-close guest to host: guest '$hu', host '$huh'"
fi
hd=$(res half-down) hdh=$(hostline half-down)
if [ "$(field "$hdh" ok)" = 1 ] && [ "$(field "$hd" recv)" = 300000 ] && grep -q '^rc=0' "$work/half-down.host"; then
	ok "half-close, host shuts down sending first: the guest's $(field "$hdh" answer)-byte answer still arrives"
else
	bad "half-close host to guest: guest '$hd', host '$hdh'"; show "$work/half-down.host.err"
fi
conc=$(res conc) conch=$(hostline conc)
if [ "$(field "$conc" conns)" = 50 ] && [ "$(field "$conc" ok)" = 50 ] && [ "$(field "$conch" served)" = 50 ] &&
   [ "$(field "$conch" failed)" = 0 ]; then
	ok "50 concurrent connections of 256 KiB, every echo intact ($(field "$conc" ms) ms)"
else
	bad "concurrent: guest '$conc', host '$conch'"
fi

# ---- the captures: the guest's kernel vsockmon against vsockdev's tap
kdrop=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$r/tcpdump.err")
gcount=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$r/tcpdump.err")
grecv=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter$/\1/p' "$r/tcpdump.err")
if [ "$kdrop" != 0 ] || [ "$grecv" != "$gcount" ]; then
	bad "the guest's tcpdump captured ${gcount:-?} of ${grecv:-?} packets, the kernel dropped ${kdrop:-?}: the comparison would be unfair"
	show "$r/tcpdump.err"
fi
# One line per packet without time: addresses, type, op, flags, length, buf_alloc, fwd_cnt.
"$vd" -t -n -vv -r "$r/guest.pcap" >"$work/guest.txt" 2>"$work/guest.vd.err"
"$vd" -t -n -vv -r "$work/dev.pcap" >"$work/dev.txt" 2>"$work/dev.vd.err"
# Each direction of each connection is its own ordered sequence: the guest taps when its driver queues or
# takes a packet, the device when it pops or pushes a descriptor, so the two directions may interleave
# differently (shared/reference/vm-lab.md); within one direction the order is the wire's.
compare() {
	awk '
	FNR == 1 { f++ }
	{ key = $1 " " $2 " " $3; $1 = $2 = $3 = ""; seq[f, key] = seq[f, key] "\n" $0; n[f, key]++; keys[key] = 1; total[f]++ }
	END {
		for (k in keys) {
			dirs++
			if (seq[1, k] == seq[2, k]) { same++; continue }
			diff++
			if (diff <= 3) printf "  %s: guest %d packets, vsockdev %d\n", k, n[1, k], n[2, k] > "/dev/stderr"
		}
		printf "%d %d %d %d %d\n", total[1], total[2], dirs, same + 0, diff + 0
	}' "$1" "$2"
}
read -r gn dn dirs same diff < <(compare "$work/guest.txt" "$work/dev.txt" 2>"$work/compare.err")
if [ "${gn:-0}" -gt 0 ] && [ "$gn" = "$dn" ] && [ "$diff" = 0 ] && [ "$gn" = "$gcount" ] && ! [ -s "$work/dev.vd.err" ]; then
	ok "the guest's vsockmon and vsockdev's tap agree packet for packet: $gn packets, $dirs connection directions, same ops, lengths, flags and credit in the same order"
else
	bad "captures differ: guest $gn packets (tcpdump counted ${gcount:-?}), vsockdev $dn, $diff of $dirs directions differ:"
	show "$work/compare.err" "$work/dev.vd.err"
fi
# EOR kept: each message sent with MSG_EOR has EOR on its last packet, on the way to the host and in the guest.
eor_dev=$(grep -c '^3:[0-9]* > 2:1236 SEQPACKET RW \[EOM,EOR\]' "$work/dev.txt")
eom_dev=$(grep -c '^3:[0-9]* > 2:1236 SEQPACKET RW \[EOM' "$work/dev.txt")
if [ "$eor_dev" = 5 ] && [ "$eom_dev" = 19 ]; then
	ok "SEQPACKET boundaries and EOR kept: 19 messages end with EOM, the 5 sent with MSG_EOR carry EOR"
else
	bad "SEQPACKET flags in vsockdev's capture: $eom_dev messages with EOM (19 sent), $eor_dev with EOR (5 sent)"
fi

# ---- the daemon: statistics, then a clean SIGTERM
if [ -n "$stats" ] && jq -e '.version == 1 and (.vms | length) == 1 and .vms[0].guest_cid == 3 and .vms[0].packets.malformed == 0
     and .vms[0].packets.from_guest > 0 and .vms[0].queues[1].chains_popped == .vms[0].packets.from_guest
     and .tap_sinks[0].dropped == 0' <<<"$stats" >/dev/null 2>&1; then
	ok "statistics: $(jq -r '.vms[0] | "\(.packets.from_guest) packets from the guest, \(.packets.to_guest) to it (\(.packets.split) split), \(.rx_ring_empty.events) RX ring exhaustion events, \(.sessions) session, \(.resets) resets"' <<<"$stats")"
else
	bad "statistics: ${stats:-none}"
fi
# The causes, as events (issue 13): the guest's connect to host port 4321 found nothing at the socket path,
# and the host's CONNECT 5999 was refused by the guest's kernel.
hr=$(grep -v '^rc=' "$work/host-refused.host" 2>/dev/null | head -n 1)
if [ "$(field "$hr" errno)" = ECONNRESET ] && grep -qx 'rc=0' "$work/host-refused.host"; then
	ok "a host CONNECT to a guest port with no listener is refused: $hr"
else
	bad "host CONNECT 5999: '${hr:-no result}'"; show "$work/host-refused.host.err"
fi
for want in "guest no_listener 4321 ${H}_4321" "host guest_no_listener 5999 "; do
	read -r side reason port detail <<<"$want"
	ev=$(jq -c --arg side "$side" --arg reason "$reason" --argjson port "$port" --arg detail "$detail" \
		'[.vms[0].events[] | select(.side == $side and .reason == $reason and .port == $port
		  and (.detail | startswith($detail)))][0] // empty' <<<"$stats" 2>/dev/null)
	if [ -n "$ev" ]; then
		ok "event $reason ($side, port $port): $(jq -r '"\(.why) [\(.detail)]"' <<<"$ev")"
	else
		bad "no $reason event for $side port $port in: $(jq -c '.vms[0].events' <<<"$stats" 2>/dev/null)"
	fi
done
stop_daemon
if grep -qi 'error\|broke\|malformed' "$work/vsockdev.log"; then
	bad "vsockdev's log reports trouble:"; show "$work/vsockdev.log"
fi

finish
