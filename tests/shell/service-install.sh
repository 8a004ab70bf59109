#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# service-install.sh: `meson install` into a DESTDIR puts vsockdev@.service and the sysusers.d file of its user where
# systemd reads them for the configured prefix, the unit's ExecStart names the installed vsockdev, systemd-analyze
# verifies the unit and scores its hardening 3.0 or better, and systemd-sysusers makes the user from the file.
# Usage: service-install.sh BUILDDIR
# Exit: 0 pass, 1 fail, 77 skip (no meson), 99 bad invocation.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 99
fi
build=$(realpath "$1")
max_exposure=3.0

. "$(dirname "$0")/harness.sh"
command -v meson >/dev/null || skip "meson not found on PATH: the test runs meson install"
start_harness

read_build_options "$build" || { bad "meson introspect --buildoptions $build"; verdict; exit; }
prefix=$(build_option prefix) sbindir=$(build_option sbindir)
unitdir=$(build_option systemdunitdir) usersdir=$(build_option sysusersdir)
# The rule meson.build states: an option wins; with prefix /usr, systemd's pkg-config; else under the prefix.
if [ -z "$unitdir" ]; then
	if [ "$prefix" = /usr ] && pkg-config --exists systemd; then
		unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
	else
		unitdir=$prefix/lib/systemd/system
	fi
fi
if [ -z "$usersdir" ]; then
	if [ "$prefix" = /usr ] && pkg-config --exists systemd; then
		usersdir=$(pkg-config --variable=sysusersdir systemd)
	else
		usersdir=$prefix/lib/sysusers.d
	fi
fi
case $sbindir in /*) ;; *) sbindir=$prefix/$sbindir ;; esac

dest=$tmp/dest
staged_install "$build" "$dest" || { verdict; exit; }

unit=$dest$unitdir/vsockdev@.service
users=$dest$usersdir/vsockdev.conf
if [ -f "$unit" ]; then ok "unit installed as $unitdir/vsockdev@.service"; else bad "no $unitdir/vsockdev@.service in the DESTDIR"; fi
if [ -f "$users" ]; then ok "sysusers.d file installed as $usersdir/vsockdev.conf"; else bad "no $usersdir/vsockdev.conf in the DESTDIR"; fi
[ -x "$dest$sbindir/vsockdev" ] || bad "no executable $sbindir/vsockdev in the DESTDIR"
if [ ! -f "$unit" ]; then
	verdict
	exit
fi
if grep -q '@[a-z]*@' "$unit"; then
	bad "unconfigured @...@ left in the unit:"
	grep -n '@[a-z]*@' "$unit" | show /dev/stdin
fi

# ExecStart (continued over backslash lines): its program is the installed vsockdev of this prefix.
exec_line=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | tr -d '\\\n')
exec_prog=$(printf '%s\n' "$exec_line" | sed 's/^ExecStart=//' | awk '{ print $1 }')
if [ "$exec_prog" = "$sbindir/vsockdev" ]; then
	ok "ExecStart runs $exec_prog"
else
	bad "ExecStart runs '$exec_prog', not $sbindir/vsockdev"
fi
for want in 'Type=notify' 'User=vsockdev' 'RuntimeDirectory=vsockdev' 'LogsDirectory=vsockdev'; do
	grep -qx "$want" "$unit" || bad "the unit lacks $want"
done
for want in --socket-group --socket-mode --pcap-mode /run/vsockdev/vm%i.vhost /var/log/vsockdev/vm%i.pcap; do
	case $exec_line in *"$want"*) ;; *) bad "ExecStart lacks $want: $exec_line" ;; esac
done
# The daemon must start with the unit's options as they are (an instance's %i made 3, its paths made ours), and
# without root as the unit runs it: as root, the test runs it as nobody with the unit's group as its only
# supplementary group (User=, SupplementaryGroups=), in folders nobody owns, as RuntimeDirectory= makes them.
args=$(printf '%s\n' "$exec_line" | sed "s/^ExecStart=[^ ]*//; s/%i/3/g; s|/run/vsockdev|$tmp/run|g; s|/var/log/vsockdev|$tmp/log|g")
group=$(sed -n 's/^SupplementaryGroups=//p' "$unit")
case $args in *"--socket-group $group "*) ;; *) bad "--socket-group is not the unit's SupplementaryGroups=$group: $args" ;; esac
mkdir -p "$tmp/run" "$tmp/log"
as=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as=(setpriv --reuid=65534 --regid=65534 --groups="$(getent group "$group" | cut -d: -f3)")
	chmod 711 "$tmp"
	chown 65534:65534 "$tmp/run" "$tmp/log"
fi
if ! getent group "$group" >/dev/null; then
	echo "# not run with the unit's arguments: this machine has no group $group"
elif [ ${#as[@]} = 0 ] && ! id -Gn | tr ' ' '\n' | grep -qx "$group"; then
	echo "# not run with the unit's arguments: this user is not in group $group (run as root)"
else
	# shellcheck disable=SC2086 # the unit's words, split as systemd splits them (no quoting in them)
	"${as[@]}" "$dest$sbindir/vsockdev" $args >"$tmp/run.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	if wait_for "$tmp/run.log" 'ready: every socket listens' 10; then
		ok "vsockdev starts with the unit's own arguments${as:+ as nobody in group $group}"
		for f in run/vm3.vhost run/vm3.vsock run/vm3.stats; do
			[ "$(stat -c '%a %G' "$tmp/$f")" = "660 $group" ] || bad "$f is not 660 in group $group: $(stat -c '%a %G' "$tmp/$f")"
		done
		[ "$(stat -c %a "$tmp/log/vm3.pcap")" = 600 ] || bad "the capture is not 600: $(stat -c %a "$tmp/log/vm3.pcap")"
	else
		bad "vsockdev does not start with the unit's arguments ($args):"
		show "$tmp/run.log"
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
fi

if [ -f "$users" ]; then
	if command -v systemd-sysusers >/dev/null; then
		mkdir -p "$tmp/root/etc"
		if systemd-sysusers --root="$tmp/root" "$users" >"$tmp/sysusers.log" 2>&1 &&
			grep -q '^vsockdev:' "$tmp/root/etc/passwd" && grep -q '^vsockdev:' "$tmp/root/etc/group"; then
			shell=$(awk -F: '$1 == "vsockdev" { print $7 }' "$tmp/root/etc/passwd")
			uid=$(awk -F: '$1 == "vsockdev" { print $3 }' "$tmp/root/etc/passwd")
			case $shell in
			*/nologin) ok "systemd-sysusers makes user vsockdev (uid $uid, shell $shell) and its group" ;;
			*) bad "user vsockdev has the login shell $shell" ;;
			esac
			[ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] || bad "user vsockdev's uid $uid is not a system uid"
		else
			bad "systemd-sysusers --root did not make user and group vsockdev:"
			show "$tmp/sysusers.log"
		fi
	else
		echo "# systemd-sysusers not found: the sysusers.d file is not tried"
	fi
fi

if ! command -v systemd-analyze >/dev/null; then
	echo "# systemd-analyze not found: the unit is neither verified nor scored (apt-get install systemd)"
	verdict
	exit
fi
# verify reads the unit from a folder of its own as an instance, ExecStart pointing into the DESTDIR, since
# it looks for the program on this machine; any word it says is a defect of the unit.
mkdir -p "$tmp/verify"
sed "s|$sbindir/vsockdev|$dest$sbindir/vsockdev|" "$unit" >"$tmp/verify/vsockdev@3.service"
if systemd-analyze verify --man=no "$tmp/verify/vsockdev@3.service" >"$tmp/verify.log" 2>&1 && [ ! -s "$tmp/verify.log" ]; then
	ok "systemd-analyze verify: no complaint"
else
	bad "systemd-analyze verify complains:"
	show "$tmp/verify.log"
fi
# security reads the installed unit itself (--root: the DESTDIR), an instance of the template.
if systemd-analyze security --offline=true --root="$dest" vsockdev@3.service >"$tmp/security.log" 2>&1; then
	score=$(sed -n 's/.*Overall exposure level for vsockdev@3.service: \([0-9.]*\).*/\1/p' "$tmp/security.log")
	if [ -z "$score" ]; then
		bad "systemd-analyze security printed no exposure level:"
		show "$tmp/security.log"
	elif awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
		ok "systemd-analyze security --offline=true: exposure $score (at most $max_exposure)"
	else
		bad "systemd-analyze security: exposure $score, over $max_exposure:"
		grep '✗' "$tmp/security.log" | show /dev/stdin
	fi
else
	bad "systemd-analyze security --offline=true --root failed:"
	show "$tmp/security.log"
fi
verdict
