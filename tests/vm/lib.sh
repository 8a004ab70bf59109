# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh: what the host sides of the real-guest tests share: results, the work folder, the guest image and its boot, the daemon, host peers, console triggers.
# Sourced (bash) by tests/vm/*.sh after they set `here` (this folder) and `peer` (vsock-peer).
# Env: VM_STACK  the QEMU and guest kernel the test runs on:
#          host     (default) the machine's own: Debian 12's QEMU 7.2 and Linux 6.1 on the machines ./do serves
#          SUITE    another Debian release's (trixie: QEMU 10.0 and Linux 6.12), from the chroot VM_CHROOT
#                   (default $BUILDDIR/tests/debian-SUITE), which tests/tools/debian-chroot.sh makes on the
#                   first run, with qemu-system-x86, linux-image-cloud-amd64 and VM_CHROOT_PACKAGES (the
#                   other packages the tests that share it want, so one debootstrap serves them all)
#      Work folders of a SUITE stack get the suffix -SUITE, so both stacks' files stay for a look.

fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
show() { sed 's/^/    /' "$@"; }
# field LINE KEY: the value of KEY=... in a vsock-peer result line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
finish() {
	echo "# $passes passed, $fails failed (work files in $work)"
	[ "$fails" -eq 0 ]
}

# Background processes, stopped on exit whatever happens.
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
}
trap cleanup EXIT

# The stack: $stack (host or a suite), and the -r ROOT option of mkinitramfs.sh and run-guest.sh.
stack=${VM_STACK:-host} sysroot=()

# workdir NAME: $work is VM_WORKDIR, else $BUILDDIR/tests/vm/NAME (-SUITE), else a temporary folder; emptied.
workdir() {
	if [ -n "${VM_WORKDIR:-}" ]; then
		work=$VM_WORKDIR
	elif [ -n "${BUILDDIR:-}" ]; then
		work=$BUILDDIR/tests/vm/$1
		[ "$stack" = host ] || work=$work-$stack
	else
		work=$(mktemp -d)
	fi
	rm -rf "$work"
	mkdir -p "$work"
}

# need_stats_tools: skips (77) without socat and jq, which read vsockdev's statistics socket.
need_stats_tools() {
	command -v socat >/dev/null || { echo "SKIP: socat not found: it reads vsockdev's statistics socket (apt-get install socat, or ./do deps)"; exit 77; }
	command -v jq >/dev/null || { echo "SKIP: jq not found: it reads vsockdev's statistics (apt-get install jq, or ./do deps)"; exit 77; }
}

# elapsed T0: the seconds since T0 (date +%s.%N), to two decimals.
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# use_stack: for a SUITE stack, makes or completes its chroot and sets $sysroot. Exits 77 (not root) or
# 1 (debootstrap missing or failing) as debian-chroot.sh says.
use_stack() {
	local root rc
	[ "$stack" = host ] && return 0
	root=${VM_CHROOT:-${BUILDDIR:?BUILDDIR or VM_CHROOT names the chroot of VM_STACK=$stack}/tests/debian-$stack}
	# shellcheck disable=SC2086 # a space-separated list
	"$here/../tools/debian-chroot.sh" "$stack" "$root" qemu-system-x86 linux-image-cloud-amd64 ${VM_CHROOT_PACKAGES:-}
	rc=$?
	[ $rc -eq 0 ] || exit $rc
	sysroot=(-r "$root")
}

# initramfs [PROGRAM]: the guest image with PROGRAM (default vsock-peer), the stack's kernel modules; sets
# $kver. Skips (77) when QEMU's parts are not installed.
initramfs() {
	local rc t0
	use_stack
	t0=$(date +%s.%N)
	"$here/mkinitramfs.sh" "${sysroot[@]}" -o "$work/initramfs.gz" "${1:-$peer}" >"$work/mkinitramfs.out" 2>"$work/mkinitramfs.err"
	rc=$?
	[ $rc -eq 77 ] && { echo "SKIP: $(sed 's/^mkinitramfs: //' "$work/mkinitramfs.err")"; exit 77; }
	[ $rc -eq 0 ] || { echo "FAIL: mkinitramfs.sh exited with $rc:"; show "$work/mkinitramfs.err"; exit 99; }
	kver=$(sed -n 's/^kver //p' "$work/mkinitramfs.out")
	echo "# initramfs for $kver: $(stat -c %s "$work/initramfs.gz") bytes in $(elapsed "$t0") s"
}

# run_scenario SCENARIO SECONDS [RUN-GUEST-OPTIONS...]: the guest alone (its vsock is vsock_loopback);
# sets $r to the files it exported. Exits 77 when QEMU cannot run, 1 (99: the run broke) with the
# console shown when the scenario failed.
run_scenario() {
	local scenario=$1 limit=$2 rc
	shift 2
	"$here/run-guest.sh" "${sysroot[@]}" -k "$kver" -i "$work/initramfs.gz" -s "$scenario" -o "$work" -t "$limit" "$@"
	rc=$?
	[ $rc -eq 77 ] && exit 77
	r=$work/results
	if [ $rc -ne 0 ]; then
		echo "FAIL: the guest scenario exited with $rc; its console:"
		show "$work/console.log"
		exit $(( rc == 99 ? 99 : 1 ))
	fi
}

# start_daemon VSOCKDEV ARGS...: vsockdev in the background ($devpid), its log in $work/vsockdev.log;
# waits for the vhost-user socket $work/vu.sock, which ARGS must name.
start_daemon() {
	local bin=$1
	shift
	"$bin" -v "$@" 2>>"$work/vsockdev.log" &
	devpid=$!
	pids+=($devpid)
	for _ in $(seq 100); do
		[ -S "$work/vu.sock" ] && return 0
		sleep 0.05
	done
	echo "FAIL: vsockdev did not listen on $work/vu.sock:"
	show "$work/vsockdev.log"
	exit 99
}

# listen NAME ARGS...: a host vsock-peer listening for the guest (ARGS name a uds-listen endpoint); its
# result line in $work/NAME.host. Waits until it listens.
listen() {
	local name=$1
	shift
	"$peer" "$@" --ready "$work/$name.ready" --timeout 200 >"$work/$name.host" 2>"$work/$name.host.err" &
	pids+=($!)
	for _ in $(seq 100); do
		[ -e "$work/$name.ready" ] && return 0
		sleep 0.05
	done
	echo "FAIL: host listener $name did not start:"
	show "$work/$name.host.err"
	exit 99
}

# on_console MARKER NAME ARGS...: in the background, once the guest prints MARKER on its console, runs
# vsock-peer ARGS; its result line in $work/NAME.host, then "rc=STATUS".
on_console() {
	local marker=$1 name=$2
	shift 2
	(
		for _ in $(seq 6000); do
			if grep -q "^$marker" "$work/console.log" 2>/dev/null; then
				"$peer" "$@" --timeout 100 >"$work/$name.host" 2>"$work/$name.host.err"
				echo "rc=$?" >>"$work/$name.host"
				exit 0
			fi
			sleep 0.05
		done
	) &
	pids+=($!)
}

# stats: vsockdev's statistics document (JSON) on stdout.
stats() {
	socat -t 5 - "UNIX-CONNECT:$work/stats.sock" 2>/dev/null
}

# stats_on_console MARKER FILE: in the background, once the guest prints MARKER on its console, writes
# vsockdev's statistics to FILE: the device's state at that point of the scenario.
stats_on_console() {
	local marker=$1 file=$2
	(
		for _ in $(seq 6000); do
			if grep -q "^$marker" "$work/console.log" 2>/dev/null; then
				stats >"$file"
				exit 0
			fi
			sleep 0.05
		done
	) &
	pids+=($!)
}

# boot SCENARIO SECONDS [RUN-GUEST-OPTIONS...] [-- QEMU-ARGS...]: the guest on vsockdev's socket; returns
# run-guest's status, after showing the console and vsockdev's log when it failed.
boot() {
	local scenario=$1 limit=$2 rc opts=() qemu=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	qemu=("$@")
	"$here/run-guest.sh" "${sysroot[@]}" -k "$kver" -i "$work/initramfs.gz" -s "$scenario" -o "$work" -t "$limit" -S "${opts[@]}" -- \
		-chardev "socket,id=vsock0,path=$work/vu.sock" -device vhost-user-vsock-pci,chardev=vsock0 "${qemu[@]}"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		echo "FAIL: the guest scenario exited with $rc; its console:"
		show "$work/console.log"
		echo "vsockdev's log:"
		show "$work/vsockdev.log"
	fi
	return $rc
}

# stop_daemon: SIGTERM; checks that vsockdev exits 0 and removes the sockets it made.
stop_daemon() {
	local rc
	kill -TERM "$devpid"
	wait "$devpid"
	rc=$?
	if [ $rc = 0 ] && ! [ -e "$work/vu.sock" ] && ! [ -e "$work/h.sock" ] && ! [ -e "$work/stats.sock" ] &&
	   grep -q 'Terminated: shutting down' "$work/vsockdev.log"; then
		ok "SIGTERM: vsockdev exited 0 and removed its sockets"
	else
		bad "SIGTERM: exit $rc; log:"
		show "$work/vsockdev.log"
	fi
}
