#!/bin/bash
# run-golden.sh: runs a tool on a capture and compares its output with the expected file.
# Usage: run-golden.sh TOOL CAPTURE EXPECTED [OPTIONS...]
# In OPTIONS, @TMP@ becomes a work folder removed at the end (for -w), @TOOLS@ this script's folder
# (for a -z command), and @LIST@ a file naming CAPTURE twice with a blank line between (for -V, which
# then replaces -r CAPTURE). The tool's path is in $GOLDEN_TOOL for the commands it runs.
# With VSM_UPDATE_GOLDEN=1 the output is written to EXPECTED instead; review every change by hand
# (git diff) against tcpdump -v and tshark -V before committing it.
set -u
tool=$1 capture=$2 expected=$3
shift 3
work=$(mktemp -d)
out=$work/.out err=$work/.err
trap 'rm -rf "$work"' EXIT
tools=$(cd "$(dirname "$0")" && pwd)
source=(-r "$capture") opts=()
for a in "$@"; do
	case $a in
	@LIST@)
		printf '%s\n\n%s\n' "$capture" "$capture" >"$work/.list"
		a=$work/.list source=()
		;;
	esac
	a=${a//@TMP@/$work}
	opts+=("${a//@TOOLS@/$tools}")
done
export GOLDEN_TOOL=$tool
TZ=UTC LC_ALL=C "$tool" "${source[@]}" "${opts[@]}" >"$out" 2>"$err"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "FAIL: $tool ${source[*]} ${opts[*]} exited $rc" >&2
	cat "$err" >&2
	exit 1
fi
if [ "${VSM_UPDATE_GOLDEN:-0}" = 1 ]; then
	cp "$out" "$expected"
	echo "updated $expected"
	exit 0
fi
if ! diff -u "$expected" "$out"; then
	echo "FAIL: output of $tool ${source[*]} $* differs from $(basename "$expected")" >&2
	exit 1
fi
exit 0
