#!/bin/bash
# run-vsockdev.sh: vsockdev's throughput each way and 1-byte round trips through real virtqueues, against a bare
# Unix socketpair in the same run; taps off, to pcap, to an interface nobody captures. Measures; asserts nothing.
# Usage: bench/run-vsockdev.sh [MIB]   (default 1024 MiB per stream measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
out=bench/out
mkdir -p "$out"
. bench/lib.sh
bench_build
vb=build-bench/bench/vsockdev-bench dev=build-bench/transport/vsockdev
: >"$out/vsockdev.txt"
run() { "$@" | tee -a "$out/vsockdev.txt"; }
# Linux guests post 4 KiB RX buffers (4096 + 44 bytes): a 64 KiB packet goes in 16 of them.
run "$vb" "$dev" --tap none --mib "$mib"
run "$vb" "$dev" --tap none --mib "$mib" --rx-buf 65580
run "$vb" "$dev" --tap pcap:/dev/null --mib "$mib"
run "$vb" "$dev" --tap pcap:/dev/shm/vsockdev-bench.pcap --mib "$((mib / 8))" --reps 3
if [ "$(id -u)" = 0 ]; then
	run unshare -n "$vb" "$dev" --tap iface:vsmbench0 --mib "$mib"
fi
rm -f /dev/shm/vsockdev-bench.pcap
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
