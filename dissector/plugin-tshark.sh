# plugin-tshark.sh: runs tshark with one given vsockmon.so and no other copy of it (sourced by ./do demo, the dissector tests and bench/run-dissector.sh).
#   plugin_tshark_prepare DIR [PLUGIN [WS_VERSION]]  lays out DIR: a plugin folder (holding PLUGIN, or
#                                                    nothing: Wireshark's built-in dissectors only), an empty HOME
#   plugin_tshark_command DIR                        sets the array PLUGIN_TSHARK to the command that runs it
#   plugin_tshark DIR TSHARK-ARGS...                 runs that command in DIR
# WIRESHARK_PLUGIN_DIR stands for the global plugin folder (where `meson install` may have put an older
# vsockmon.so) and HOME is an empty folder (no personal plugins). Wireshark honours WIRESHARK_PLUGIN_DIR
# only without special privileges, and root counts as privileged (wsutil's started_with_special_privs()):
# as root, tshark runs as nobody, so whatever it reads must be readable by nobody.
# VSM_TSHARK_PRELOAD, when set, names the ASan/UBSan runtimes a sanitized plugin needs loaded first.

plugin_tshark_prepare() {
	local dir=$1 plugin=${2:-} version=${3:-}

	if [ -z "$version" ]; then
		# "TShark (Wireshark) 4.0.17 (...)": plugins live in a folder named by major.minor.
		version=$(tshark --version 2>/dev/null | sed -n '1s/^TShark (Wireshark) \([0-9]*\.[0-9]*\).*/\1/p')
	fi
	mkdir -p "$dir/plugins/$version/epan" "$dir/home"
	if [ -n "$plugin" ]; then
		cp "$plugin" "$dir/plugins/$version/epan/vsockmon.so"
	fi
	chmod -R a+rX "$dir"
}

plugin_tshark_command() {
	local dir=$1

	PLUGIN_TSHARK=(env HOME="$dir/home" WIRESHARK_PLUGIN_DIR="$dir/plugins" LC_ALL=C TZ=UTC)
	if [ -n "${VSM_TSHARK_PRELOAD:-}" ]; then
		PLUGIN_TSHARK+=(LD_PRELOAD="$VSM_TSHARK_PRELOAD" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
				UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
	fi
	if [ "$(id -u)" -eq 0 ]; then
		PLUGIN_TSHARK=(setpriv --reuid=nobody --regid=nogroup --clear-groups "${PLUGIN_TSHARK[@]}")
	fi
	PLUGIN_TSHARK+=(tshark)
}

plugin_tshark() {
	local dir=$1
	shift
	plugin_tshark_command "$dir"
	(cd "$dir" && "${PLUGIN_TSHARK[@]}" "$@")
}
