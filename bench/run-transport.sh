#!/bin/bash
# run-transport.sh: engine throughput and 1-byte round trips against the bare socketpair, with taps off,
# to a pcap file and to an interface nobody captures (in a private network namespace). Measures; asserts nothing.
# Usage: bench/run-transport.sh [MIB]   (default 1024 MiB per stream measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
out=bench/out
mkdir -p "$out"
. bench/lib.sh
bench_build
eb=build-bench/bench/engine-bench
: >"$out/transport.txt"
run() { "$@" | tee -a "$out/transport.txt"; }
# Each line: medians of 5 alternating runs of the bare socketpair and the engine.
run "$eb" --tap none --mib "$mib"
run "$eb" --tap "pcap:/dev/null" --mib "$mib"
run "$eb" --tap "pcap:/dev/shm/vsm-bench.pcap" --mib "$((mib / 8))" --reps 3
if [ "$(id -u)" = 0 ]; then
	run unshare -n "$eb" --tap "iface:vsmbench0" --mib "$mib"
fi
rm -f /dev/shm/vsm-bench.pcap
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
