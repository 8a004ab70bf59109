#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tap-vsockmon.sh (guest): a vtr tap's interface sink on a real kernel vsockmon, captured by tcpdump together with the kernel's own vsock_loopback traffic.
#
# In: VM_COUNT (packets tap-driver sends, default 200), VM_OUT. Out, in VM_OUT:
#   cap.pcap        tcpdump -i vsockmon0: the kernel's frames and the tap's, in one capture
#   driver.pcap     the same tap's pcap sink           driver.out/.err   its per-sink counters, messages
#   tcpdump.err     tcpdump's statistics                mtu.before/after  vsockmon0's MTU around the tap's setup
#   packet-sockets  /proc/net/packet just before the tap's burst
#   rx.before/after vsockmon0's packet count (its xmit counts what it takes as rx: tap and kernel frames alike)
#   traffic.log     what the kernel-side socat exchanges gave back
# The host (tests/vm/tap-vsockmon.sh) judges the files; this script fails only when a step cannot run.
set -u
n=${VM_COUNT:-200}
out=$VM_OUT
fail() { echo "FAIL: $*"; exit 1; }
# Debian's static busybox runs its own applets before PATH (standalone shell): iproute2 by its path.
ip=/usr/sbin/ip
# wait_for FILE REGEX [PID]: up to 10 s (the guest is emulated: generous), or until PID is gone.
wait_for() {
	i=0
	while [ $i -lt 200 ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		[ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

modprobe vsock_loopback || fail "modprobe vsock_loopback"
modprobe vsockmon || fail "modprobe vsockmon"
$ip link add name vsockmon0 type vsockmon || fail "ip link add vsockmon0 type vsockmon"
$ip link set vsockmon0 up || fail "ip link set vsockmon0 up"
$ip -d link show vsockmon0
cat /sys/class/net/vsockmon0/mtu >"$out/mtu.before"
cat /sys/class/net/vsockmon0/statistics/rx_packets >"$out/rx.before"

# Immediate mode gives each frame a ring slot sized from the snaplen: a snaplen just above the largest
# frame (76 + 65536) and a 16 MiB buffer hold ~250 of them, so the tap's burst loses none. -Z root: there
# is no tcpdump user to drop to.
tcpdump -Z root -i vsockmon0 --immediate-mode -U -s 65640 -B 16384 -w /tmp/cap.pcap 2>/tmp/tcpdump.err &
tcpdump=$!
wait_for /tmp/tcpdump.err "listening on" $tcpdump || { cat /tmp/tcpdump.err; fail "tcpdump is not listening on vsockmon0"; }

# Kernel traffic over vsock_loopback (CID 1, VMADDR_CID_LOCAL): an echo server and a sink for a bulk stream.
socat VSOCK-LISTEN:1234,fork EXEC:cat &
echo_srv=$!
socat -u VSOCK-LISTEN:1235 OPEN:/tmp/bulk.out,creat,trunc &
bulk_srv=$!
sleep 0.3
echo "before the tap" | socat -t 2 - VSOCK-CONNECT:1:1234 >>"$out/traffic.log" 2>&1 ||
	fail "socat echo over vsock_loopback: $(cat "$out/traffic.log")"

tap-driver vsockmon0 "$out/driver.pcap" "$n" >"$out/driver.out" 2>"$out/driver.err" &
drv=$!
wait_for "$out/driver.err" "^tap-driver: vsockmon0 ready" $drv || { cat "$out/driver.err"; fail "tap-driver did not set up vsockmon0"; }
cat /sys/class/net/vsockmon0/mtu >"$out/mtu.after"
cat /sys/class/net/vsockmon0/ifindex >"$out/ifindex"

# The tap's burst while a kernel stream drips a line every 10 ms, so their frames interleave in the capture.
# It comes early on purpose: under TCG the kernel's random pool is not ready until ~4.5 s of uptime, and
# until then /proc/net/packet prints socket addresses as "(____ptrval____)", which the tap's reader
# lookup must survive (real guests meet it too, right after boot).
socat -u VSOCK-LISTEN:1236 OPEN:/tmp/drip.out,creat,trunc &
drip_srv=$!
sleep 0.2
(while :; do echo drip; sleep 0.01; done) | socat -u - VSOCK-CONNECT:1:1236 &
drip=$!
i=0
while [ ! -s /tmp/drip.out ] && [ $i -lt 200 ]; do
	sleep 0.02
	i=$((i + 1))
done
cat /proc/net/packet >"$out/packet-sockets"
echo "burst at uptime $(cut -d' ' -f1 /proc/uptime)" >>"$out/traffic.log"
kill -USR1 $drv
wait_for "$out/driver.err" "^tap-driver: sent" $drv || { cat "$out/driver.err"; fail "tap-driver did not send"; }
sleep 0.1
kill $drip $drip_srv 2>/dev/null	# the loop feeding socat ends on its next write (SIGPIPE)
wait $drip $drip_srv 2>/dev/null
echo "drip: $(grep -c drip /tmp/drip.out) lines" >>"$out/traffic.log"

# A 256 KiB kernel stream: RW packets of 8 KiB and credit updates.
dd if=/dev/urandom of=/tmp/bulk.in bs=1024 count=256 2>/dev/null
socat -u OPEN:/tmp/bulk.in VSOCK-CONNECT:1:1235 || fail "bulk socat over vsock_loopback"
wait $bulk_srv
cmp -s /tmp/bulk.in /tmp/bulk.out && echo "bulk 256 KiB: intact" >>"$out/traffic.log"
echo "after the tap" | socat -t 2 - VSOCK-CONNECT:1:1234 >>"$out/traffic.log" 2>&1
# Nobody listens on 4321: a REQUEST answered by an RST.
socat -t 1 /dev/null VSOCK-CONNECT:1:4321 >>"$out/traffic.log" 2>&1

sleep 0.3
kill -USR1 $drv
wait $drv
echo "tap-driver exit $?" >>"$out/driver.err"
kill $echo_srv 2>/dev/null
kill -INT $tcpdump
wait $tcpdump
cp /tmp/cap.pcap /tmp/tcpdump.err "$out/"
cat /sys/class/net/vsockmon0/statistics/rx_packets >"$out/rx.after"
cat "$out/traffic.log" "$out/driver.out" "$out/tcpdump.err"
exit 0
