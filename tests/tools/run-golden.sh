#!/bin/sh
# run-golden.sh: runs a tool on a capture and compares its output with the expected file.
# Usage: run-golden.sh TOOL CAPTURE EXPECTED [OPTIONS...]
# With VSM_UPDATE_GOLDEN=1 the output is written to EXPECTED instead; review every change by hand
# (git diff) against tcpdump -v and tshark -V before committing it.
set -u
tool=$1 capture=$2 expected=$3
shift 3
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
TZ=UTC LC_ALL=C "$tool" -r "$capture" "$@" >"$out" 2>"$err"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "FAIL: $tool -r $capture $* exited $rc" >&2
	cat "$err" >&2
	exit 1
fi
if [ "${VSM_UPDATE_GOLDEN:-0}" = 1 ]; then
	cp "$out" "$expected"
	echo "updated $expected"
	exit 0
fi
if ! diff -u "$expected" "$out"; then
	echo "FAIL: output of $tool -r $(basename "$capture") $* differs from $(basename "$expected")" >&2
	exit 1
fi
exit 0
