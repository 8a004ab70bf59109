#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# init.sh: /init of the test guest: runs the scenario named on the kernel command line, exports /out onto the results disk, powers off.
#
# Kernel command line (run-guest.sh writes it):
#   vm.scenario=NAME    run /vm/scenarios/NAME.sh (default: boot, which only proves the guest came up)
#   vm.timeout=SECONDS  the scenario is killed after this long, so its partial results still come out
#   vm.KEY=VALUE        any other: exported to the scenario as VM_KEY (upper case), e.g. vm.count=200 -> VM_COUNT
# The scenario runs with PATH covering busybox, tcpdump, socat, ip and /opt/vm/bin, cwd /tmp, and
# VM_OUT=/out: what it writes there reaches the host. Debian's static busybox is a standalone shell: its
# applets win over PATH, so a scenario names other programs that share an applet's name by path (/usr/sbin/ip). Its exit status is the test's (0 pass, 1 fail, 77 skip).
# Console protocol (ttyS0), for run-guest.sh:
#   @@VM-START scenario=NAME kernel=KVER uptime=S
#   @@VM-STATUS RC uptime=S           the scenario's status (137: killed at vm.timeout); also in /out/status
#   @@VM-EXPORTED BYTES              /out went onto /dev/vda as a tar
# "vm." parameters have a dot, so the kernel takes them for module options and neither complains
# nor hands them to /init as arguments or environment: they are read back from /proc/cmdline.

/bin/busybox mkdir -p /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/opt/vm/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o size=256m tmpfs /tmp
mount -t tmpfs -o size=128m tmpfs /out
uptime_s() { cut -d' ' -f1 /proc/uptime; }

scenario=boot
timeout=240
for arg in $(cat /proc/cmdline); do
	case $arg in
	vm.scenario=*) scenario=${arg#vm.scenario=} ;;
	vm.timeout=*) timeout=${arg#vm.timeout=} ;;
	vm.*=*)
		key=${arg#vm.}
		key=${key%%=*}
		export "VM_$(echo "$key" | tr a-z- A-Z_)=${arg#*=}"
		;;
	esac
done
export VM_OUT=/out VM_SCENARIO="$scenario"
echo "@@VM-START scenario=$scenario kernel=$(uname -r) uptime=$(uptime_s)"

# The results disk. Without it the scenario still runs and its status still reaches the console.
modprobe virtio_pci && modprobe virtio_blk || echo "vm: cannot load virtio_pci/virtio_blk: no results disk"
for _ in $(seq 50); do
	[ -b /dev/vda ] && break
	sleep 0.02
done

cd /tmp || exit 1
if [ "$scenario" = boot ]; then
	rc=0
elif [ -f "/vm/scenarios/$scenario.sh" ]; then
	# Its own process group under a timeout, so a hung scenario still leaves its partial results.
	timeout -s KILL "$timeout" sh "/vm/scenarios/$scenario.sh"
	rc=$?
	[ $rc -eq 137 ] && echo "vm: scenario $scenario killed after $timeout s"
else
	echo "vm: no scenario '$scenario' in /vm/scenarios: $(ls /vm/scenarios)"
	rc=99
fi
echo "$rc" >/out/status
dmesg >/out/dmesg.txt
echo "@@VM-STATUS $rc uptime=$(uptime_s)"

if [ -b /dev/vda ]; then
	# A tar straight onto the raw disk: no file system to make or mount, and the host reads it with tar -xf.
	size=$(tar -C /out -cf - . | wc -c)
	if tar -C /out -cf /dev/vda . && sync; then
		echo "@@VM-EXPORTED $size"
	else
		echo "vm: writing /out to /dev/vda failed"
	fi
fi
poweroff -f
