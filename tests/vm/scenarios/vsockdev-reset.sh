#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev-reset.sh (guest): resets its vsock device twice while transfers run both ways through vsockdev, once by unbinding and binding the virtio driver, once by removing and reloading the transport module; after each, echoes both ways.
#
# In: VM_OUT. The host (tests/vm/vsockdev-reset.sh) runs vsockdev with uds-path H and, per phase P
# (unbind, rmmod), listeners on H_UP (recv, the transfer that gets cut) and H_ECHO (echo); it connects
# through H to the guest's ports when the guest prints "@@HOST-GO cut-down-P" (a send that gets cut) and
# "@@HOST-GO echo-down-P" (1 MiB echoed), and reads vsockdev's statistics at "@@HOST-STATS NAME".
# Ports: unbind: H_1250 (cut up), H_1252 (echo up), guest 5010 (cut down), 5012 (echo down); rmmod: the
# same plus 10.
# Out, in VM_OUT: results.txt, one line per step "NAME rc=STATUS <vsock-peer's result line>" (and
# "NAME rc=STATUS key=value..." for the guest's own steps), NAME.err. The host judges; this fails only when
# a step cannot run.
set -u
out=$VM_OUT
res=$out/results.txt
T=60
drv=/sys/bus/virtio/drivers/vmw_vsock_virtio_transport
fail() { echo "FAIL: $*"; exit 1; }
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

modprobe vmw_vsock_virtio_transport || fail "modprobe vmw_vsock_virtio_transport"
: >"$res"
echo "@@HOST-STATS start"

record() {
	line=$(head -n 1 "$3")
	echo "$1 rc=$2 ${line:--}" >>"$res"
}

# wait_ready FILE PID: until a listening vsock-peer says it listens (or exits).
wait_ready() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 200 ] && kill -0 "$2" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
}

# cut_start P BASE: a 1 GiB transfer each way that the phase's reset will cut: the guest receives on
# 5000+BASE from the host and sends to H_(1240+BASE); both run in the background ($down, $up).
cut_start() {
	rm -f /tmp/ready
	vsock-peer recv "vsock-listen:$((5000 + $2))" --expect 1g --ready /tmp/ready --timeout $T \
		>"/tmp/cut-down-$1.out" 2>"$out/cut-down-$1.err" &
	down=$!
	wait_ready /tmp/ready $down
	echo "@@HOST-GO cut-down-$1"
	vsock-peer send "vsock:2:$((1240 + $2))" 1g --timeout $T >"/tmp/cut-up-$1.out" 2>"$out/cut-up-$1.err" &
	up=$!
	# Long enough for data to flow both ways (the host checks that some did) under TCG.
	sleep 3
}

# cut_end P: waits for both transfers and records them.
cut_end() {
	wait $up
	record "cut-up-$1" $? "/tmp/cut-up-$1.out"
	wait $down
	record "cut-down-$1" $? "/tmp/cut-down-$1.out"
}

# echoes P BASE: after the reset, 1 MiB echoed each way, checksums compared by the host.
echoes() {
	vsock-peer send "vsock:2:$((1242 + $2))" 1m --expect-echo --seed 11 --timeout $T >/tmp/step.out 2>"$out/echo-up-$1.err"
	record "echo-up-$1" $? /tmp/step.out
	rm -f /tmp/ready
	vsock-peer echo "vsock-listen:$((5002 + $2))" --ready /tmp/ready --timeout $T >/tmp/step.out 2>"$out/echo-down-$1.err" &
	p=$!
	wait_ready /tmp/ready $p
	echo "@@HOST-GO echo-down-$1"
	wait $p
	record "echo-down-$1" $? /tmp/step.out
}

# Phase 1: the driver unbinds from the device (virtio_vsock_remove resets every socket and the device)
# and binds again (a new probe: the rings are set up afresh, in the same vhost-user session).
dev=$(ls "$drv" | grep '^virtio' | head -n 1)
[ -n "$dev" ] || fail "no virtio device bound to vmw_vsock_virtio_transport: $(ls "$drv")"
cut_start unbind 10
t0=$(uptime_ms)
echo "$dev" >"$drv/unbind"
u=$?
cut_end unbind
t1=$(uptime_ms)
echo "$dev" >"$drv/bind"
b=$?
echo "unbind rc=$u device=$dev bind_rc=$b cut_ms=$((t1 - t0)) bound=$([ -e "$drv/$dev" ] && echo 1 || echo 0)" >>"$res"
echo "@@HOST-STATS unbind"
echoes unbind 10

# Phase 2: the transport module goes away and comes back. Each connected socket holds a reference on it,
# so rmmod is refused while the transfers run; the transfers are then killed (their sockets closed),
# rmmod is retried until the closes have finished, and modprobe loads the module again.
cut_start rmmod 20
rmmod vmw_vsock_virtio_transport 2>"$out/rmmod-busy.err"
busy=$?
kill -KILL $up $down
t0=$(uptime_ms)
cut_end rmmod
tries=0
until rmmod vmw_vsock_virtio_transport 2>"$out/rmmod.err"; do
	tries=$((tries + 1))
	[ $tries -lt 200 ] || break
	sleep 0.05
done
t1=$(uptime_ms)
gone=$(grep -c '^vmw_vsock_virtio_transport ' /proc/modules)
modprobe vmw_vsock_virtio_transport 2>"$out/modprobe.err"
m=$?
echo "rmmod busy_rc=$busy retries=$tries rmmod_ms=$((t1 - t0)) loaded_after_rmmod=$gone modprobe_rc=$m bound=$([ -e "$drv/$dev" ] && echo 1 || echo 0)" >>"$res"
echo "@@HOST-STATS rmmod"
echoes rmmod 20
echo "@@GUEST-DONE"
exit 0
