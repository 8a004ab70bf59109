#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsocktop-tmux-trouble.sh: what a user came to see is on the first screen (issue 13): at 80x24, 60x20 and
# 200x50 on a capture with a stall to the end, the header shows the stalled, refused, reset and problem
# counts, the stalled connection is the first row under the default sort, the key bar keeps help and quit,
# and q quits; on 105 connections, the key bar says which rows are shown, and a new sort or filter shows the
# top with the first row selected; an empty capture shows no 1970 date.
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
tm() { tmux -S "$tmp/tmux.sock" -f /dev/null "$@"; }
at_exit() { tm kill-server 2>/dev/null; }

screen() { tm capture-pane -p -t "$1"; }
screen_esc() { tm capture-pane -p -e -t "$1"; }
expect() {
	local s=$1 what=$2 re=$3 secs=${4:-5} i
	for ((i = 0; i < secs * 20; i++)); do
		if screen "$s" | grep -Eq -- "$re"; then
			ok "$what"
			return 0
		fi
		sleep 0.05
	done
	bad "$what: no /$re/ on the screen:"
	screen "$s" | sed 's/^/    | /'
	return 1
}
keys() { tm send-keys -t "$1" "${@:2}"; }
type_text() { tm send-keys -t "$1" -l "$2"; }
# The table's rows: the lines after its title (whatever columns fit, the endpoint A is there).
rows() { screen "$1" | awk '/^ *(ID +)?A +B/ { on = 1; next } on && NF { print } on && !NF { exit }'; }
selected() { screen_esc "$1" | grep $'\e\\[[0-9;]*7[;m]' | sed 's/\x1b\[[0-9;]*m//g'; }
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
		"TERM=screen HOME='$tmp' XDG_CONFIG_HOME='$tmp/config' '$top' -r '$cap' $* ; echo \"exit=\$?\" >'$tmp/exit-$s'; sleep 60"
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

# ---- an empty capture: no date to show ----
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x0f\x01\x00\x00' >"$tmp/empty.pcap"
start e 80 24 "$tmp/empty.pcap"
expect e "an empty capture's header has '-' for the time" "^vsocktop - file empty.pcap - - \\(capture time\\)"
screen e | grep -q 1970 && bad "an empty capture shows 1970" || ok "... and no 1970"
quits e

verdict
