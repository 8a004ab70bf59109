#!/bin/bash
# run-dissector.sh: tshark with the vsockmon plugin against tshark with Wireshark's built-in vsock dissector,
# on the same captures, in the same run: time and peak memory.
# Usage: bench/run-dissector.sh [PACKETS]   (default 1000000). Writes bench/out/dissector.md; see BENCHMARKS.md.
# A benchmark, not a test: it asserts nothing, it measures.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
out=bench/out
mkdir -p "$out"
command -v tshark >/dev/null || { echo "run-dissector: tshark is missing (./do deps)" >&2; exit 1; }
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null
# An optimized build of its own (with the plugin), so that the numbers do not depend on how build/ was configured.
table=$out/dissector.tsv
. bench/lib.sh
bench_build -Ddissector=enabled
cap=$out/bench-$packets.pcap
bench_capture "$cap" "$packets"
small=$out/bench-100000.pcap
bench_capture "$small" 100000

# The plugin from build-bench and no other copy (dissector/plugin-tshark.sh, as the tests do): tshark as
# nobody when run as root, since Wireshark ignores WIRESHARK_PLUGIN_DIR with special privileges.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. dissector/plugin-tshark.sh
plugin_tshark_prepare "$work/with" build-bench/dissector/vsockmon.so
plugin_tshark_prepare "$work/none"
cp "$cap" "$small" "$work/"
chmod -R a+rX "$work"
# ts NAME DIR TSHARK_ARGS...: measures tshark with DIR's plugins only (plugin_tshark_prepare).
ts() {
	local name=$1 dir=$2
	shift 2
	plugin_tshark_command "$dir"
	measure "$name" "${PLUGIN_TSHARK[@]}" "$@"
}

big=$(basename "$cap")
little=$(basename "$small")
: >"$table"
cat "$cap" >/dev/null   # warm the page cache
ts "built-in: tshark -n -r (100k)" "$work/none" -n -r "$work/$little"
ts "vsockmon: tshark -n -r (100k)" "$work/with" -n -r "$work/$little"
ts "built-in: tshark -n -r" "$work/none" -n -r "$work/$big"
ts "vsockmon: tshark -n -r" "$work/with" -n -r "$work/$big"
ts "vsockmon: tshark -2 -n -r" "$work/with" -2 -n -r "$work/$big"
ts "vsockmon: tshark -2 -Y window_full" "$work/with" -2 -n -r "$work/$big" -Y vsockmon.analysis.window_full
ts "built-in: tshark -T fields" "$work/none" -n -r "$work/$big" -T fields -e vsock.virtio.op -e vsock.virtio.buf_alloc
ts "vsockmon: tshark -T fields" "$work/with" -n -r "$work/$big" -T fields -e vsockmon.op -e vsockmon.buf_alloc

{
	machine
	echo "Capture: $cap, $packets packets, $(stat -c %s "$cap") bytes (bench/mkbench.c)"
	echo "Versions: $(tshark --version 2>/dev/null | head -1)"
	echo
	echo "| tshark (output to /dev/null) | best of 3 (s) | peak RSS (KiB) |"
	echo "|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }' "$out/dissector.tsv"
	echo
	echo "| vsockmon / built-in | time | memory |"
	echo "|---|---|---|"
	echo "| tshark -n -r, $packets packets | $(ratio "$(t 'vsockmon: tshark -n -r')" "$(t 'built-in: tshark -n -r')") | $(ratio "$(m 'vsockmon: tshark -n -r')" "$(m 'built-in: tshark -n -r')") |"
	echo "| tshark -n -r, 100,000 packets | $(ratio "$(t 'vsockmon: tshark -n -r (100k)')" "$(t 'built-in: tshark -n -r (100k)')") | $(ratio "$(m 'vsockmon: tshark -n -r (100k)')" "$(m 'built-in: tshark -n -r (100k)')") |"
	echo "| tshark -T fields, $packets packets | $(ratio "$(t 'vsockmon: tshark -T fields')" "$(t 'built-in: tshark -T fields')") | $(ratio "$(m 'vsockmon: tshark -T fields')" "$(m 'built-in: tshark -T fields')") |"
} | tee "$out/dissector.md"
