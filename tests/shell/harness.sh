# harness.sh: what the shell tests share (sourced): skips, ok/bad counts and the verdict, a work folder and background processes cleaned up at exit, waiting for a line, a network namespace of their own.
# After sourcing: $tmp is the work folder; add background PIDs to $pids; define at_exit for more clean-up.

skip() { echo "SKIP: $*"; exit 77; }

fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
# show FILE...: a file's lines indented under the ok or FAIL line they explain.
show() { sed 's/^/    /' "$@"; }
# verdict: the counts, then the exit status: 0 when nothing failed.
verdict() {
	echo "# $passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}

# wait_for FILE REGEX SECONDS: until a line of FILE matches (a tool says it is ready or listening).
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# wait_capturing IFC SECONDS: waits until a packet socket is bound to IFC (/proc/net/packet of this namespace,
# column Iface), i.e. a capture on it has opened and sees what comes next; status 1 when none did in time.
wait_capturing() {
	local idx i
	# (ip, not /sys/class/net: sysfs still shows the host's interfaces inside a namespace made by unshare -n)
	idx=$(ip -o link show dev "$1" 2>/dev/null | cut -d: -f1)
	[ -n "$idx" ] || return 1
	for ((i = 0; i < $2 * 20; i++)); do
		awk -v idx="$idx" 'NR > 1 && $5 == idx { found = 1 } END { exit !found }' /proc/net/packet && return 0
		sleep 0.05
	done
	return 1
}

# enter_netns TOOL... -- ARG...: runs this script again with ARGs in a network namespace of its own, so
# no interface it creates ever appears on the host; skips, saying why, where that cannot be done.
# Returns only inside the namespace (call it before the work folder is made).
enter_netns() {
	local tools=() t err

	while [ "$1" != -- ]; do
		tools+=("$1")
		shift
	done
	shift
	[ "${VSM_TEST_NETNS:-}" = 1 ] && return 0
	[ "$(id -u)" = 0 ] ||
		skip "needs root: it creates a network namespace and a TUN interface (as root: meson test -C BUILDDIR $(basename "$0" .sh))"
	[ -c /dev/net/tun ] || skip "/dev/net/tun is missing: load the tun module (modprobe tun)"
	for t in unshare "${tools[@]}"; do
		command -v "$t" >/dev/null || skip "$t not found: the test needs it (./do deps installs it)"
	done
	err=$(unshare --net true 2>&1) || skip "cannot create a network namespace with unshare --net: $err"
	VSM_TEST_NETNS=1 exec unshare --net -- "$BASH" "$0" "$@"
}

# start_harness: the work folder, and the clean-up at exit (background processes, at_exit, the folder).
start_harness() {
	tmp=$(mktemp -d)
	pids=""
	trap harness_cleanup EXIT
	trap 'echo "FAIL: interrupted"; exit 1' INT TERM
}

harness_cleanup() {
	local p

	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if declare -F at_exit >/dev/null; then
		at_exit
	fi
	rm -rf "$tmp"
}

# read_build_options BUILDDIR: the build's own options, as meson reports them (not as the test's caller says),
# for build_option; fails when meson cannot read them. Call it after start_harness.
read_build_options() {
	meson introspect --buildoptions "$1" >"$tmp/options.json"
}
# build_option NAME: the value of one of them (a boolean as meson writes it: true, false).
build_option() {
	python3 -c 'import json, sys
for o in json.load(sys.stdin):
    if o["name"] == sys.argv[1]:
        print(json.dumps(o["value"]) if isinstance(o["value"], bool) else o["value"])' "$1" <"$tmp/options.json"
}

# staged_install BUILDDIR DEST: meson install of the build into the DESTDIR DEST, said as ok or bad (with
# meson's log); fails when the install did.
staged_install() {
	if meson install -C "$1" --no-rebuild --destdir "$2" >"$tmp/install.log" 2>&1; then
		ok "meson install --destdir"
		return 0
	fi
	bad "meson install --destdir failed:"
	show "$tmp/install.log"
	return 1
}
