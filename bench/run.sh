#!/bin/bash
# run.sh: times vsockdump -r against tcpdump and tshark on the same large capture, in the same run.
# Usage: bench/run.sh [PACKETS]   (default 1000000). Writes bench/out/results.md; see BENCHMARKS.md.
# A benchmark, not a test: it asserts nothing, it measures.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/shell/tshark-builtin.sh
packets=${1:-1000000}
out=bench/out
mkdir -p "$out"
for p in time tcpdump tshark; do
	command -v "$p" >/dev/null || command -v "/usr/bin/$p" >/dev/null || {
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null; }
done
# An optimized build of its own, so that the numbers do not depend on how build/ was configured.
[ -f build-bench/build.ninja ] || meson setup build-bench -Dbuildtype=release -Dtests=disabled >/dev/null
ninja -C build-bench >/dev/null
cc -O2 -std=gnu11 -o "$out/mkbench" bench/mkbench.c
cap=$out/bench-$packets.pcap
[ -f "$cap" ] || "$out/mkbench" "$packets" "$cap"
small=$out/bench-100000.pcap
[ -f "$small" ] || "$out/mkbench" 100000 "$small"
vd=build-bench/vsockdump/vsockdump

table=$out/raw.tsv
. bench/lib.sh

: >"$out/raw.tsv"
cat /dev/null "$cap" >/dev/null   # warm the page cache
measure "vsockdump -n -v" "$vd" -n -v -r "$cap"
measure "tcpdump -nn -v" tcpdump -nn -v -r "$cap"
measure "vsockdump -n" "$vd" -n -r "$cap"
measure "tshark -r" tshark $tshark_builtin_opts -n -r "$cap"
measure "vsockdump --json" "$vd" --json -r "$cap"
measure "tshark -T ek" tshark $tshark_builtin_opts -n -T ek -r "$cap"
measure "vsockdump -n -vvv" "$vd" -n -vvv -r "$cap"
measure "vsockdump --json (100k)" "$vd" --json -r "$small"

{
	machine
	echo "Capture: $cap, $packets packets, $(stat -c %s "$cap") bytes (bench/mkbench.c)"
	echo "Versions: $($vd --version), $(tcpdump --version 2>&1 | head -1), $(tshark --version 2>/dev/null | head -1)"
	echo
	echo "| command (output to /dev/null) | best of 3 (s) | peak RSS (KiB) |"
	echo "|---|---|---|"
	awk -F'\t' '{ printf "| `%s` | %s | %s |\n", $1, $2, $3 }' "$out/raw.tsv"
	echo
	echo "| goal | ratio | goal met |"
	echo "|---|---|---|"
	r=$(ratio "$(t 'tcpdump -nn -v')" "$(t 'vsockdump -n -v')"); echo "| vsockdump -v vs tcpdump -nn -v: at least 1.5x faster | ${r}x | $(awk "BEGIN{print ($r >= 1.5) ? \"yes\" : \"no\"}") |"
	r=$(ratio "$(t 'tshark -r')" "$(t 'vsockdump -n')"); echo "| vsockdump vs tshark: at least 5x faster | ${r}x | $(awk "BEGIN{print ($r >= 5) ? \"yes\" : \"no\"}") |"
	r=$(ratio "$(t 'tshark -T ek')" "$(t 'vsockdump --json')"); echo "| vsockdump --json vs tshark -T ek: at least 20x faster | ${r}x | $(awk "BEGIN{print ($r >= 20) ? \"yes\" : \"no\"}") |"
	echo "| memory does not grow with the file: --json peak RSS, 100k vs $packets packets | $(m 'vsockdump --json (100k)') KiB vs $(m 'vsockdump --json') KiB | $(awk "BEGIN{print ($(m 'vsockdump --json') < 1.2 * $(m 'vsockdump --json (100k)') + 2048) ? \"yes\" : \"no\"}") |"
} | tee "$out/results.md"
