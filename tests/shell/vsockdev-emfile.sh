#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev-emfile.sh: vsockdev out of descriptors (issue 12 item 1): under a 7-descriptor limit accept(2) on the
# host side and on the statistics socket fails with EMFILE while clients wait; the daemon must not spin (its
# CPU time under 20% of the wall clock), must say why, and must still stop cleanly. Before: the readable
# listener woke poll(2) at once, over and over (2,890 ms of CPU in 3,141 ms).
# Usage: vsockdev-emfile.sh VSOCKDEV
# Exit: 0 pass, 1 fail, 77 skip (no socat), 99 bad invocation.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 VSOCKDEV" >&2
	exit 99
fi
vsockdev=$(realpath "$1")
command -v socat >/dev/null || { echo "SKIP: socat not found (./do deps installs it)"; exit 77; }

. "$(dirname "$0")/harness.sh"
start_harness

# CPU time (utime + stime) of a process in ms, from /proc/PID/stat (fields after the command's ")").
cpu_ms() {
	local rest
	rest=$(sed 's/.*) //' "/proc/$1/stat")
	set -- $rest
	echo $(((${12} + ${13}) * 1000 / $(getconf CLK_TCK)))
}

# 0-2 stdio, the signalfd, the vhost-user, host-side and statistics sockets: 7 descriptors, none left.
(ulimit -n 7 && exec "$vsockdev" --vm "guest-cid=3,socket=$tmp/vm3.vhost,uds-path=$tmp/vm3.vsock" \
	--stats "$tmp/stats.sock") 2>"$tmp/log" &
daemon=$!
pids="$daemon"
wait_for "$tmp/log" "ready" 5 || { bad "vsockdev did not start"; show "$tmp/log"; verdict; exit; }
# Clients that wait in the backlogs: five on the host side (no CONNECT line), one for the statistics.
for i in 1 2 3 4 5; do
	socat -u "UNIX-CONNECT:$tmp/vm3.vsock" - >/dev/null 2>&1 &
	pids="$pids $!"
done
socat -u "UNIX-CONNECT:$tmp/stats.sock" - >"$tmp/stats.json" 2>/dev/null &
stats_client=$!
pids="$pids $stats_client"
sleep 0.5
cpu0=$(cpu_ms "$daemon")
t0=$(date +%s%N)
sleep 3
cpu=$(($(cpu_ms "$daemon") - cpu0))
wall=$((($(date +%s%N) - t0) / 1000000))
echo "# daemon CPU $cpu ms in $wall ms with EMFILE on its listeners"
if [ $((cpu * 5)) -lt "$wall" ]; then
	ok "no busy loop: $cpu ms of CPU in $wall ms"
else
	bad "vsockdev spins on a listener it cannot accept on: $cpu ms of CPU in $wall ms"
fi
if grep -q "host connection refused: vsockdev is out of file descriptors" "$tmp/log" &&
   grep -q "statistics: cannot take a client: Too many open files; trying again in 250 ms" "$tmp/log"; then
	ok "the log says why"
else
	bad "the log does not say that descriptors ran out"
	show "$tmp/log"
fi
grep -q "the descriptor limit 7 leaves no room for host connections" "$tmp/log" &&
	ok "the start warns about the limit" || bad "no warning about the descriptor limit at start"
for p in $pids; do
	[ "$p" = "$daemon" ] || [ "$p" = "$stats_client" ] || kill "$p" 2>/dev/null
done
kill -TERM "$daemon"
wait "$daemon"
status=$?
[ "$status" = 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $status"
verdict
