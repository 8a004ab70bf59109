#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tap-iface.sh: a vtr tap's interface sink, captured live by vsockdump (and tcpdump) in a private network
# namespace, must give byte for byte the frames the same tap's pcap sink wrote in the same run.
# Usage: tap-iface.sh VSOCKDUMP TAP-DRIVER VSOCKREPLAY CAPTURE
# Exit: 0 pass, 1 fail, 77 skip (with the reason), 99 bad invocation.
# Never touches AF_VSOCK or /dev/vsock: the interface is a vsock-type TUN device.
set -u

if [ $# -ne 4 ]; then
	echo "usage: $0 VSOCKDUMP TAP-DRIVER VSOCKREPLAY CAPTURE" >&2
	exit 99
fi
vd=$(realpath "$1") drv=$(realpath "$2") vr=$(realpath "$3") cap=$(realpath "$4")

. "$(dirname "$0")/harness.sh"
# Everything below runs in a network namespace of its own, so no interface ever appears on the host.
enter_netns timeout tcpdump -- "$vd" "$drv" "$vr" "$cap"
start_harness

# frames FILE: one line per frame, tcpdump's summary and every byte in hex, without time stamps.
frames() {
	tcpdump -r "$1" -t -xx 2>/dev/null |
		awk '/^\t/ { rec = rec " " $0; next } { if (n++) print rec; rec = $0 } END { if (n) print rec }'
}

stat_of() { sed -n "s/^\([0-9][0-9]*\) packets\{0,1\} $2\$/\1/p" "$1" | tail -1; }

n=300

# run_case NAME IFACE: the driver taps n packets into IFACE while vsockdump and tcpdump capture it.
run_case() {
	local name=$1 ifc=$2 w="$tmp/$1" dp tp rp rc
	mkdir -p "$w"

	"$drv" "$ifc" "$w/tap.pcap" "$n" >"$w/driver.out" 2>"$w/driver.err" &
	rp=$!
	pids="$pids $rp"
	if ! wait_for "$w/driver.err" "^tap-driver: $ifc ready\$" 10; then
		bad "$name: tap-driver did not set up $ifc:"; show "$w/driver.err"; return
	fi
	if "$vd" -D 2>&1 | grep -q "$ifc"; then
		ok "$name: vsockdump -D lists $ifc as a vsock interface"
	else
		bad "$name: vsockdump -D does not list $ifc:"; "$vd" -D 2>&1 | show
	fi
	timeout 30 "$vd" -i "$ifc" -w "$w/out.pcap" -c "$n" 2>"$w/dump.err" &
	dp=$!
	timeout 30 tcpdump -i "$ifc" -w "$w/tcpdump.pcap" -c "$n" 2>"$w/tcpdump.err" &
	tp=$!
	pids="$pids $dp $tp"
	if ! wait_for "$w/dump.err" "listening on" 10 || ! wait_for "$w/tcpdump.err" "listening on" 10; then
		bad "$name: vsockdump or tcpdump did not start listening on $ifc:"; show "$w/dump.err" "$w/tcpdump.err"; return
	fi
	kill -USR1 "$rp"
	wait "$dp"
	rc=$?
	[ $rc -eq 0 ] || { bad "$name: vsockdump exited with $rc (124: still waiting for frames after 30 s):"; show "$w/dump.err"; }
	wait "$tp"
	rc=$?
	[ $rc -eq 0 ] || { bad "$name: tcpdump exited with $rc:"; show "$w/tcpdump.err"; }
	kill -USR1 "$rp"
	wait "$rp"
	rc=$?
	[ $rc -eq 0 ] || { bad "$name: tap-driver exited with $rc:"; show "$w/driver.err"; return; }

	# The driver's own counters: sink 0 is the interface, sink 1 the pcap file.
	if grep -q "^sink 0: frames $n bytes [0-9]* dropped 0 error 0 unobserved 0\$" "$w/driver.out" &&
	   grep -q "^sink 1: frames $n bytes [0-9]* dropped 0 error 0 unobserved 0\$" "$w/driver.out"; then
		ok "$name: both sinks took $n frames, none dropped"
	else
		bad "$name: sink counters:"; show "$w/driver.out"
	fi
	rc=$(tcpdump -r "$w/tap.pcap" 2>/dev/null | wc -l)
	if [ "$rc" = "$n" ]; then
		ok "$name: tcpdump -r reads $n frames from the pcap sink's file"
	else
		bad "$name: tcpdump -r reads $rc frames from the pcap sink's file, want $n"
	fi
	if [ "$(stat_of "$w/dump.err" captured)" = "$n" ] && [ "$(stat_of "$w/dump.err" "dropped by kernel")" = 0 ]; then
		ok "$name: vsockdump captured $n frames, none dropped"
	else
		bad "$name: vsockdump did not capture $n frames:"; show "$w/dump.err"
	fi
	frames "$w/tap.pcap" >"$w/tap.frames"
	frames "$w/out.pcap" >"$w/out.frames"
	frames "$w/tcpdump.pcap" >"$w/tcpdump.frames"
	if [ -s "$w/tap.frames" ] && cmp -s "$w/tap.frames" "$w/out.frames"; then
		ok "$name: vsockdump's live capture matches the pcap sink byte for byte ($(wc -l <"$w/out.frames") frames)"
	else
		bad "$name: live capture differs from the pcap sink (< pcap sink, > vsockdump):"
		diff "$w/tap.frames" "$w/out.frames" | cut -c1-160 | head -20 | show
	fi
	if cmp -s "$w/tap.frames" "$w/tcpdump.frames"; then
		ok "$name: tcpdump -i $ifc, alongside, captured the same frames"
	else
		bad "$name: tcpdump -i $ifc captured other frames ($(wc -l <"$w/tcpdump.frames") lines)"
	fi
	# Every op and a 64 KiB payload went through.
	if tcpdump -r "$w/out.pcap" 2>/dev/null | awk '/CONNECT/ { c++ } /DISCONNECT/ { d++ } /CONTROL/ { k++ } /PAYLOAD, length 65612/ { p++ }
		END { exit !(c && d && k && p) }'; then
		ok "$name: CONNECT, DISCONNECT, CONTROL and 64 KiB PAYLOAD frames all captured"
	else
		bad "$name: some kind of frame is missing from the capture"
	fi
}

echo "# namespace $(readlink /proc/self/ns/net)"

# 1. The tap creates the interface, and it goes away with the tap.
run_case new vsocktap0
if [ -e /proc/self/net/dev ] && grep -q "vsocktap0:" /proc/self/net/dev; then
	bad "new: vsocktap0 still exists after the tap was freed"
else
	ok "new: vsocktap0 went away with the tap"
fi

# 2. A vsock-type TUN interface left by vsockreplay --keep is reused, and stays.
if "$vr" -q --keep --pace fast --linger 0 -i vsocktap1 "$cap" 2>"$tmp/replay.err"; then
	run_case reuse vsocktap1
	if grep -q "vsocktap1:" /proc/self/net/dev; then
		ok "reuse: the persistent vsocktap1 is still there"
	else
		bad "reuse: the persistent vsocktap1 is gone"
	fi
else
	bad "vsockreplay --keep could not make vsocktap1:"; show "$tmp/replay.err"
fi

# 3. A name taken by an interface that is not vsock-type is refused, and left alone.
if "$drv" lo "$tmp/lo.pcap" 1 >/dev/null 2>"$tmp/lo.err"; then
	bad "lo: tap-driver accepted lo as its interface"
elif grep -q "lo exists and is not" "$tmp/lo.err"; then
	ok "lo: refused: $(cat "$tmp/lo.err")"
else
	bad "lo: refused without saying why:"; show "$tmp/lo.err"
fi

# 4. Nobody captures: the interface sink builds and sends nothing (like the kernel's tap with no
#    vsockmon up), counts the frames as unobserved, and the pcap sink still gets every one.
"$drv" vsocktap2 "$tmp/quiet.pcap" "$n" >"$tmp/quiet.out" 2>"$tmp/quiet.err" &
qp=$!
pids="$pids $qp"
if wait_for "$tmp/quiet.err" "^tap-driver: vsocktap2 ready\$" 10; then
	kill -USR1 "$qp"
	wait_for "$tmp/quiet.err" "^tap-driver: sent" 10
	rx_before=$(cat /sys/class/net/vsocktap2/statistics/rx_packets 2>/dev/null || echo 0)
	kill -TERM "$qp"
	wait "$qp" 2>/dev/null
	if grep -q "^sink 0: frames 0 bytes 0 dropped 0 error 0 unobserved $n\$" "$tmp/quiet.out" &&
	   grep -q "^sink 1: frames $n bytes [0-9]* dropped 0 error 0 unobserved 0\$" "$tmp/quiet.out" &&
	   [ "$rx_before" = 0 ]; then
		ok "no capture: the interface sink sent nothing ($n unobserved), the pcap sink took $n"
	else
		bad "no capture: counters (interface rx_packets $rx_before):"; show "$tmp/quiet.out"
	fi
else
	bad "no capture: tap-driver did not set up vsocktap2:"; show "$tmp/quiet.err"
fi

verdict
