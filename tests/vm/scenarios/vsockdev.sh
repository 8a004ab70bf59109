#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev.sh (guest): the guest's kernel talks to vsockdev (vhost-user-vsock) both ways while its own vsockmon captures everything.
#
# In: VM_OUT; the host (tests/vm/vsockdev.sh) runs vsockdev with uds-path H and, before the guest boots,
# listeners on H_1234 (recv 8 MiB), H_1236 (SEQPACKET echo), H_1238 (half-close server), H_1240 (echo x50).
# Host-initiated steps: the guest listens, then prints "@@HOST-GO NAME" on the console; the host, watching
# the console, connects through H with "CONNECT <port>".
# Out, in VM_OUT: results.txt, one line per step "NAME rc=STATUS <vsock-peer's result line>", NAME.err,
# guest.pcap (the guest's vsockmon) and tcpdump.err. The host judges; this fails only when a step cannot run.
set -u
out=$VM_OUT
res=$out/results.txt
T=60
fail() { echo "FAIL: $*"; exit 1; }

modprobe vmw_vsock_virtio_transport || fail "modprobe vmw_vsock_virtio_transport"
modprobe vsockmon || fail "modprobe vsockmon"
/usr/sbin/ip link add name vsockmon0 type vsockmon && /usr/sbin/ip link set vsockmon0 up || fail "vsockmon0"
# TPACKET_V3 (no --immediate-mode): the ring packs frames by their size, so its 128 MiB holds every packet of
# the run (about 45 MiB) even when tcpdump, sharing the one TCG vCPU with 50 streams, reads none of them until the
# end. Immediate mode gives each packet a slot sized for the snaplen (1,024 slots here) and dropped 823 of 7,391
# packets on a loaded CI machine. V3's price: a partly filled block reaches tcpdump only when the kernel retires it
# (tcpdump's 1 s timeout), so the end waits for the file to stop growing before SIGINT.
tcpdump -Z root -U -s 66000 -B 131072 -i vsockmon0 -w "$out/guest.pcap" 2>"$out/tcpdump.err" &
td=$!
i=0
while ! grep -q listening "$out/tcpdump.err" 2>/dev/null && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
: >"$res"

record() {
	line=$(head -n 1 "$3")
	echo "$1 rc=$2 ${line:--}" >>"$res"
}

# step NAME ARGS...: a guest-initiated step.
step() {
	name=$1
	shift
	vsock-peer "$@" --timeout $T >/tmp/step.out 2>"$out/$name.err"
	record "$name" $? /tmp/step.out
}

# host_step NAME ARGS...: the guest listens (ARGS), the host connects once told.
host_step() {
	name=$1
	shift
	rm -f /tmp/ready
	vsock-peer "$@" --ready /tmp/ready --timeout $T >/tmp/step.out 2>"$out/$name.err" &
	p=$!
	i=0
	while [ ! -e /tmp/ready ] && [ $i -lt 200 ] && kill -0 $p 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	echo "@@HOST-GO $name"
	wait $p
	record "$name" $? /tmp/step.out
}

step up send vsock:2:1234 8m --seed 1
host_step down recv vsock-listen:5000 --expect 8m --seed 2
# SEQPACKET, 1 byte to 200 KiB, some with EOR (e). A Unix SEQPACKET socket has no EOR, so the echo
# carries none: EOR is judged from the captures instead.
step seq seq-send vsock:2:1236 1,2,3,100,1000,4095,4096e,4097,8192,10000e,32768,50000,65535e,65536,65537,100000e,150000,199999,200000e --no-eor-check
step refused expect-reset vsock:2:4321
step half-up halfclose-client vsock:2:1238 300000
host_step half-down halfclose-server vsock-listen:5001
step conc concurrent vsock:2:1240 50 256k
echo "@@GUEST-DONE"

# Let the last closes (SHUTDOWN, RST) cross, then wait until tcpdump has written every retired block: the
# file has not grown for 2 s (twice the block timeout), or 60 s have passed.
size() { wc -c <"$out/guest.pcap" 2>/dev/null || echo 0; }
sleep 1
last=$(size) still=0 i=0
while [ $still -lt 4 ] && [ $i -lt 120 ]; do
	sleep 0.5
	now=$(size)
	if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0 last=$now; fi
	i=$((i + 1))
done
kill -INT $td
wait $td
exit 0
