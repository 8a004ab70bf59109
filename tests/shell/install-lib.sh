#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# install-lib.sh: `meson install` into a DESTDIR writes nothing outside the configured prefix (the Wireshark
# plugin included); the installed libvsockmon serves a program built outside the build tree with nothing but
# `pkg-config --cflags --libs vsockmon`: vsockmon(3)'s example (examples/stalls.c, the same text as the man
# page's), run on real kernel captures, prints the stalls vsockdump --flows --json reports; and the shared
# library exports exactly what the installed headers declare.
# Usage: install-lib.sh BUILDDIR VSOCKDUMP CAPTURE...   (the first capture must show stalls)
# Exit: 0 pass, 1 fail, 77 skip (no meson, cc, pkg-config, jq, nm or python3), 99 bad invocation.
set -u

if [ $# -lt 3 ]; then
	echo "usage: $0 BUILDDIR VSOCKDUMP CAPTURE..." >&2
	exit 99
fi
build=$(realpath "$1") vsockdump=$(realpath "$2")
shift 2
src=${SRCDIR:?SRCDIR names the source tree}

. "$(dirname "$0")/harness.sh"
for t in meson cc pkg-config jq nm python3; do
	command -v $t >/dev/null || skip "$t not found: the test needs it (./do deps installs it)"
done
start_harness

read_build_options "$build" || { bad "meson introspect --buildoptions $build"; verdict; exit; }
prefix=$(build_option prefix) libdir=$(build_option libdir) includedir=$(build_option includedir)
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
case $includedir in /*) ;; *) includedir=$prefix/$includedir ;; esac

dest=$tmp/dest
staged_install "$build" "$dest" || { verdict; exit; }

# Nothing outside the prefix: a DESTDIR install lays out absolute paths under $dest as they are. Only a folder
# the configuration names on purpose may lie elsewhere (-Dwireshark-plugindir, -Dsystemdunitdir, -Dsysusersdir).
(cd "$dest" && find . ! -type d | sed 's|^\.||') | sort >"$tmp/installed"
chosen=()
for o in systemdunitdir sysusersdir wireshark-plugindir; do
	dir=$(build_option $o)
	[ "$dir" = pkg-config ] && [ $o = wireshark-plugindir ] && dir=$(pkg-config --variable=plugindir wireshark)/epan
	case $dir in /*) chosen+=("$dir/"); echo "# -D$o=$(build_option $o): $dir may lie outside the prefix" ;; esac
done
grep -v "^$prefix/" "$tmp/installed" | while read -r f; do
	for dir in "${chosen[@]}"; do
		case $f in "$dir"*) continue 2 ;; esac
	done
	echo "$f"
done >"$tmp/outside"
if [ -s "$tmp/outside" ]; then
	bad "meson install writes outside the prefix $prefix:"
	show "$tmp/outside"
else
	ok "all $(wc -l <"$tmp/installed") installed files are under $prefix${chosen:+ or the folders chosen}"
fi
# The Wireshark plugin, when built, in PREFIX/LIBDIR/wireshark/plugins/X.Y/epan (unless -Dwireshark-plugindir says else).
plugin=$(grep '/vsockmon\.so$' "$tmp/installed")
if [ -z "$plugin" ]; then
	echo "# the Wireshark plugin is not built here (-Ddissector): its folder is not checked"
elif [ -n "$(build_option wireshark-plugindir)" ]; then
	echo "# -Dwireshark-plugindir=$(build_option wireshark-plugindir): the plugin went to $plugin"
elif [[ $plugin =~ ^$libdir/wireshark/plugins/[0-9]+\.[0-9]+/epan/vsockmon\.so$ ]]; then
	ok "the Wireshark plugin is installed as $plugin"
else
	bad "the Wireshark plugin is installed as $plugin, not in $libdir/wireshark/plugins/X.Y/epan"
fi

# The headers: every public header of the source tree, the generated version.h, and the .def tables.
for h in "$src"/vsockmon/include/vsockmon/*.h "$src"/vsockmon/include/vsockmon/*.def version.h; do
	[ -f "$dest$includedir/vsockmon/$(basename "$h")" ] || bad "$includedir/vsockmon/$(basename "$h") is not installed"
done
version=$(meson introspect --projectinfo "$build" | jq -r .version)
if grep -q "^#define VSM_VERSION \"$version\"$" "$dest$includedir/vsockmon/version.h"; then
	ok "version.h says $version, project()'s version"
else
	bad "version.h does not say VSM_VERSION \"$version\":"
	show "$dest$includedir/vsockmon/version.h"
fi

# Build the example outside the build tree, as another program would: pkg-config finds the staged
# vsockmon.pc, and the sysroot puts its -I and -L under the DESTDIR.
export PKG_CONFIG_PATH=$dest$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
if ! flags=$(pkg-config --cflags --libs vsockmon 2>"$tmp/pc.err"); then
	bad "pkg-config --cflags --libs vsockmon:"
	show "$tmp/pc.err"
	verdict
	exit
fi
ok "pkg-config --cflags --libs vsockmon: $flags"
mkdir "$tmp/prog"
cp "$src/examples/stalls.c" "$tmp/prog/"
cflags=(-Wall -Wextra)
[ "$(build_option werror)" = true ] && cflags+=(-Werror)
# A library built with the sanitizers needs their run time in the program too.
[ "$(build_option sanitizers)" = true ] && cflags+=(-fsanitize=address,undefined)
# shellcheck disable=SC2086 # pkg-config's flags are words
if (cd "$tmp/prog" && cc "${cflags[@]}" stalls.c $flags -o stalls) >"$tmp/cc.log" 2>&1; then
	ok "examples/stalls.c builds with cc ${cflags[*]} \$(pkg-config --cflags --libs vsockmon)"
else
	bad "examples/stalls.c does not build against the installed library:"
	show "$tmp/cc.log"
	verdict
	exit
fi
export LD_LIBRARY_PATH=$dest$libdir
lib=$(ldd "$tmp/prog/stalls" | awk '/libvsockmon/ { print $3 }')
case $lib in
"$dest$libdir"/*) ok "the program loads the installed $(basename "$lib")" ;;
*) bad "the program loads libvsockmon from '$lib', not from the installed $libdir" ;;
esac

# Its stalls against vsockdump's: per flow, in the order of first sight, each direction with stalls.
first=1
for cap in "$@"; do
	name=$(basename "$cap")
	if ! "$tmp/prog/stalls" "$cap" >"$tmp/got" 2>"$tmp/got.err"; then
		bad "stalls $name failed:"
		show "$tmp/got.err"
		continue
	fi
	"$vsockdump" --flows --json -r "$cap" | jq -r 'select(.kind == "flow") | . as $f |
		(["a_to_b", "a", "b"], ["b_to_a", "b", "a"]) as [$dir, $from, $to] | $f[$dir] | select(.stalls > 0) |
		"\($f[$from + "_cid"]):\($f[$from + "_port"]) > \($f[$to + "_cid"]):\($f[$to + "_port"]): \(.stalls) stalls, \(.stall_ns) ns in all, the longest \(.stall_max_ns) ns"' \
		>"$tmp/want"
	if [ $first = 1 ] && [ ! -s "$tmp/want" ]; then
		bad "vsockdump finds no stall in $name: the comparison would prove nothing"
	fi
	first=0
	if diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
		ok "stalls $name: the $(wc -l <"$tmp/got") stalled senders vsockdump --flows --json reports"
	else
		bad "stalls $name differs from vsockdump --flows --json (- vsockdump, + stalls):"
		show "$tmp/diff"
	fi
done

# vsockmon(3)'s example is this file, word for word.
man=$src/man/vsockmon.3.scd
sed -n '/^```$/,/^```$/p' "$man" | sed '1d;$d' >"$tmp/man-example.c"
if diff -u "$src/examples/stalls.c" "$tmp/man-example.c" >"$tmp/diff"; then
	ok "vsockmon(3)'s example is examples/stalls.c"
else
	bad "vsockmon(3)'s example and examples/stalls.c differ (- file, + man page):"
	show "$tmp/diff"
fi

# The exports against the installed headers: every defined dynamic symbol is a function or variable they
# declare, and every function they declare (static inline ones aside) is exported.
so=$(ls "$dest$libdir"/libvsockmon.so.*.*.* 2>/dev/null | head -1)
[ -n "$so" ] || { bad "no libvsockmon.so.X.Y.Z in $libdir"; verdict; exit; }
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -e "$dest$libdir/$soname" ] && ok "soname $soname" || bad "no $libdir/$soname for the soname '$soname'"
nm -D --defined-only "$so" | awk '{ print $3 }' | sort -u >"$tmp/exported"
echo '#include <vsockmon/vsockmon.h>' >"$tmp/all.c"
# shellcheck disable=SC2086
if ! cc -fsyntax-only -aux-info "$tmp/aux" $(pkg-config --cflags vsockmon) "$tmp/all.c" 2>"$tmp/aux.err"; then
	bad "the installed <vsockmon/vsockmon.h> does not compile alone:"
	show "$tmp/aux.err"
fi
{
	grep -F "$includedir/vsockmon/" "$tmp/aux" | grep ' extern ' | sed 's/ (.*//; s/.*[ *]//'
	cat "$dest$includedir"/vsockmon/*.h | sed -n 's/^extern .*[ *]\(vsm_[a-z0-9_]*\) *[[;].*/\1/p'
} | sort -u >"$tmp/declared"
comm -23 "$tmp/exported" "$tmp/declared" >"$tmp/extra"
comm -13 "$tmp/exported" "$tmp/declared" >"$tmp/missing"
if [ -s "$tmp/extra" ]; then
	bad "libvsockmon exports symbols no installed header declares (declare them, or list them as local: in vsockmon/vsockmon.map):"
	show "$tmp/extra"
fi
if [ -s "$tmp/missing" ]; then
	bad "functions the installed headers declare are not exported (vsockmon/vsockmon.map):"
	show "$tmp/missing"
fi
[ -s "$tmp/extra" ] || [ -s "$tmp/missing" ] ||
	ok "libvsockmon exports the $(wc -l <"$tmp/exported") symbols the installed headers declare, and nothing else"
verdict
