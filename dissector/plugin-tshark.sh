# plugin-tshark.sh: runs tshark with one given vsockmon.so and no other copy of it (sourced by ./do demo and the dissector tests).
#   plugin_tshark_prepare DIR PLUGIN [WS_VERSION]   lays out DIR: the plugin folder, an empty HOME
#   plugin_tshark DIR TSHARK-ARGS...                 runs tshark in DIR with that plugin
# WIRESHARK_PLUGIN_DIR stands for the global plugin folder (where `meson install` may have put an older
# vsockmon.so) and HOME is an empty folder (no personal plugins). Wireshark honours WIRESHARK_PLUGIN_DIR
# only without special privileges, and root counts as privileged (wsutil's started_with_special_privs()):
# as root, tshark runs as nobody, so whatever it reads must be readable by nobody.
# VSM_TSHARK_PRELOAD, when set, names the ASan/UBSan runtimes a sanitized plugin needs loaded first.

plugin_tshark_prepare() {
	local dir=$1 plugin=$2 version=${3:-}

	if [ -z "$version" ]; then
		# "TShark (Wireshark) 4.0.17 (...)": plugins live in a folder named by major.minor.
		version=$(tshark --version 2>/dev/null | sed -n '1s/^TShark (Wireshark) \([0-9]*\.[0-9]*\).*/\1/p')
	fi
	mkdir -p "$dir/plugins/$version/epan" "$dir/home"
	cp "$plugin" "$dir/plugins/$version/epan/vsockmon.so"
	chmod -R a+rX "$dir"
}

plugin_tshark() {
	local dir=$1
	shift
	local env=(HOME="$dir/home" WIRESHARK_PLUGIN_DIR="$dir/plugins" LC_ALL=C TZ=UTC)

	if [ -n "${VSM_TSHARK_PRELOAD:-}" ]; then
		env+=(LD_PRELOAD="$VSM_TSHARK_PRELOAD" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
		      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
	fi
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$dir" && env "${env[@]}" setpriv --reuid=nobody --regid=nogroup --clear-groups tshark "$@")
	else
		(cd "$dir" && env "${env[@]}" tshark "$@")
	fi
}
