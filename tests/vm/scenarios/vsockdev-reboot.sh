#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev-reboot.sh (guest): reboots in the middle of transfers both ways through vsockdev, then, on the second boot, shows the device works again.
#
# In: VM_OUT; /dev/vdb, a small disk of the host's that tells the boots apart (it holds "BOOT1" once the
# first boot has begun). The host (tests/vm/vsockdev-reboot.sh) runs vsockdev with uds-path H, a listener
# on H_1234 (recv) and one on H_1242 (echo), and connects through H to the guest's port 5000 (boot 1) and
# 5002 (boot 2) when the guest prints "@@HOST-GO down" / "@@HOST-GO echo-down".
# Out, in VM_OUT (boot 2 only: boot 1 never ends): results.txt, one line per step
# "NAME rc=STATUS <vsock-peer's result line>", and NAME.err.
set -u
out=$VM_OUT
res=$out/results.txt
T=60
fail() { echo "FAIL: $*"; exit 1; }

for _ in $(seq 100); do
	[ -b /dev/vdb ] && break
	sleep 0.02
done
[ -b /dev/vdb ] || fail "no /dev/vdb: the host gives the boot-counting disk"
modprobe vmw_vsock_virtio_transport || fail "modprobe vmw_vsock_virtio_transport"

if [ "$(dd if=/dev/vdb bs=5 count=1 2>/dev/null)" != BOOT1 ]; then
	printf BOOT1 | dd of=/dev/vdb conv=notrunc 2>/dev/null
	sync
	echo "@@BOOT 1"
	# Both ways at once, more than the time left lets through, then a reboot with no warning.
	rm -f /tmp/ready
	vsock-peer recv vsock-listen:5000 --ready /tmp/ready --timeout $T >/dev/null 2>&1 &
	i=0
	while [ ! -e /tmp/ready ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	echo "@@HOST-GO down"
	vsock-peer send vsock:2:1234 512m --timeout $T >/dev/null 2>&1 &
	sleep 2
	echo "@@REBOOTING"
	reboot -f
	sleep 30
	fail "still running after reboot -f"
fi

echo "@@BOOT 2"
: >"$res"
record() {
	line=$(head -n 1 "$3")
	echo "$1 rc=$2 ${line:--}" >>"$res"
}
vsock-peer send vsock:2:1242 1m --expect-echo --timeout $T >/tmp/step.out 2>"$out/echo-up.err"
record echo-up $? /tmp/step.out
rm -f /tmp/ready
vsock-peer echo vsock-listen:5002 --ready /tmp/ready --timeout $T >/tmp/step.out 2>"$out/echo-down.err" &
p=$!
i=0
while [ ! -e /tmp/ready ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
echo "@@HOST-GO echo-down"
wait $p
record echo-down $? /tmp/step.out
exit 0
