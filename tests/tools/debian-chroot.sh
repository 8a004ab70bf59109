#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# debian-chroot.sh: makes (once) and completes a Debian chroot in the build tree for the tests that need another release's programs (Wireshark 4.4, QEMU 10 and Linux 6.12).
#
# Usage: debian-chroot.sh SUITE ROOT PACKAGE...
#   SUITE    a Debian release (trixie)
#   ROOT     the chroot's folder; made by debootstrap on the first run (with PACKAGEs) and kept, so later
#            runs only install the PACKAGEs it lacks (apt-get in the chroot). ROOT.log: debootstrap's and
#            apt-get's output; ROOT.lock: held while the chroot is made or completed, so two tests that
#            want it at once wait for each other instead of both running debootstrap.
# The mirror is the machine's own: the first Debian archive URI of /etc/apt/sources.list.d/debian.sources
# (deb822) or of /etc/apt/sources.list (one-line `deb` entries), security archives left out; env
# DEBIAN_MIRROR overrides it.
# Exit: 0 ready; 77 not root (debootstrap and chroot need it), with the reason on stdout; 1 anything else,
# with what to do (debootstrap missing: ./do deps installs it; a failed debootstrap: the end of its log).
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 SUITE ROOT PACKAGE..." >&2; exit 1; }
suite=$1 root=$2
shift 2
packages=("$@")

[ "$(id -u)" -eq 0 ] || { echo "SKIP: debootstrap and chroot need root; run the tests as root (./do test does)"; exit 77; }
command -v debootstrap >/dev/null || { echo "FAIL: debootstrap is missing: ./do deps installs it"; exit 1; }

# mirror: the Debian archive the machine's apt uses (not its security archive).
mirror() {
	local sources=/etc/apt/sources.list.d/debian.sources list=/etc/apt/sources.list
	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	# deb822: stanzas are separated by blank lines; the first "deb" one whose suites are not -security.
	[ -r "$sources" ] && awk 'BEGIN { RS = ""; FS = "\n" }
		{
			types = suites = uris = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Types:/) types = " " substr($i, 7) " "
				else if ($i ~ /^Suites:/) suites = substr($i, 8)
				else if ($i ~ /^URIs:/) uris = substr($i, 6)
			}
			if (types ~ /[ \t]deb[ \t]/ && suites !~ /-security/ && split(uris, u, " ") > 0) { print u[1]; exit }
		}' "$sources" | grep . && return
	# One-line form: deb [options] URI SUITE COMPONENT...
	[ -r "$list" ] && awk '$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
			if ($(i + 1) !~ /-security/) { print $i; exit }
		}' "$list" | grep . && return
	return 1
}

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9

# A chroot whose debootstrap did not finish (interrupted, failed) is made again from scratch.
done_mark=$root/.debian-chroot-$suite
if [ ! -e "$done_mark" ]; then
	url=$(mirror) || { echo "FAIL: no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; set DEBIAN_MIRROR"; exit 1; }
	# --one-file-system: a /proc or /sys left mounted in it by a killed run is never walked into.
	rm -rf --one-file-system "$root"
	mkdir -p "$root"
	list=$(IFS=,; echo "${packages[*]}")
	echo "debootstrap $suite from $url into $root (packages: $list); its log: $root.log"
	t0=$(date +%s)
	# In a private mount namespace: the /proc and /sys debootstrap mounts in ROOT go away with it,
	# even when the test is killed half-way (they stayed mounted on the host before).
	if ! unshare --mount debootstrap --variant=minbase ${list:+--include="$list"} "$suite" "$root" "$url" >"$root.log" 2>&1; then
		echo "FAIL: debootstrap of Debian $suite failed; the end of $root.log:"
		tail -5 "$root.log"
		rm -rf --one-file-system "$root"
		exit 1
	fi
	touch "$done_mark"
	echo "debootstrap took $(($(date +%s) - t0)) s, $(du -sm "$root" | cut -f1) MB"
fi

# Packages another test asked for since: read from the chroot's dpkg database, installed by its apt-get.
missing=()
for p in "${packages[@]}"; do
	[ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "apt-get install in the $suite chroot: ${missing[*]}"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	# A private mount and PID namespace: the chroot's /proc goes away with it.
	if ! unshare --mount --pid --fork --mount-proc="$root/proc" chroot "$root" /bin/sh -c '
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"' sh "${missing[@]}" >>"$root.log" 2>&1; then
		echo "FAIL: apt-get install ${missing[*]} in the $suite chroot failed; the end of $root.log:"
		tail -5 "$root.log"
		exit 1
	fi
fi
