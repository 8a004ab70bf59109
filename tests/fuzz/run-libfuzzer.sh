#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-libfuzzer.sh: runs a libFuzzer target for a bounded time from the seed corpus, which it never writes:
# new inputs go to WORK (kept across runs, so coverage accumulates), crashes to WORK/crash-*.
# Usage: run-libfuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS
# Exit: 0 no finding; 1 a finding, with the fuzzer's status, the input that failed and how to replay it.
set -u
if [ $# -ne 4 ]; then
	echo "usage: $0 FUZZER SEED_DIR WORK_DIR SECONDS" >&2
	exit 99
fi
fuzzer=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work/corpus"
# -timeout: one input may take a second at most; -rss_limit_mb: ASan's quarantine included.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" "$seeds" >"$work/log" 2>&1
rc=$?
grep -E '^(INFO: Loaded|#[0-9]+ +(INITED|DONE))|^stat::' "$work/log"
if [ $rc -ne 0 ]; then
	echo "FAIL: the fuzzer stopped with status $rc:"
	grep -vE '^#[0-9]+ +(NEW|REDUCE|pulse)' "$work/log" | tail -40
	ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null |
		sed 's/^/replay: FUZZ_TRACE=1 '"${fuzzer//\//\\/}"' /'
	# Any finding fails the test: the fuzzer's own status may be 77, which meson would take for a skip.
	exit 1
fi
exit 0
