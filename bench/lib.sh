# lib.sh: what the bench scripts share, sourced after they set $out (their output folder) and, to
# measure, $table (the file their measurements go to): the optimized build, the generated captures,
# best-of-3 timing with peak memory, lookups, the machine line.

# bench_build [MESON-OPTION...]: build-bench, an optimized build of its own (so that the figures do not
# depend on how build/ was configured), with these options besides; its errors shown when it fails.
bench_build() {
	local opts=(-Dbuildtype=release -Dtests=disabled "$@")

	if [ -f build-bench/build.ninja ]; then
		meson setup --reconfigure build-bench "${opts[@]}" >/dev/null
	else
		meson setup build-bench "${opts[@]}" >/dev/null
	fi
	ninja -C build-bench >/dev/null || { ninja -C build-bench; exit 1; }
}

# bench_capture FILE PACKETS [SEED [LIVE [GAP_US]]]: FILE, written by bench/mkbench.c ($out/mkbench)
# unless it is there already (the same arguments give the same capture).
bench_capture() {
	local file=$1 packets=$2
	shift 2
	[ "$out/mkbench" -nt bench/mkbench.c ] || cc -O2 -std=gnu11 -o "$out/mkbench" bench/mkbench.c
	[ -f "$file" ] || "$out/mkbench" "$packets" "$file" "$@"
}

# measure NAME CMD...: best wall time of 3 runs (the file is in the page cache after the first) and
# the peak resident memory, output to /dev/null; one line NAME<TAB>SECONDS<TAB>KIB appended to $table.
# CMD is executed, not a shell function: wrappers go in as commands (env, setpriv).
measure() {
	local name=$1 best="" rss=0 i t m
	shift
	for i in 1 2 3; do
		/usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" || {
			echo "$name failed:"; cat "$out/stderr.txt"; exit 1; }
		read -r t m <"$out/time.txt"
		if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
		rss=$m
	done
	printf '%s\t%s\t%s\n' "$name" "$best" "$rss" | tee -a "$table"
}

# t NAME, m NAME: the seconds and the KiB measured for NAME; ratio A B: A / B.
t() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$table"; }
m() { awk -F'\t' -v n="$1" '$1 == n { print $3 }' "$table"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }

machine() {
	echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
}
