#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsocktop-tmux-trouble.sh: what a user came to see is on the first screen (issue 13): at 80x24, 60x20 and
# 200x50 on a capture with a stall to the end, the header shows the stalled, refused, reset and problem
# counts, the stalled connection is the first row under the default sort, the key bar keeps help and quit,
# and q quits; on 105 connections, the key bar says which rows are shown, and a new sort or filter shows the
# top with the first row selected; F2 hides a column, F5 shows the tree, a click on a title sorts and on a
# row selects it, the rc file is written on quit and read back (--no-rc ignores it, a malformed one warns);
# an empty capture shows no 1970 date.
# Usage: vsocktop-tmux-trouble.sh VSOCKTOP GUESTS MANY   (GUESTS: the golden top-guests.pcap, MANY:
# kernel-many-conns.pcap)
# Exit: 0 pass, 1 fail, 77 skip (tmux missing), 99 bad invocation.
set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 VSOCKTOP GUESTS MANY" >&2
	exit 99
fi
top=$(realpath "$1") guests=$(realpath "$2") many=$(realpath "$3")
command -v tmux >/dev/null || { echo "SKIP: tmux not found (apt-get install tmux)"; exit 77; }

. "$(dirname "$0")/harness.sh"
start_harness
. "$(dirname "$0")/tmux-lib.sh"
quits() {
	local s=$1 i
	keys "$s" q
	for i in $(seq 60); do [ -s "$tmp/exit-$s" ] && break; sleep 0.05; done
	[ "$(cat "$tmp/exit-$s" 2>/dev/null)" = "exit=0" ] && ok "$s: q quits, exit status 0" ||
		bad "$s: after q: '$(cat "$tmp/exit-$s" 2>/dev/null)'"
}
start() {	# start SESSION WIDTH HEIGHT CAPTURE [OPTIONS]
	local s=$1 x=$2 y=$3 cap=$4
	shift 4
	tm new-session -d -s "$s" -x "$x" -y "$y" \
		"TERM=${term:-screen} ESCDELAY=${escdelay:-25} HOME='$tmp' XDG_CONFIG_HOME='$tmp/config' '$top' -r '$cap' $* ; echo \"exit=\$?\" >'$tmp/exit-$s'; sleep 60"
}

# ---- the stall is the first thing seen, at three sizes ----
for size in 80x24 60x20 200x50; do
	x=${size%x*} y=${size#*x} s=g$x
	start "$s" "$x" "$y" "$guests" --fast
	# top-guests ends with 4:1026 stalled for 2.6 s, one refused, one reset, five with a problem.
	expect "$s" "$size: the header shows the trouble counts" "^Stalled: 1  Refused: 1  Resets: 1  Problems: 5" 5
	first=$(rows "$s" | head -1)
	[[ "$first" == *4:1026*stall* ]] && ok "$size: the stalled connection is the first row: $(echo "$first" | tr -s ' ')" ||
		bad "$size: the first row is '$first'"
	expect "$s" "$size: the sort is trouble first" "Sort: trouble \\(descending\\)|^Stalled"
	keys "$s" Down	# the end-of-capture message gives way to the key bar
	bar=$(screen "$s" | sed -n "${y}p")
	[[ "$bar" == "h help"*"q quit"* ]] && ok "$size: the key bar keeps help and quit: '$bar'" ||
		bad "$size: the key bar is '$bar'"
	wide=$(screen "$s" | awk -v w="$x" 'length > w' | wc -l)
	[ "$wide" = 0 ] && ok "$size: no line passes $x columns" || bad "$size: $wide lines are wider than $x"
	quits "$s"
done

# ---- 105 connections at 80x24: the scroll indicator, and a new order shown from its top ----
start m 80 24 "$many" --fast
expect m "the capture is read" "Connections: 105 seen" 5
keys m Down	# the end-of-capture message gives way to the key bar
expect m "the key bar says which rows are shown, more below" "rows 1-18 of 105 v$" 5
keys m End
expect m "End: the last rows, more above" "rows 88-105 of 105 \\^$"
keys m T
expect m "T sorts by bytes" "^Sort: bytes \\(descending\\)"
expect m "... and the view goes back to the top" "rows 1-18 of 105 v$"
sel=$(selected m) first=$(rows m | head -1)
[ -n "$sel" ] && [ "$(echo "$sel" | tr -s ' ')" = "$(echo "$first" | tr -s ' ')" ] &&
	ok "... with the first row selected" || bad "after T, selected '$sel', first row '$first'"
keys m End '\'
type_text m "port 6102"
keys m Enter
expect m "a filter shows its first rows" "Filter: port 6102 - [0-9]+ of 105"
sel=$(selected m) first=$(rows m | head -1)
[ -n "$sel" ] && [ "$(echo "$sel" | tr -s ' ')" = "$(echo "$first" | tr -s ' ')" ] &&
	ok "... with the first row selected" || bad "after the filter, selected '$sel', first row '$first'"
quits m

# ---- F2 setup, F5 tree, the mouse, and the rc file written on quit and read back ----
# TERM=xterm-256color: its terminfo has ncurses take the mouse in SGR mode (ESC [ < b ; x ; y M/m), the
# sequence tmux would pass on for a real click; here it is typed into the pane as it would arrive.
click() {	# click SESSION COLUMN ROW (1-based, as the terminal counts)
	type_text "$1" $'\e[<0;'"$2;$3"'M'
	sleep 0.2	# a hand's click: the release comes a moment after the press
	type_text "$1" $'\e[<0;'"$2;$3"'m'
}
rc="$tmp/config/vsocktop/vsocktoprc"
# A mouse sequence split by a loaded machine must not read as Esc and characters: a longer ESCDELAY.
term=xterm-256color escdelay=500
rm -rf "$tmp/config"	# the sessions above wrote theirs: this one starts from the defaults
start r 120 30 "$guests" --fast
expect r "the capture is read" "Problems: 5" 5
expect r "... under the default sort (no rc file yet)" "^Sort: trouble \\(descending\\)"
keys r F2
expect r "F2 opens the setup" "^Setup: columns"
expect r "... listing the columns, id shown" "^ \\[x\\] id +ID +width auto"
keys r Space
expect r "Space hides id" "^ \\[ \\] id +ID"
keys r Escape
expect r "Esc goes back to the table, without ID" "^ *A +B +TYPE +STATE"
keys r F5
expect r "F5 shows the tree: a CID column" "^CID +A +B +TYPE"
expect r "... CID 4 with its two connections" "^4 +\\|- 4:1026 .*stall"
expect r "... and its last one" "^ +\`- 4:1028 "
y=$(screen r | grep -n '^CID  *A  *B' | cut -d: -f1)
x=$(screen r | grep '^CID  *A  *B' | awk '{ print index($0, "BYTES") }')
click r $((x + 1)) "$y"
expect r "a click on the BYTES title sorts by bytes" "^Sort: bytes \\(descending\\)"
click r $((x + 1)) "$y"
expect r "a second click reverses it" "^Sort: bytes \\(ascending\\)"
target=$(rows r | sed -n 3p | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /:[0-9]+$/) { print $i; exit } }')
click r 20 $((y + 3))
sel=$(selected r)
[[ -n "$target" && "$sel" == *" $target"* ]] && ok "a click on the third row selects it ($target)" ||
	bad "clicked the third row ('$target'), selected: '$sel'"
quits r
if [ -f "$rc" ]; then
	ok "the rc file is written on quit: $(grep -v '^#' "$rc" | tr '\n' ' ')"
	grep -q '^sort=bytes$' "$rc" && grep -q '^reverse=1$' "$rc" && grep -q '^tree=1$' "$rc" &&
		grep -q '^columns=a,b,type,' "$rc" && ok "... with the sort, its order, the tree and the columns without id" ||
		bad "the rc file: $(cat "$rc")"
else
	bad "no rc file at $rc after q"
fi
start r2 120 30 "$guests" --fast
expect r2 "the next start reads it back: sort" "^Sort: bytes \\(ascending\\)" 5
expect r2 "... tree and columns (no ID)" "^CID +A +B +TYPE"
quits r2
cp "$rc" "$tmp/rc.good"
start r3 120 30 "$guests" --fast --no-rc
expect r3 "--no-rc ignores it" "^Sort: trouble \\(descending\\)" 5
expect r3 "... the columns are the default ones" "^ +ID +A +B +TYPE"
quits r3
cmp -s "$rc" "$tmp/rc.good" && ok "... and does not write it" || bad "--no-rc changed the rc file: $(cat "$rc")"
printf 'sort=bytes\ncolumns=a,zzz\n' >"$rc"
start r4 120 30 "$guests" --fast
expect r4 "a malformed rc file: a one-line warning" "line 2: unknown column 'zzz'; using the defaults" 5
expect r4 "... and the defaults" "^Sort: trouble \\(descending\\)"
quits r4
term=screen escdelay=25

# ---- an empty capture: no date to show ----
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x0f\x01\x00\x00' >"$tmp/empty.pcap"
start e 80 24 "$tmp/empty.pcap"
expect e "an empty capture's header has '-' for the time" "^vsocktop - file empty.pcap - - \\(capture time\\)"
screen e | grep -q 1970 && bad "an empty capture shows 1970" || ok "... and no 1970"
quits e

verdict
