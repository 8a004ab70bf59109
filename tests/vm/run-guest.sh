#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-guest.sh: boots a test initramfs under QEMU (TCG, bounded by a timeout), collects what the guest exported, returns its scenario's status.
#
# Usage: run-guest.sh [options] -i INITRAMFS -s SCENARIO -o OUTDIR [-- EXTRA-QEMU-ARGS...]
#   -i FILE     the initramfs (mkinitramfs.sh)
#   -r ROOT     QEMU and the kernel from the system in ROOT (a chroot of another Debian release, made by
#               tests/tools/debian-chroot.sh), not the host's: QEMU runs chrooted in a private mount
#               namespace that sees the host's /dev, a /proc, and OUTDIR and FILE's folder at the same paths,
#               so EXTRA-QEMU-ARGS may name files (the vhost-user socket, disks) in those two folders
#   -k KVER     the kernel: ROOT/boot/vmlinuz-KVER (default: the newest *-cloud-amd64; it must match the modules in FILE)
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
# Env: VM_QEMU  the QEMU binary (default qemu-system-x86_64 from PATH, or in ROOT)
# Exit: the scenario's status (0 pass, 1 fail, 77 skip); 77 when qemu or the kernel is missing; 99 when
# the run broke (QEMU failed, the timeout hit, the guest never reported a status).
# Never uses KVM: it does not work on the machines this runs on (the guest hangs in real mode). The host
# never opens a vsock socket: all vsock traffic stays inside the guest or goes through EXTRA-QEMU-ARGS devices.
set -u

usage() { echo "usage: $0 [-r ROOT] [-k KVER] [-a KEY=VAL]... [-A ARG]... [-t S] [-m MIB] [-S] [-R] -i INITRAMFS -s SCENARIO -o OUTDIR [-- QEMU-ARGS]" >&2; exit 99; }
initrd="" sysroot="" kver="" scenario="" outdir="" limit=120 mem=512 shared=0 append="" noreboot=-no-reboot
while getopts i:r:k:s:o:a:A:t:m:SR opt; do
	case $opt in
	i) initrd=$OPTARG ;;
	r) sysroot=$(realpath "$OPTARG") ;;
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
# A chroot lacking QEMU or the kernel is broken, not a machine without them: its maker installs both.
if [ -n "$sysroot" ]; then
	qemu=${VM_QEMU:-/usr/bin/qemu-system-x86_64}
	[ -x "$sysroot$qemu" ] || { echo "run-guest: no $qemu in $sysroot" >&2; exit 99; }
else
	qemu=$(command -v "${VM_QEMU:-qemu-system-x86_64}") ||
		skip "${VM_QEMU:-qemu-system-x86_64} not found (apt-get install qemu-system-x86, or ./do deps)"
fi
if [ -z "$kver" ]; then
	kver=$(find "$sysroot/lib/modules/" -mindepth 1 -maxdepth 1 -name '*-cloud-amd64' -printf '%f\n' 2>/dev/null | sort -V | tail -1)
	[ -n "$kver" ] || skip "no *-cloud-amd64 kernel installed in ${sysroot:-/} (apt-get install linux-image-cloud-amd64, or ./do deps)"
fi
kernel=/boot/vmlinuz-$kver	# as QEMU sees it, in ROOT
[ -r "$sysroot$kernel" ] || skip "$sysroot$kernel is missing or unreadable"
[ -r "$initrd" ] || { echo "run-guest: $initrd: no such initramfs" >&2; exit 99; }

mkdir -p "$outdir"
outdir=$(realpath "$outdir") initrd=$(realpath "$initrd")

# wrap: the command prefix that runs QEMU in ROOT when there is one. Each step execs the next, so QEMU keeps
# the pid timeout started and gets its signals. The mount namespace is private (unshare's default
# propagation): its mounts vanish with QEMU and never show on the host.
wrap=()
[ -n "$sysroot" ] && wrap=(unshare --mount /bin/sh -c '
	root=$1 out=$2 img=$3
	shift 3
	mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" || exit 99
	[ "$img" = "$out" ] && img=
	for dir in "$out" $img; do
		mkdir -p "$root$dir" && mount --bind "$dir" "$root$dir" || exit 99
	done
	exec chroot "$root" "$@"' sh "$sysroot" "$outdir" "$(dirname "$initrd")")
qver=$("${wrap[@]}" "$qemu" --version 2>&1 | sed -n 's/^QEMU emulator version \([^ ]*\).*/\1/p')
[ -n "$qver" ] || { echo "run-guest: $qemu --version failed${sysroot:+ in $sysroot}" >&2; exit 99; }
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
timeout -k 5 "$limit" "${wrap[@]}" "$qemu" -accel tcg -smp 1 "${memargs[@]}" \
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
echo "run-guest: $scenario on $kver, QEMU $qver${sysroot:+ (in $sysroot)}: qemu rc $qrc, ${wall} s wall, /init at ${start:-?} s guest uptime, status ${status:-none}"

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
