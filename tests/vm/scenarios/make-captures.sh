#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make-captures.sh (guest): three real kernel vsockmon captures for the flow analysis's tests: credit stalls of a slow reader, many connections at once, connections left half-open, idle and reset.
#
# Run by hand through tests/vm/make-captures.sh (the host side), not a meson test. All traffic is
# vsock_loopback (CID 1 to CID 1) made by vsock-peer; each capture is tcpdump on the kernel's vsockmon0.
# In: VM_OUT. Out, in VM_OUT:
#   kernel-slow-reader.pcap  kernel-many-conns.pcap  kernel-halfopen.pcap   the captures
#   NAME.tcpdump             tcpdump's stderr for each (its counts: captured, received, dropped)
#   results.txt              one line per vsock-peer run: "CAPTURE.STEP rc=STATUS <its result line>"
#   STEP.err                 what each run said on stderr
# The host judges the lines and the counts; this script fails only when a step cannot run. What each
# capture holds is described in tests/golden/captures/kernel-captures.md: change both together.
set -u
out=$VM_OUT
res=$out/results.txt
T=60
ip=/usr/sbin/ip	# Debian's static busybox runs its own applets before PATH: iproute2 by its path
fail() { echo "FAIL: $*"; exit 1; }

modprobe vsock_loopback || fail "modprobe vsock_loopback"
modprobe vsockmon || fail "modprobe vsockmon"
$ip link add name vsockmon0 type vsockmon || fail "ip link add vsockmon0 type vsockmon"
$ip link set vsockmon0 up || fail "ip link set vsockmon0 up"
: >"$res"

# wait_file FILE [PID]: up to 10 s for FILE, or until PID is gone.
wait_file() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 200 ]; do
		[ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && return 1
		sleep 0.05
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# capture_start NAME / capture_stop: tcpdump on vsockmon0 into $out/NAME.pcap. Immediate mode gives each
# frame a ring slot sized from the snaplen: just above the largest frame (76 + 65536) with a 128 MiB
# buffer, none is dropped (shared/reference/vm-lab.md). -Z root: there is no tcpdump user to drop to.
capture_start() {
	cap=$1
	tcpdump -Z root --immediate-mode -U -s 66000 -B 131072 -i vsockmon0 -w "$out/$cap.pcap" 2>"$out/$cap.tcpdump" &
	td=$!
	i=0
	while ! grep -q "listening on" "$out/$cap.tcpdump" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	grep -q "listening on" "$out/$cap.tcpdump" || fail "tcpdump is not listening on vsockmon0: $(cat "$out/$cap.tcpdump")"
	echo "capture $cap: start at uptime $(cut -d' ' -f1 /proc/uptime)" >>"$out/timeline.txt"
}
capture_stop() {
	echo "capture $cap: stop at uptime $(cut -d' ' -f1 /proc/uptime)" >>"$out/timeline.txt"
	kill -INT $td
	wait $td
	cat "$out/$cap.tcpdump"
}
mark() {
	echo "capture $cap: $* at uptime $(cut -d' ' -f1 /proc/uptime)" >>"$out/timeline.txt"
}

# record NAME STATUS OUTFILE: the result line (or "-" when the run printed none) under its name.
record() {
	line=$(head -n 1 "$3")
	echo "$cap.$1 rc=$2 ${line:--}" >>"$res"
}

# serve NAME ARGS...: a vsock-peer listener in the background ($srv), once it listens; its result line
# goes to /tmp/NAME.out, for done_srv.
serve() {
	name=$1
	shift
	rm -f /tmp/ready
	vsock-peer "$@" --ready /tmp/ready --timeout $T >"/tmp/$name.out" 2>"$out/$name.err" &
	srv=$!
	wait_file /tmp/ready $srv || fail "$name: the listener did not start: $(cat "$out/$name.err")"
}
# done_srv NAME PID: waits for a listener and records it.
done_srv() {
	wait "$2"
	record "$1" $? "/tmp/$1.out"
}
# run NAME ARGS...: a vsock-peer client in the foreground, recorded.
run() {
	name=$1
	shift
	vsock-peer "$@" --timeout $T >"/tmp/$name.out" 2>"$out/$name.err"
	record "$name" $? "/tmp/$name.out"
}

# ---- 1. kernel-slow-reader: credit stalls.
capture_start kernel-slow-reader
# Port 6001: 512 KiB sent in 8 KiB send()s as fast as credit allows; the reader advertises a 64 KiB buffer
# and takes 8 KiB every 20 ms, so every read ends a stall: a full window, a CREDIT_UPDATE, 8 KiB more.
mark "6001 slow reader"
serve slow-recv recv vsock-listen:6001 --rcvbuf 64K --read-size 8K --read-delay 20 --expect 512K --seed 1
run slow-send send vsock:1:6001 512K --chunk 8K --seed 1
done_srv slow-recv $srv
sleep 0.3
# Port 6002: 512 KiB in 64 KiB send()s to a reader with the default 256 KiB buffer that reads at full speed
# but stops for 1 s once 128 KiB have arrived: one long stall with a full window, then the rest.
mark "6002 long pause"
serve pause-recv recv vsock-listen:6002 --pause-after 128K --pause-ms 1000 --expect 512K --seed 2
run pause-send send vsock:1:6002 512K --seed 2
done_srv pause-recv $srv
sleep 0.3
capture_stop

# ---- 2. kernel-many-conns: 100 streams at once, refused connects, SEQPACKET.
capture_start kernel-many-conns
# Port 6101: 100 connections at once, each 4 KiB of its own pattern echoed back (a 4 KiB send, SHUT_WR,
# the echo, the server's SHUT_WR).
mark "6101 100 concurrent echoes"
serve conc-echo echo vsock-listen:6101 --count 100 --parallel
run conc-send concurrent vsock:1:6101 100 4K --seed 100
done_srv conc-echo $srv
sleep 0.3
# Ports 6190-6192: nobody listens: each REQUEST is answered by an RST.
mark "6190-6192 refused"
for p in 6190 6191 6192; do
	run refused-$p expect-reset vsock:1:$p
done
sleep 0.3
# Port 6102: two SEQPACKET connections, one after the other, each message echoed whole (e: MSG_EOR).
mark "6102 seqpacket"
serve seq-echo seq-echo vsock-listen:6102 --count 2
run seq-send-1 seq-send vsock:1:6102 1,100e,4096,8192e,10000,20000e --seed 200
run seq-send-2 seq-send vsock:1:6102 2e,500,8193e,16384,30000,65536e --seed 300
done_srv seq-echo $srv
sleep 0.3
capture_stop

# ---- 3. kernel-halfopen: connections in odd states when the capture stops.
capture_start kernel-halfopen
holds=""
# hold_pair NAME SERVER-ARGS -- CLIENT-ARGS: a holding listener and a holding client; waits until the
# client's connection is set up.
hold_pair() {
	pair=$1
	shift
	sargs=""
	while [ "$1" != -- ]; do
		sargs="$sargs $1"
		shift
	done
	shift
	# $sargs unquoted on purpose: the words are the arguments.
	serve "$pair-server" hold $sargs
	holds="$holds $pair-server:$srv"
	rm -f /tmp/held
	vsock-peer hold "$@" --ready /tmp/held --timeout $T >"/tmp/$pair-client.out" 2>"$out/$pair-client.err" &
	cli=$!
	holds="$holds $pair-client:$cli"
	wait_file /tmp/held $cli || fail "$pair: the client did not connect: $(cat "$out/$pair-client.err")"
}
# Port 6201: the client sends 3000 bytes and shuts down sending; the server sends 1000 bytes, reads to
# EOF and never closes or shuts down.
mark "6201 half-closed"
hold_pair halfclosed vsock-listen:6201 1000 --seed 11 -- vsock:1:6201 3000 --shut-wr --seed 12
sleep 0.3
# Port 6202: connected, then nothing.
mark "6202 idle"
hold_pair idle vsock-listen:6202 -- vsock:1:6202
sleep 0.3
# Port 6203: the client closes while its connect is still pending (SCHED_FIFO: the kernel's loopback
# worker cannot run in between); the listener's side is established (RESPONSE sent), and the RESPONSE
# reaching no socket is answered by an RST: reset without any SHUTDOWN.
mark "6203 reset"
serve reset-server hold vsock-listen:6203
holds="$holds reset-server:$srv"
run reset-client abort vsock:1:6203
sleep 1
capture_stop

# The holders' closes come after the capture: not in it. Stopped first, so that each takes its SIGTERM
# before it can read the others' closes: their lines tell the state when the capture stopped.
pids=$(for h in $holds; do echo "${h#*:}"; done)
# $pids unquoted on purpose: one argument per process.
kill -STOP $pids
kill -TERM $pids
kill -CONT $pids
for h in $holds; do
	wait "${h#*:}"
	record "${h%%:*}" $? "/tmp/${h%%:*}.out"
done
cat "$out/timeline.txt" "$res"
exit 0
