#!/bin/bash
# other-wireshark.sh: builds the plugin against another Debian release's Wireshark, in a chroot, and runs the dissector tests there.
#   other-wireshark.sh SUITE ROOT PACKAGE...
# SUITE is a Debian release (trixie: Wireshark 4.4); ROOT the folder for its chroot, which
# tests/tools/debian-chroot.sh makes with the PACKAGEs (those the project's build needs, tshark and
# libwireshark-dev among them) on the first run and keeps for the next (other tests share it). The
# project's files (tracked ones and new ones git does not ignore, as they are in the work tree) are copied
# in and built with -Ddissector=enabled; `meson test --suite dissector` runs there. Needs root
# (debootstrap, chroot), debootstrap, and the machine's Debian mirror, as ./do deps does.
set -euo pipefail

suite=$1 root=$2
shift 2
src=${SRCDIR:?SRCDIR names the source tree}

rc=0
"$src/tests/tools/debian-chroot.sh" "$suite" "$root" "$@" || rc=$?
[ $rc -eq 0 ] || exit $rc

rm -rf "$root/src"
mkdir -p "$root/src"
git -C "$src" ls-files -z --cached --others --exclude-standard | tar -C "$src" --null -T - -cf - | tar -C "$root/src" -xf -

# A private mount and PID namespace: the chroot's /proc goes away with it, whatever ends the test.
unshare --mount --pid --fork --mount-proc="$root/proc" chroot "$root" /bin/bash -c '
	set -euo pipefail
	cd /src
	echo "in Debian $(cat /etc/debian_version): $(tshark --version 2>/dev/null | head -1), $(gcc --version | head -1)"
	meson setup b -Dwerror=true -Ddissector=enabled -Dfuzz=disabled -Dman-pages=disabled >setup.log 2>&1 || { tail -20 setup.log; exit 1; }
	grep -E "^ *(wireshark|Run-time dependency wireshark)" setup.log || true
	ninja -C b >build.log 2>&1 || { grep -E "error|warning" build.log | head -30; exit 1; }
	meson test -C b --suite dissector --print-errorlogs
'
