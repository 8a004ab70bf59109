#!/bin/bash
# run-vsocktop.sh: the CPU vsocktop uses, interactive in a terminal (tmux), refreshing every second while
# a capture with about 10,000 open connections is replayed at its recorded pace; and the flow analysis's
# ingest rate and memory (flows-bench). Measures; asserts nothing. Usage: bench/run-vsocktop.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
out=bench/out
mkdir -p "$out"
. bench/lib.sh
bench_build
cap=$out/conns-10k.pcap
# 400,000 packets over 40 s among 10,000 live connections (a packet every 100 us on average)
bench_capture "$cap" 400000 7 10000 100
bench_capture "$out/bench-1000000.pcap" 1000000
build-bench/bench/flows-bench ingest "$out/bench-1000000.pcap" 3
build-bench/bench/flows-bench memory 100000
sock=$out/tmux.sock
tmux -S "$sock" kill-server 2>/dev/null || true
tmux -S "$sock" new-session -d -x 200 -y 50 "build-bench/vsocktop/vsocktop -d 1 -r $cap; sleep 1"
sleep 5	# past the start: the table holds its thousands of connections
pid=$(pgrep -x vsocktop | head -1)
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
t0=$(ticks) w0=$(date +%s.%N)
sleep "$secs"
t1=$(ticks) w1=$(date +%s.%N)
shown=$(tmux -S "$sock" capture-pane -p | sed -n 's/.*Connections: \([0-9]*\) seen, \([0-9]*\) held, \([0-9]*\) open.*/\1 seen, \2 held, \3 open/p' | head -1)
tmux -S "$sock" send-keys q
hz=$(getconf CLK_TCK)
awk -v a="$t0" -v b="$t1" -v hz="$hz" -v w0="$w0" -v w1="$w1" -v s="$shown" \
	'BEGIN { printf "vsocktop interactive, 1 s refresh, 200x50 terminal: %.1f%% of a core over %.1f s (connections: %s)\n", (b - a) / hz / (w1 - w0) * 100, w1 - w0, s }'
tmux -S "$sock" kill-server 2>/dev/null || true
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
