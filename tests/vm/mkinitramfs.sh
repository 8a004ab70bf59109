#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mkinitramfs.sh: builds the gzip cpio initramfs the real-guest tests boot: busybox, the guest's vsock modules, capture tools, our binaries, our /init.
#
# Usage: mkinitramfs.sh [-r ROOT] [-k KVER] -o OUT.cpio.gz [BINARY...]
#   -r ROOT   take the kernel and its modules from the system in ROOT (a chroot of another Debian release,
#             tests/tools/debian-chroot.sh) instead of /; everything else still comes from the host
#   -k KVER   kernel whose modules go in (default: the newest *-cloud-amd64 in ROOT, whose LZ4 bzImage
#             boots about 3 s faster under TCG than the XZ-compressed generic one)
#   -o OUT    the initramfs to write
#   BINARY    project programs (tap-driver, later the vhost-user backend's guest-side helpers...): each is
#             installed as /opt/vm/bin/NAME, on the guest's PATH, with every library ldd lists for it
# Env:
#   VM_MODULES  extra modules to carry (their dependencies are resolved too), space-separated
# Prints the kernel version on stdout ("kver KVER") so callers boot the matching /boot/vmlinuz-KVER.
# Exit: 0 built, 1 failure, 77 something it needs is not installed (the reason on stderr).
#
# What the image holds:
#   /bin/busybox           static; /init makes the applet links at runtime (faster than packing them)
#   /init                  tests/vm/init.sh: mounts, loads modules, runs /vm/scenarios/$SCENARIO.sh, exports /out
#   /vm/scenarios/*.sh     every scenario in tests/vm/scenarios/: adding one is adding a file there
#   /usr/bin/{tcpdump,socat}, /usr/sbin/ip   with their libraries (busybox has neither tcpdump nor socat)
#   /lib/modules/KVER      the modules below plus their dependencies, indexed by depmod -b for busybox modprobe;
#                          compressed ones (.ko.xz, .ko.zst: Debian 13's) are stored decompressed, as busybox's
#                          modprobe loads plain .ko files only
#   /opt/vm/bin/*          the BINARY arguments
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kver="" out="" sysroot=""
while getopts r:k:o: opt; do
	case $opt in
	r) sysroot=$(realpath "$OPTARG") ;;
	k) kver=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-r ROOT] [-k KVER] -o OUT.cpio.gz [BINARY...]" >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$out" ] || { echo "usage: $0 [-r ROOT] [-k KVER] -o OUT.cpio.gz [BINARY...]" >&2; exit 1; }

skip() { echo "mkinitramfs: $*" >&2; exit 77; }

if [ -z "$kver" ]; then
	kver=$(find "$sysroot/lib/modules/" -mindepth 1 -maxdepth 1 -name '*-cloud-amd64' -printf '%f\n' 2>/dev/null | sort -V | tail -1)
	[ -n "$kver" ] || skip "no *-cloud-amd64 kernel installed in ${sysroot:-/} (apt-get install linux-image-cloud-amd64, or ./do deps)"
fi
moddir=$sysroot/lib/modules/$kver
[ -r "$sysroot/boot/vmlinuz-$kver" ] || skip "$sysroot/boot/vmlinuz-$kver is missing or unreadable"
[ -d "$moddir" ] || skip "$moddir is missing"
busybox=$(command -v busybox || true)
# Static: the image carries no libraries for it, and it must run before anything else is set up.
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
	skip "a static busybox is needed (apt-get install busybox-static)"
fi
for tool in modinfo depmod tcpdump socat ip ldd gzip xz; do
	command -v "$tool" >/dev/null || skip "$tool not found"
done

root=$(mktemp -d "${TMPDIR:-/tmp}/vm-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,out,opt/vm/bin,vm/scenarios}
chmod 1777 "$root/tmp"

install -m 0755 "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# put FILE: a file at the same path in the image (libraries keep the path the loader and RUNPATHs look in).
put() {
	[ -e "$root$1" ] || install -D -m 0755 "$(readlink -f "$1")" "$root$1"
}

# put_prog SRC DST: a dynamic program and every library it loads, found by ldd (the loader itself included).
put_prog() {
	local lib
	install -D -m 0755 "$1" "$root$2"
	while read -r lib; do
		put "$lib"
	done < <(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

put_prog "$(command -v tcpdump)" /usr/bin/tcpdump
put_prog "$(command -v socat)" /usr/bin/socat
# iproute2's ip: busybox's can add a vsockmon link too, but ip is what the tests' instructions use.
put_prog "$(command -v ip)" /usr/sbin/ip
for bin in "$@"; do
	[ -x "$bin" ] || { echo "mkinitramfs: $bin is not an executable" >&2; exit 1; }
	if ldd "$bin" >/dev/null 2>&1; then
		put_prog "$bin" "/opt/vm/bin/$(basename "$bin")"
	else
		install -D -m 0755 "$bin" "$root/opt/vm/bin/$(basename "$bin")"
	fi
done

# tcpdump resolves its -Z user even to stay root (its default, user tcpdump, does not exist here: use -Z root).
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

# Modules: the vsock stack (loopback for in-guest traffic, virtio for a vhost-user device), vsockmon, and
# virtio-pci + virtio-blk for the results disk. Dependencies are followed with modinfo, so a kernel that
# regroups them still gets a complete set; built-in ones need nothing.
want="vsock vsock_loopback vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport vsockmon
      virtio_pci virtio_blk ${VM_MODULES:-}"
# modinfo -b reads ROOT's index, the host's kmod reads either release's (and names the file under ROOT,
# through its /lib -> usr/lib link on a merged-/usr system).
declare -A seen=()
add_module() {
	local m=$1 path dep rel
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	path=$(modinfo -b "${sysroot:-/}" -k "$kver" -n "$m" 2>/dev/null) || { echo "mkinitramfs: module $m not found for $kver" >&2; exit 1; }
	case $path in /*) ;; *) return 0 ;; esac	# "(builtin)"
	rel=${path#*/lib/modules/"$kver"/}
	mkdir -p "$(dirname "$root/lib/modules/$kver/$rel")"
	case $rel in
	*.ko.xz) xz -dc "$path" >"$root/lib/modules/$kver/${rel%.xz}" ;;
	*.ko.zst) zstd -qdc "$path" >"$root/lib/modules/$kver/${rel%.zst}" ;;
	*.ko.gz) gzip -dc "$path" >"$root/lib/modules/$kver/${rel%.gz}" ;;
	*) install -m 0644 "$path" "$root/lib/modules/$kver/$rel" ;;
	esac
	for dep in $(modinfo -b "${sysroot:-/}" -k "$kver" -F depends "$m" | tr , ' '); do
		add_module "$dep"
	done
}
for m in $want; do
	add_module "$m"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[ -e "$moddir/$f" ] && cp "$moddir/$f" "$root/lib/modules/$kver/"
done
depmod -b "$root" "$kver"

install -m 0755 "$here/init.sh" "$root/init"
install -m 0755 "$here"/scenarios/*.sh "$root/vm/scenarios/"

# gzip -1: the image is small, and the guest decompresses it under TCG.
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "kver $kver"
