#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-guest.sh: boots a test initramfs under QEMU (TCG, bounded by a timeout), collects what the guest exported, returns its scenario's status.
#
# Usage: run-guest.sh [options] -i INITRAMFS -s SCENARIO -o OUTDIR [-- EXTRA-QEMU-ARGS...]
#   -i FILE     the initramfs (mkinitramfs.sh)
#   -k KVER     the kernel: /boot/vmlinuz-KVER (default: the newest *-cloud-amd64; it must match the modules in FILE)
#   -s NAME     the scenario: /vm/scenarios/NAME.sh in the image (boot: come up and power off)
#   -o DIR      results: DIR/console.log (the serial console), DIR/results/ (the guest's /out), DIR/qemu.err
#   -a KEY=VAL  handed to the scenario as VM_KEY=VAL (repeatable); -A ARG: any other kernel argument
#   -t SECONDS  wall-clock limit of the whole run (default 120); the guest kills its scenario 15 s earlier,
#               so a hung scenario still exports what it has
#   -m MIB      guest memory (default 512)
#   -R          let the guest reboot (QEMU without -no-reboot): a scenario that reboots runs again on
#               the next boot and must tell the boots apart itself (e.g. by a disk of its own)
#   -S          guest RAM as a shared memfd (memory-backend-memfd,share=on): what a vhost-user backend such as
#               vhost-user-vsock needs to map the rings; share=off fails silently (the backend sees empty rings)
#   EXTRA-QEMU-ARGS  appended as they are, e.g. for vhost-user-vsock (the backend must already listen):
#               -- -chardev socket,id=vu0,path=SOCK -device vhost-user-vsock-pci,chardev=vu0
# Env: VM_QEMU  the QEMU binary (default qemu-system-x86_64 from PATH)
# Exit: the scenario's status (0 pass, 1 fail, 77 skip); 77 when qemu or the kernel is missing; 99 when
# the run broke (QEMU failed, the timeout hit, the guest never reported a status).
# Never uses KVM: it does not work on the machines this runs on (the guest hangs in real mode). The host
# never opens a vsock socket: all vsock traffic stays inside the guest or goes through EXTRA-QEMU-ARGS devices.
set -u

usage() { echo "usage: $0 [-k KVER] [-a KEY=VAL]... [-A ARG]... [-t S] [-m MIB] [-S] [-R] -i INITRAMFS -s SCENARIO -o OUTDIR [-- QEMU-ARGS]" >&2; exit 99; }
initrd="" kver="" scenario="" outdir="" limit=120 mem=512 shared=0 append="" noreboot=-no-reboot
while getopts i:k:s:o:a:A:t:m:SR opt; do
	case $opt in
	i) initrd=$OPTARG ;;
	k) kver=$OPTARG ;;
	s) scenario=$OPTARG ;;
	o) outdir=$OPTARG ;;
	a) append="$append vm.$OPTARG" ;;
	A) append="$append $OPTARG" ;;
	t) limit=$OPTARG ;;
	m) mem=$OPTARG ;;
	S) shared=1 ;;
	R) noreboot="" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
{ [ -n "$initrd" ] && [ -n "$scenario" ] && [ -n "$outdir" ]; } || usage

skip() { echo "SKIP: $*"; exit 77; }
qemu=$(command -v "${VM_QEMU:-qemu-system-x86_64}") ||
	skip "${VM_QEMU:-qemu-system-x86_64} not found (apt-get install qemu-system-x86, or ./do deps)"
if [ -z "$kver" ]; then
	kver=$(find /lib/modules -mindepth 1 -maxdepth 1 -name '*-cloud-amd64' -printf '%f\n' 2>/dev/null | sort -V | tail -1)
	[ -n "$kver" ] || skip "no *-cloud-amd64 kernel installed (apt-get install linux-image-cloud-amd64, or ./do deps)"
fi
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || skip "$kernel is missing or unreadable"
[ -r "$initrd" ] || { echo "run-guest: $initrd: no such initramfs" >&2; exit 99; }

mkdir -p "$outdir"
rm -rf "$outdir/results" "$outdir/console.log" "$outdir/qemu.err"
mkdir "$outdir/results"
disk=$outdir/results.img
rm -f "$disk"
truncate -s 128M "$disk"	# sparse; the guest's /out is a 128 MiB tmpfs, so any tar of it fits

memargs=(-m "$mem")
[ "$shared" = 1 ] && memargs+=(-object "memory-backend-memfd,id=vmmem,size=${mem}M,share=on" -machine memory-backend=vmmem)

# quiet: every console line costs time on an emulated UART. panic=-1 with -no-reboot: a panicking guest
# ends QEMU at once instead of waiting for the timeout.
cmdline="console=ttyS0 panic=-1 quiet vm.scenario=$scenario vm.timeout=$((limit > 30 ? limit - 15 : limit))$append"
t0=$(date +%s.%N)
# The console goes to a file (no terminal handling, nothing lost if QEMU is killed); -k: SIGKILL if it
# ignores the SIGTERM.
timeout -k 5 "$limit" "$qemu" -accel tcg -smp 1 "${memargs[@]}" \
	-display none -nodefaults $noreboot -monitor none -serial "file:$outdir/console.log" \
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
	-drive "file=$disk,if=virtio,format=raw,cache=unsafe" \
	"$@" </dev/null >"$outdir/qemu.err" 2>&1
qrc=$?
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

# The console, minus the kernel's own lines, which quiet mostly silences anyway.
sed 's/\r$//' "$outdir/console.log" >"$outdir/console.tmp" && mv "$outdir/console.tmp" "$outdir/console.log"
status=$(sed -n 's/^@@VM-STATUS \([0-9]*\) .*/\1/p' "$outdir/console.log" | tail -1)
start=$(sed -n 's/^@@VM-START .*uptime=//p' "$outdir/console.log" | tail -1)
echo "run-guest: $scenario on $kver: qemu rc $qrc, ${wall} s wall, /init at ${start:-?} s guest uptime, status ${status:-none}"

if [ $qrc -ne 0 ]; then
	[ $qrc -eq 124 ] || [ $qrc -eq 137 ] && echo "run-guest: QEMU killed after $limit s"
	[ -s "$outdir/qemu.err" ] && sed 's/^/qemu: /' "$outdir/qemu.err"
fi
if grep -q '^@@VM-EXPORTED' "$outdir/console.log"; then
	tar -C "$outdir/results" --no-overwrite-dir -xf "$disk" || echo "run-guest: cannot read the results tar on $disk"
else
	echo "run-guest: the guest exported no results"
fi
rm -f "$disk"
if [ -z "$status" ]; then
	echo "run-guest: the guest reported no status; its console ($outdir/console.log), last lines:"
	tail -30 "$outdir/console.log" | sed 's/^/    /'
	exit 99
fi
# QEMU failing after the guest reported (e.g. a device error at shutdown) still breaks the run.
[ $qrc -eq 0 ] || exit 99
exit "$status"
