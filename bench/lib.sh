# lib.sh: what the bench scripts share, sourced after they set $out (their output folder) and $table
# (the file their measurements go to): best-of-3 timing with peak memory, lookups, the machine line.

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
