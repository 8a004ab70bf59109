#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# stop-signals.sh: runs that could last forever end, and signals end them: vsocktop's capture-time frames
# over a capture that jumps to 2038 (batch, JSON and quiet modes) are few and quick, SIGINT ends a long one,
# and SIGTERM or SIGINT end vsockdump -r and vsocktop -r on a FIFO with no writer, or one whose writer is silent,
# with status 0 as vsockdump(1) and vsocktop(1) say in SIGNALS.
# Usage: stop-signals.sh VSOCKTOP VSOCKDUMP MKPCAP
# Exit: 0 pass, 1 fail, 99 bad invocation.
set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 VSOCKTOP VSOCKDUMP MKPCAP" >&2
	exit 99
fi
top=$(realpath "$1") dump=$(realpath "$2") mkpcap=$(realpath "$3")

. "$(dirname "$0")/harness.sh"
start_harness

# Three packets of a connection at t=1 s, then one dated 2038-01-19 (2^31 - 8 s since the epoch).
cat >"$tmp/jump.pkt" <<'PKT'
1.000000 3:1234 > 2:5000 request buf_alloc=65536
1.100000 2:5000 > 3:1234 response buf_alloc=65536
1.200000 3:1234 > 2:5000 rw payload=100 buf_alloc=65536
2147483640.000000 3:1234 > 2:5000 rw payload=10 buf_alloc=65536
PKT
"$mkpcap" "$tmp/jump.pkt" "$tmp/jump.pcap" || { echo "FAIL: mkpcap"; exit 1; }

# finish SECONDS PID: waits up to SECONDS for PID to end; its status in $status, or kills it (status 999).
finish() {
	local i
	for ((i = 0; i < $1 * 20; i++)); do
		if ! kill -0 "$2" 2>/dev/null; then
			wait "$2"
			status=$?
			return 0
		fi
		sleep 0.05
	done
	kill -KILL "$2" 2>/dev/null
	wait "$2" 2>/dev/null
	status=999
	return 1
}

# 1. The time jump: 68 years of 1-second frames would be 2.1 billion frames; an idle gap is at most
# 10 frames and one for the rest (vsocktop(1), -d).
for mode in "-b" "--json" "-q"; do
	# At most 4 MB of it kept: unfixed, the frames come at 50 MB/s (head's going away ends them, uncounted).
	rm -f "$tmp/out"
	"$top" $mode -d 1 -r "$tmp/jump.pcap" > >(head -c 4000000 >"$tmp/out") 2>"$tmp/err" &
	pid=$!
	start=$(date +%s%N)
	finish 10 "$pid"
	ms=$((($(date +%s%N) - start) / 1000000))
	sleep 0.2	# head writing its last
	size=$(stat -c %s "$tmp/out")
	case $mode in
	-b) frames=$(grep -c '^vsocktop' "$tmp/out") ;;
	--json) frames=$(grep -c '"kind":"snapshot"' "$tmp/out") ;;
	-q) frames=0 ;;
	esac
	[ "$mode" = --json ] && cp "$tmp/out" "$tmp/json"
	if [ "$status" = 0 ] && [ "$frames" -le 20 ] && { [ "$mode" = -q ] || [ "$frames" -ge 2 ]; }; then
		ok "vsocktop $mode -d 1 over a jump to 2038: $frames frames, $size bytes, ${ms} ms"
	else
		bad "vsocktop $mode -d 1 over a jump to 2038: status $status (999: still running after 10 s), $frames frames, $size bytes"
		show "$tmp/err"
	fi
done
# The frames of the JSON run: the first with the connection's packets, the last the capture's end in 2038.
if head -1 "$tmp/json" | grep -q '"ts":2\.000000000' && tail -1 "$tmp/json" | grep -q '"ts":2147483640\.' &&
   tail -1 "$tmp/json" | grep -q '"end":true'; then
	ok "the JSON frames run from t=2 to the capture's end in 2038"
else
	bad "the JSON frames' times"
	head -3 "$tmp/json" | cut -c1-200 | show
fi

# 2. SIGINT after 1 s ends a long run: 1 ms frames over the jump (2 * 10^12 of them unfixed), read by wc.
"$top" --json -d 0.001 -r "$tmp/jump.pcap" > >(wc -l >"$tmp/count") 2>"$tmp/err" &
pid=$!
sleep 1
kill -INT "$pid" 2>/dev/null
finish 3 "$pid"
if [ "$status" = 0 ]; then
	ok "vsocktop --json -d 0.001 over the jump: ended with status 0 within 1 s + 3 s of SIGINT"
else
	bad "vsocktop --json -d 0.001 over the jump: status $status (999: still running 3 s after SIGINT)"
	show "$tmp/err"
fi

# 3. A FIFO with no writer: the open waits; SIGTERM (and SIGINT) end it with status 0, within 5 s.
# Then a FIFO whose writer wrote the file header and a packet, and is silent: the read waits.
mkfifo "$tmp/fifo"
head -c 24 "$tmp/jump.pcap" >"$tmp/header"
for tool in vsockdump vsocktop; do
	for sig in TERM INT; do
		for writer in none silent; do
			case $tool in
			vsockdump) cmd=("$dump" -r "$tmp/fifo") ;;
			vsocktop) cmd=("$top" -b -r "$tmp/fifo") ;;
			esac
			exec 3>&-
			if [ "$writer" = silent ]; then
				# A read-write open does not wait, and keeps a writer that never writes more.
				exec 3<>"$tmp/fifo"
				cat "$tmp/header" >&3
			fi
			"${cmd[@]}" >"$tmp/out" 2>"$tmp/err" &
			pid=$!
			# Until it handles SIGINT and SIGTERM (blocked for its signalfd, or caught): a signal before
			# that ends it by the default action (143), as it would end tcpdump; on a loaded machine
			# (or under ASan) starting can take more than the second this waited before.
			for _ in $(seq 200); do
				masks=$(awk '/^Sig(Blk|Cgt):/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
				handled=0
				for m in $masks; do
					[ $(( 0x$m & 0x4002 )) = $(( 0x4002 )) ] && handled=1
				done
				[ $handled = 1 ] && break
				sleep 0.05
			done
			sleep 0.3	# past the handler's set-up, into the open or the read
			if ! kill -0 "$pid" 2>/dev/null; then
				wait "$pid"
				bad "$tool -r FIFO (writer: $writer) ended by itself with status $? before the signal"
				show "$tmp/err"
				continue
			fi
			kill -"$sig" "$pid"
			finish 5 "$pid"
			exec 3>&-
			if [ "$status" = 0 ]; then
				ok "$tool -r FIFO (writer: $writer): SIG$sig ends it with status 0 within 5 s"
			else
				bad "$tool -r FIFO (writer: $writer): SIG$sig gave status $status (999: still running after 5 s)"
				show "$tmp/err"
			fi
		done
	done
done

verdict
