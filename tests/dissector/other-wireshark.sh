#!/bin/bash
# other-wireshark.sh: builds the plugin against another Debian release's Wireshark, in a chroot, and runs the dissector tests there.
#   other-wireshark.sh SUITE ROOT
# SUITE is a Debian release (trixie: Wireshark 4.4); ROOT the folder for its chroot, made by debootstrap
# on the first run and kept (about 900 MB) for the next. The project's files (tracked ones and new ones
# git does not ignore, as they are in the work tree) are copied in and built with -Ddissector=enabled;
# `meson test --suite dissector` runs there. Needs root (debootstrap, chroot), debootstrap, and
# Debian's mirror, as ./do deps does.
set -euo pipefail

suite=$1 root=$2
src=${SRCDIR:?SRCDIR names the source tree}

[ "$(id -u)" -eq 0 ] || { echo "SKIP: debootstrap and chroot need root; run the tests as root (./do test does)"; exit 77; }
command -v debootstrap >/dev/null || { echo "FAIL: debootstrap is missing: ./do deps installs it"; exit 1; }

packages=tshark,libwireshark-dev,meson,ninja-build,gcc,libc6-dev,pkg-config,libpcap-dev,libjansson-dev,jq,libcmocka-dev,libncurses-dev
if [ ! -x "$root/usr/bin/tshark" ]; then
	rm -rf "$root"
	mkdir -p "$root"
	echo "debootstrap $suite into $root (packages: $packages)"
	if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root" http://deb.debian.org/debian \
		>"$root.log" 2>&1; then
		echo "FAIL: debootstrap of Debian $suite failed; the end of $root.log:"
		tail -5 "$root.log"
		rm -rf "$root"
		exit 1
	fi
fi

rm -rf "$root/src"
mkdir -p "$root/src"
git -C "$src" ls-files -z --cached --others --exclude-standard | tar -C "$src" --null -T - -cf - | tar -C "$root/src" -xf -

# A private mount and PID namespace: the chroot's /proc goes away with it, whatever ends the test.
unshare --mount --pid --fork --mount-proc="$root/proc" chroot "$root" /bin/bash -c '
	set -euo pipefail
	cd /src
	echo "in Debian $(cat /etc/debian_version): $(tshark --version 2>/dev/null | head -1), $(gcc --version | head -1)"
	meson setup b -Ddissector=enabled -Dfuzz=disabled -Dman-pages=disabled >setup.log 2>&1 || { tail -20 setup.log; exit 1; }
	grep -E "^ *(wireshark|Run-time dependency wireshark)" setup.log || true
	ninja -C b >build.log 2>&1 || { grep -E "error|warning" build.log | head -30; exit 1; }
	meson test -C b --suite dissector --print-errorlogs
'
