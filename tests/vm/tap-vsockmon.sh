#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tap-vsockmon.sh: in a real Linux guest, a vtr tap's interface sink on a kernel vsockmon device must use the packet socket, and one tcpdump capture must hold its frames, byte for byte, beside the kernel's own.
# Usage: tap-vsockmon.sh TAP-DRIVER VSOCKDUMP
# Env: VM_WORKDIR (default $BUILDDIR/tests/vm/tap-vsockmon, or a temporary directory): the initramfs, the
#      guest's console and exported files stay there for a look after a failure.
# Exit: 0 pass, 1 fail, 77 skip (QEMU or a cloud kernel is missing; ./do deps installs both), 99 the run broke.
# The host opens no vsock socket: the guest (QEMU, TCG) makes all the vsock traffic, over vsock_loopback.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 TAP-DRIVER VSOCKDUMP" >&2
	exit 99
fi
drv=$(realpath "$1") vd=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
n=200	# 29 full cycles of the driver's ops: every op, both socket types, payloads up to 64 KiB
. "$here/lib.sh"
workdir tap-vsockmon
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not found: it reads the captures"; exit 77; }

initramfs "$drv"
run_scenario tap-vsockmon 240 -a "count=$n"

# frames FILE: one line per frame, tcpdump's summary and every byte in hex, without time stamps.
frames() {
	tcpdump -r "$1" -t -xx 2>/dev/null |
		awk '/^\t/ { rec = rec " " $0; next } { if (n++) print rec; rec = $0 } END { if (n) print rec }'
}

# 1. The tap took the packet-socket path: only open_packet() raises the MTU (vsockmon's default, 32 + 65536,
#    is 44 bytes short of a full RW frame), and its sending socket (protocol 0) is bound to vsockmon0.
ifindex=$(cat "$r/ifindex")
if [ "$(cat "$r/mtu.before")" = 65568 ] && [ "$(cat "$r/mtu.after")" = 65612 ] &&
   awk -v i="$ifindex" '$4 == "0000" && $5 == i { f = 1 } END { exit !f }' "$r/packet-sockets"; then
	ok "the tap opened a packet socket on the kernel vsockmon0 and raised its MTU from 65568 to 65612"
else
	bad "the tap did not take the packet-socket path (MTU $(cat "$r/mtu.before") -> $(cat "$r/mtu.after"), ifindex $ifindex):"
	show "$r/packet-sockets"
fi

# 2. The driver's counters: sink 0 is the interface, sink 1 the pcap file.
if grep -q "^sink 0: frames $n bytes [0-9]* dropped 0 error 0 unobserved 0\$" "$r/driver.out" &&
   grep -q "^sink 1: frames $n bytes [0-9]* dropped 0 error 0 unobserved 0\$" "$r/driver.out"; then
	ok "both sinks took $n frames, none dropped"
else
	bad "sink counters:"; show "$r/driver.out"
	if grep -q "^sink 0: .* unobserved [1-9]" "$r/driver.out"; then
		echo "    the interface sink saw no capture on vsockmon0, yet tcpdump was on it; /proc/net/packet then:"
		show "$r/packet-sockets"
		grep -q '^(____ptrval____)' "$r/packet-sockets" &&
			echo "    (the kernel printed socket addresses as (____ptrval____): its random pool was not ready yet)"
	fi
fi

# 3. tcpdump lost nothing, and vsockmon0 took exactly what tcpdump saw (its xmit counts every frame as rx).
captured=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$r/tcpdump.err")
received=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter$/\1/p' "$r/tcpdump.err")
kdrop=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$r/tcpdump.err")
through=$(( $(cat "$r/rx.after") - $(cat "$r/rx.before") ))
if [ -n "$captured" ] && [ "$captured" = "$received" ] && [ "$kdrop" = 0 ] && [ "$through" = "$captured" ]; then
	ok "tcpdump -i vsockmon0 captured $captured frames, dropped none; vsockmon0 counted $through"
else
	bad "capture statistics (vsockmon0 counted $through):"; show "$r/tcpdump.err"
fi

# 4. Every frame of the pcap sink, in order and byte for byte, in the kernel's capture; the others are the
#    kernel's own vsock_loopback frames (CID 1 to CID 1).
frames "$r/driver.pcap" >"$work/driver.frames"
frames "$r/cap.pcap" >"$work/cap.frames"
read -r matched kernel strangers < <(awk -v df="$work/driver.frames" '
	BEGIN { while ((getline l < df) > 0) d[++nd] = l; j = 1 }
	j <= nd && $0 == d[j] { j++; next }
	/^VIRTIO 1\.[0-9]+ > 1\.[0-9]+ / { k++; next }
	{ s++; if (s <= 5) print substr($0, 1, 120) > "/dev/stderr" }
	END { print j - 1, k + 0, s + 0 }' "$work/cap.frames")
if [ "$(wc -l <"$work/driver.frames")" = "$n" ] && [ "$matched" = "$n" ] && [ "$strangers" = 0 ]; then
	ok "all $n frames of the pcap sink are in the kernel capture, in order, byte for byte"
else
	bad "the kernel capture holds $matched of the pcap sink's $(wc -l <"$work/driver.frames") frames in order" \
		"($strangers frames neither the tap's nor CID 1's); files in $r"
fi
if [ "$kernel" -gt 0 ] && grep -q "CONNECT" <(cut -c1-80 "$work/cap.frames" | grep '^VIRTIO 1\.'); then
	ok "beside them, $kernel kernel vsock_loopback frames (CID 1) in the same capture"
else
	bad "no kernel vsock_loopback frames in the capture ($kernel)"
fi
# Not asserted (it depends on scheduling): kernel frames inside the tap's burst show the two sources interleaved.
grep '^burst at' "$r/traffic.log" | sed 's/^/# /'
echo "# kernel frames captured during the tap's burst: $(awk '/^VIRTIO [23]\./ { if (!f) f = NR; l = NR } { k[NR] = /^VIRTIO 1\./ }
	END { for (i = f; i <= l; i++) c += k[i]; print c + 0 }' "$work/cap.frames")"
if ! grep -q "^bulk 256 KiB: intact" "$r/traffic.log" || ! grep -q "^before the tap" "$r/traffic.log" ||
   ! grep -q "^after the tap" "$r/traffic.log"; then
	bad "the kernel-side traffic did not complete:"; show "$r/traffic.log"
fi

# 5. vsockdump decodes every frame of both files, with no problems.
for f in cap driver; do
	out=$("$vd" -n -vv -r "$r/$f.pcap" 2>"$work/$f.vsockdump.err")
	rc=$?
	lines=$(printf '%s\n' "$out" | grep -c .)
	probs=$(printf '%s\n' "$out" | grep -c '\[problems:')
	want=$(wc -l <"$work/$f.frames")
	if [ $rc -eq 0 ] && [ "$lines" = "$want" ] && [ "$probs" = 0 ] && ! [ -s "$work/$f.vsockdump.err" ]; then
		ok "vsockdump -r $f.pcap: $lines frames decoded, no problems"
	else
		bad "vsockdump -r $f.pcap: exit $rc, $lines lines for $want frames, $probs with problems:"
		printf '%s\n' "$out" | grep '\[problems:' | head -5 | show
		show "$work/$f.vsockdump.err"
	fi
done

finish
