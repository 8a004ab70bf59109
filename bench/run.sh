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
table=$out/raw.tsv
. bench/lib.sh
bench_build
cap=$out/bench-$packets.pcap
bench_capture "$cap" "$packets"
small=$out/bench-100000.pcap
bench_capture "$small" 100000
vd=build-bench/vsockdump/vsockdump

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
# The flow table takes memory as connections come, up to its bound (65,536), then evicts: 3M and 6M
# packets (about 84,000 and 168,000 connections) both fill it, so their peaks show whether memory stops
# there. mkbench writes them into the pipe (no 2 and 4 GB files); its own few MiB count in the peak.
for n in 3000000 6000000; do
	measure "vsockdump --json (${n%000000}M, piped)" bash -c '"$0" "$1" /dev/stdout | "$2" --json -r - >/dev/null' \
		"$out/mkbench" "$n" "$vd"
done

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
	echo "| memory is the flow table's, not the file's: --json peak RSS, 100k / $packets / 3M / 6M packets | $(m 'vsockdump --json (100k)') / $(m 'vsockdump --json') / $(m 'vsockdump --json (3M, piped)') / $(m 'vsockdump --json (6M, piped)') KiB | $(awk "BEGIN{print ($(m 'vsockdump --json (6M, piped)') < $(m 'vsockdump --json (3M, piped)') + 2048) ? \"yes\" : \"no\"}") |"
} | tee "$out/results.md"
