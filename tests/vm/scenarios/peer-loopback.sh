#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# peer-loopback.sh (guest): every vsock-peer role pair over the kernel's vsock_loopback (CID 1, VMADDR_CID_LOCAL), so the tool is proven on a real vsock stack before it judges the vhost-user device.
#
# In: VM_OUT. Out, in VM_OUT:
#   results.txt   one line per role run: "NAME.ROLE rc=STATUS <vsock-peer's result line>"
#   NAME.ROLE.err what each run said on stderr
# The host (tests/vm/peer-loopback.sh) judges the lines; this script fails only when a step cannot run.
set -u
out=$VM_OUT
res=$out/results.txt
fail() { echo "FAIL: $*"; exit 1; }
# Generous for an emulated guest, still far below run-guest's limit: a hung pair cannot eat the run.
T=30

modprobe vsock_loopback || fail "modprobe vsock_loopback"
: >"$res"

# record NAME STATUS OUTFILE: the result line (or "-" when the run printed none) under its name.
record() {
	line=$(head -n 1 "$3")
	echo "$1 rc=$2 ${line:--}" >>"$res"
}

# pair NAME SERVER-ARGS... -- CLIENT-ARGS...: the server listens (vsock-listen) in the background; the
# client starts once the server has created its --ready file.
pair() {
	name=$1
	shift
	srv=""
	while [ "$1" != -- ]; do
		srv="$srv $1"
		shift
	done
	shift
	rm -f /tmp/ready
	# $srv unquoted on purpose: the words are the arguments.
	vsock-peer $srv --ready /tmp/ready --timeout $T >/tmp/srv.out 2>"$out/$name.server.err" &
	sp=$!
	i=0
	while [ ! -e /tmp/ready ] && [ $i -lt 200 ] && kill -0 $sp 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	vsock-peer "$@" --timeout $T >/tmp/cli.out 2>"$out/$name.client.err"
	crc=$?
	wait $sp
	src=$?
	record "$name.server" $src /tmp/srv.out
	record "$name.client" $crc /tmp/cli.out
}

t0=$(cut -d' ' -f1 /proc/uptime)

# 8 MiB one way, then the other way round (the listener sends).
pair bulk recv vsock-listen:5001 --expect 8M --seed 7 -- send vsock:1:5001 8M --seed 7
pair bulk-rev send vsock-listen:5002 2M --seed 11 -- recv vsock:1:5002 --expect 2M --seed 11
# Echo: the sender checks every byte that comes back.
pair echo echo vsock-listen:5003 -- send vsock:1:5003 1M --seed 3 --expect-echo
# Half-close: the answer flows after the client shut down sending.
pair halfclose halfclose-server vsock-listen:5004 -- halfclose-client vsock:1:5004 300000
# SEQPACKET: 1 byte to 200000 and the 256 KiB maximum, across the 8 KiB loopback packet size, with and
# without MSG_EOR.
pair seq seq-echo vsock-listen:5005 -- seq-send vsock:1:5005 \
	1,2e,3,100e,1000,4095e,4096,4097e,8191,8192e,8193,16384,65535e,65536,65537e,131072,150000,200000e,262144e
# 50 connections at once, each its own pattern.
pair concurrent echo vsock-listen:5007 --count 50 --parallel -- concurrent vsock:1:5007 50 256K

# Nobody listens on 5999: the loopback answers the REQUEST with an RST at once.
vsock-peer expect-reset vsock:1:5999 --timeout $T >/tmp/cli.out 2>"$out/reset.client.err"
record reset.client $? /tmp/cli.out

# The guard, inside the guest: without VM_SCENARIO, vsock endpoints are refused (exit 2).
(unset VM_SCENARIO; exec vsock-peer recv vsock-listen:5008 --timeout 5) >/tmp/cli.out 2>"$out/guard.client.err"
record guard.client $? /tmp/cli.out

echo "elapsed $t0 $(cut -d' ' -f1 /proc/uptime)" >>"$res"
cat "$res"
exit 0
