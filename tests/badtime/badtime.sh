#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# badtime.sh: captures whose clocks make no sense (issue 12, item 7) through every printer and tool: pcapng
# interfaces with a huge if_tsoffset or a coarse if_tsresol, timestamps near 2^63 and 2^64 units (made by
# mkbadtime.py). No sanitizer report, the "timestamp" problem on exactly the frames out of 1970..2199,
# and sane output: four-digit years, times and durations no longer than the bounds allow.
# Usage: badtime.sh VSOCKDUMP VSOCKTOP VSOCKREPLAY MKBADTIME
# Exit: 0 pass, 1 fail, 99 bad invocation. The vsockreplay part needs root and /dev/net/tun (it runs in a
# network namespace of its own); without them it is left out, saying so.
set -u
if [ $# -ne 4 ]; then
	echo "usage: $0 VSOCKDUMP VSOCKTOP VSOCKREPLAY MKBADTIME" >&2
	exit 99
fi
vd=$(realpath "$1") vt=$(realpath "$2") vr=$(realpath "$3") mk=$(realpath "$4")
. "$(dirname "$0")/../shell/harness.sh"
command -v jq >/dev/null || skip "jq not found: the test reads JSON with it (./do deps installs it)"
replay=0
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && unshare --net true 2>/dev/null; then
	replay=1
	enter_netns jq -- "$vd" "$vt" "$vr" "$mk"
fi
start_harness
python3 "$mk" "$tmp/cap" || { echo "FAIL: $mk did not write the captures"; exit 1; }

# The bound of timestamp.h (2199-12-31T23:59:59Z) and how many frames of each capture lie outside 1970..2199.
max_sec=7258118399
declare -A flagged=([tsoffset-max]=6 [tsoffset-min]=6 [tsoffset-mixed]=3 [tsresol-seconds]=4
		    [tsresol-binary]=6 [ns-near-2p63]=6 [sane]=0)

# clean NAME STDERR_FILE RC: the tool exited 0 and no sanitizer spoke.
clean() {
	if [ "$3" -ne 0 ] || grep -Eq 'runtime error|AddressSanitizer|LeakSanitizer' "$2"; then
		bad "$1: exit status $3, or a sanitizer report:"; show "$2" | head -20
		return 1
	fi
	return 0
}

# hms_ok FILE: every line starts with [-]H:MM:SS.frac, H small enough for times inside the bounds.
hms_ok() {
	awk -v max="$max_sec" '{ t = $1; sub(/^-/, "", t); n = split(t, p, ":")
		if (n != 3 || p[1] !~ /^[0-9]+$/ || p[2] !~ /^[0-5][0-9]$/ || p[3] !~ /^[0-5][0-9]\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ ||
		    p[1] * 3600 > max) { print "bad: " $0; exit 1 } }' "$1"
}

for cap in "$tmp"/cap/*.pcapng; do
	name=$(basename "$cap" .pcapng) w="$tmp/$name"
	want=${flagged[$name]}
	mkdir -p "$w"

	# Text, at each time format and verbosity.
	for fmt in "" -t -tt -ttt -tttt -ttttt -v -vv -vvv; do
		"$vd" -n $fmt -r "$cap" >"$w/out" 2>"$w/err"
		clean "$name: vsockdump $fmt" "$w/err" $? || continue
		case $fmt in
		-t) re='^[0-9]+:[0-9]+ ' ;;	# no time stamp: the addresses come first
		-tt) re='^[0-9]{1,10}\.[0-9]{6} ' ;;
		-tttt) re='^(19[7-9][0-9]|2[01][0-9][0-9])-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6} ' ;;
		-ttt | -ttttt) re='^ *[-+ ]?[0-9]+:[0-5][0-9]:[0-5][0-9]\.[0-9]{6} ' ;;	# tcpdump's shape: a sign column, two-digit hours
		*) re='^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6} ' ;;
		esac
		lines=$(grep -c '' "$w/out") good=$(grep -Ec "$re" "$w/out")
		got=$(grep -c 'problems: [a-z_,]*timestamp' "$w/out")
		if [ "$lines" -ne 6 ] || [ "$good" -ne 6 ] || [ "$got" -ne "$want" ]; then
			bad "$name: vsockdump $fmt: $lines lines, $good with a sane time, $got flagged timestamp (want 6, 6, $want):"
			show "$w/out"
		elif [ "$fmt" = -ttt ] || [ "$fmt" = -ttttt ]; then
			hms_ok "$w/out" >"$w/hms" && ok "$name: vsockdump $fmt" ||
				{ bad "$name: vsockdump $fmt: a duration longer than 1970..2199:"; show "$w/hms"; }
		else
			ok "$name: vsockdump $fmt"
		fi
	done

	# JSON: ts inside the bounds, the problem on the same frames.
	"$vd" --json -r "$cap" >"$w/json" 2>"$w/err"
	if clean "$name: vsockdump --json" "$w/err" $?; then
		got=$(jq -s --argjson max "$max_sec" \
			'[.[] | select(.ts < 0 or .ts >= $max + 1)] | length' "$w/json")
		flagged_n=$(jq -s '[.[] | select(.problems // [] | index("timestamp"))] | length' "$w/json")
		[ "$got" = 0 ] && [ "$flagged_n" = "$want" ] && ok "$name: vsockdump --json" ||
			{ bad "$name: vsockdump --json: $got times out of bounds, $flagged_n flagged (want $want):"; show "$w/json"; }
	fi

	# --flows: the connection's duration is at most the span of the bounds.
	"$vd" --flows --json -r "$cap" >"$w/flows" 2>"$w/err"
	if clean "$name: vsockdump --flows --json" "$w/err" $?; then
		got=$(jq -s --argjson max "$max_sec" '[.[] | select(.duration_ns != null) |
			select(.duration_ns < 0 or .duration_ns > ($max + 1) * 1e9 or .first > $max + 1 or .last > $max + 1)] | length' "$w/flows")
		n=$(jq -s '[.[] | select(.duration_ns != null)] | length' "$w/flows")
		[ "$got" = 0 ] && [ "$n" -ge 1 ] && ok "$name: vsockdump --flows --json ($n connection)" ||
			{ bad "$name: vsockdump --flows --json: $n connections, $got with times out of bounds:"; show "$w/flows"; }
	fi
	"$vd" --flows -r "$cap" >"$w/flows.txt" 2>"$w/err"
	if clean "$name: vsockdump --flows" "$w/err" $?; then
		# Durations print as "N.NNN s": N may not pass the bounds.
		if grep -Eo '[0-9]+\.[0-9]{3} s' "$w/flows.txt" | awk -v max="$max_sec" '$1 > max + 1 { exit 1 }'; then
			ok "$name: vsockdump --flows"
		else
			bad "$name: vsockdump --flows: a duration past the bounds:"; show "$w/flows.txt"
		fi
	fi

	# vsocktop: the batch frames and the JSON snapshots (at the capture's pace, so over the clamped jumps too).
	timeout -s KILL 60 "$vt" -b -d 1 -r "$cap" >"$w/top" 2>"$w/err"
	if clean "$name: vsocktop -b" "$w/err" $?; then
		if grep -Eq '[0-9]{5,}-[0-9]+-[0-9]+' "$w/top"; then
			bad "$name: vsocktop -b shows a date with a year of 5 digits or more:"; show "$w/top" | head
		else
			ok "$name: vsocktop -b"
		fi
	fi
	timeout -s KILL 60 "$vt" --json -d 1 -r "$cap" >"$w/topj" 2>"$w/err"
	if clean "$name: vsocktop --json" "$w/err" $?; then
		if jq -e --argjson max "$max_sec" '.ts < 0 or .ts > $max + 1' "$w/topj" | grep -q true; then
			bad "$name: vsocktop --json: a snapshot time out of bounds:"; show "$w/topj" | head
		else
			ok "$name: vsocktop --json ($(grep -c '' "$w/topj") snapshots)"
		fi
	fi

	# vsockreplay at the recorded pace: clamped times are sent at once, so the replay ends in seconds.
	if [ $replay = 1 ]; then
		timeout -s KILL 30 "$vr" -q -i "vsmbt%d" "$cap" >"$w/replay" 2>"$w/err"
		rc=$?
		if clean "$name: vsockreplay" "$w/err" $rc; then
			ok "$name: vsockreplay"
		fi
	fi
done
[ $replay = 1 ] || echo "note: vsockreplay not run: it needs root, /dev/net/tun and unshare --net"
verdict
