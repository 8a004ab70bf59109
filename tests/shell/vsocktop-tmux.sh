#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsocktop-tmux.sh: the interactive vsocktop driven for real in a detached tmux session: a lab capture replayed
# at half speed, then keys (sort, invert, F6, filter, a bad filter, search, detail, per-CID, devices, help,
# pause), colours, the window shrunk to 40x12 and 20x5 and back, and q, after which vsocktop must exit 0.
# HOME and XDG_CONFIG_HOME point into the test's directory: the settings file vsocktop writes on quit stays there.
# Usage: vsocktop-tmux.sh VSOCKTOP VSOCKLAB VSOCKDUMP CAPTURE   (CAPTURE: the golden top-guests.pcap)
# Exit: 0 pass, 1 fail, 77 skip (tmux or jq missing), 99 bad invocation.
set -u

if [ $# -ne 4 ]; then
	echo "usage: $0 VSOCKTOP VSOCKLAB VSOCKDUMP CAPTURE" >&2
	exit 99
fi
top=$(realpath "$1") lab=$(realpath "$2") dump=$(realpath "$3") guests=$(realpath "$4")
command -v tmux >/dev/null || { echo "SKIP: tmux not found (apt-get install tmux)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not found (apt-get install jq)"; exit 77; }

. "$(dirname "$0")/harness.sh"
start_harness
. "$(dirname "$0")/tmux-lib.sh"

# The lab's capture: a host, two guests, 18 connections with stalls and refusals, on the virtual clock.
"$lab" --rounds 1 --clock virtual --pcap "$tmp/lab.pcap" -q >"$tmp/lab.out" 2>&1 || { bad "vsocklab failed: $(cat "$tmp/lab.out")"; exit 1; }
"$dump" --flows --json -r "$tmp/lab.pcap" | jq -s -c 'map(select(.kind == "flow"))' >"$tmp/flows.json"
nflows=$(jq length "$tmp/flows.json")
nrefused=$(jq '[.[] | select(.state == "refused")] | length' "$tmp/flows.json")
maxid=$(jq 'max_by(.a_to_b.bytes + .b_to_a.bytes) | .id' "$tmp/flows.json")
echo "# lab capture: $nflows connections, $nrefused refused; the most bytes: connection $maxid"

# ---- session 1: the lab capture at half speed ----
tm new-session -d -s a -x 130 -y 30 "TERM=screen HOME='$tmp' XDG_CONFIG_HOME='$tmp/config' '$top' -r '$tmp/lab.pcap' --speed 0.5 -d 0.5; echo \"exit=\$?\" >'$tmp/exit-a'; sleep 60"
expect a "the display starts" "^vsocktop - file lab.pcap - 2024-01-01" 5
# While it replays, the capture time moves on between refreshes.
t1=$(screen a | sed -n 's/^vsocktop - file lab.pcap - [0-9-]* \([0-9:.]*\) UTC.*/\1/p')
sleep 1
t2=$(screen a | sed -n 's/^vsocktop - file lab.pcap - [0-9-]* \([0-9:.]*\) UTC.*/\1/p')
if [ -n "$t1" ] && [ -n "$t2" ] && [[ "$t2" > "$t1" ]]; then
	ok "while replaying, capture time moves on: $t1, then $t2"
else
	bad "capture time did not move on while replaying: '$t1' then '$t2'"
fi
expect a "the replay ends (2.7 s at half speed) with every connection" \
	"Connections: $nflows seen.*" 10
expect a "the end of the capture is shown" "\\[end of capture\\]" 5
expect a "refusals counted" "Refused: $nrefused " 2

# Sorting: T by total bytes (largest first), I inverts, < and > step through the columns, F6 lists them.
keys a T
expect a "T sorts by total bytes" "Sort: bytes \\(descending\\)"
first=$(rows a | head -1 | awk '{ print $1 }')
[ "$first" = "$maxid" ] && ok "the first row is connection $maxid, the most bytes (vsockdump --flows)" ||
	bad "sorted by bytes, the first row is connection '$first', not $maxid"
keys a I
expect a "I inverts the order" "Sort: bytes \\(ascending\\)"
first=$(rows a | head -1)
[[ "$first" == *refused* ]] && ok "inverted, a refused connection (0 bytes) comes first" || bad "inverted, the first row is: $first"
keys a '<'
expect a "< moves the sort to the column before" "Sort: rate_ba \\(ascending\\)"
keys a '>' '>'
expect a "> > moves it two columns on" "Sort: inflight \\(ascending\\)"
keys a F6
expect a "F6 lists the sort keys" "Sort by \\(Enter picks, Esc cancels\\)"
keys a Down Enter
expect a "Down Enter in the list picks the next key (still inverted)" "Sort: credit_a \\(descending\\)"
keys a P
expect a "P sorts by packets/s" "Sort: pps \\(descending\\)"

# The filter: the vsock filter language; a mistake says where, in place; Esc leaves it as it was.
keys a '\'
type_text a "port 4321"
keys a Enter
expect a "\\\\ filters with the vsock language" "Filter: port 4321 - $nrefused of $nflows connections"
if [ "$(rows a | grep -c ':4321 ')" = "$nrefused" ] && [ "$(rows a | wc -l)" = "$nrefused" ]; then
	ok "only the $nrefused connections to port 4321 are shown"
else
	bad "filtered rows:"; rows a | sed 's/^/    | /'
fi
keys a '\' C-u
type_text a "port x"
keys a Enter
expect a "a bad filter shows its error" "filter error at column 6: .*'x'"
expect a "... and keeps the prompt to fix it" "^Filter: port x"
keys a Escape
expect a "Esc leaves the filter as it was" "Filter: port 4321 - $nrefused of"
keys a f C-u Enter
expect a "an empty filter clears it" "Filter: none - $nflows of $nflows"

# Search, then the detail of the connection found.
keys a /
type_text a "1237"
expect a "/ searches as one types" "^Search: 1237"
keys a Enter
sel=$(selected a)
[[ "$sel" == *:1237* ]] && ok "the search selects a connection to port 1237: $(echo "$sel" | tr -s ' ' | cut -c1-60)" ||
	bad "after /1237 the selected row is: '$sel'"
keys a Enter
expect a "Enter shows the connection's detail" "^Connection [0-9]+: .*:1237"
expect a "... with its credit over time" "^Credit over time, .* \\(last [0-9]+ samples\\):"
expect a "... and the counters each way" "^  credit_requests +[0-9]+ +[0-9]+"
# Each problem's explanation comes before the counters: the chart is a page down.
keys a PgDn
expect a "... and a bar chart of it" "^  \\+[0-9.a-z]+ +-?[0-9.KM]+ \\|[#!][#! ]*\\|$"
keys a PgDn
expect a "... and its events, further down" "^Events \\(last [0-9]+ of [0-9]+\\):" 3
expect a "... the stalls among them" "^  \\+[0-9.]+ m?s stall \\(4:1029 > host:1237\\)|^  \\+[0-9.]+ m?s stall " 1
keys a Escape
expect a "Esc goes back to the table" "^ *ID +A +B +TYPE"

# The per-CID view, the device view, help.
keys a c
expect a "c: the per-CID view" "^CID +CONNS +OPEN +STALLED"
expect a "... with the host" "^host +$nflows "
expect a "... and guest CID 3" "^3 +[0-9]+ "
keys a d
expect a "d: the device view says how to get one" "no device: vsocktop --device PATH reads vsockdev --stats PATH"
keys a t
expect a "t: back to the connections" "^ *ID +A +B +TYPE"
keys a '?'
expect a "? shows the help" "vsocktop keys \\(any other key goes back\\)"
expect a "... with the filter key" "filter with the vsock filter language"
keys a x
expect a "any key leaves the help" "^ *ID +A +B +TYPE"
keys a Space
expect a "Space pauses" "\\[paused\\]"
keys a Space
expect a "Space resumes" "^resumed"

# Colours: refused connections in yellow.
if screen_esc a | grep -a 'refused' | grep -q $'\e\\[[0-9;]*33[;m]'; then
	ok "refused connections are yellow"
else
	bad "no yellow on the refused rows:"; screen_esc a | grep -a refused | head -2 | cat -v | sed 's/^/    | /'
fi

# A small terminal, a tiny one, and back.
tm resize-window -t a -x 40 -y 12
expect a "at 40x12 the header is still there" "^vsocktop - file lab.pcap"
expect a "... and a narrower table" "^ *A +B"
long=$(screen a | awk 'length > 40' | wc -l)
[ "$long" = 0 ] && ok "at 40x12 no line passes 40 columns" || bad "at 40x12, $long lines are wider"
[ "$(screen a | wc -l)" -le 12 ] && ok "at 40x12, 12 lines at most" || bad "more than 12 lines at 40x12"
tm resize-window -t a -x 20 -y 5
expect a "at 20x5 it still draws, the trouble counts first" "^Stalled: [0-9]+"
tm resize-window -t a -x 12 -y 2
expect a "at 12x2 it says the terminal is too small, as far as it fits" "^vsocktop: te"
tm resize-window -t a -x 130 -y 30
expect a "back at 130x30, the whole table" "^ *ID +A +B +TYPE"
title=$(screen a | grep -E '^ *ID +A +B')
missing=""
for col in TYPE STATE PKT/S 'A>B/S' 'B>A/S' BYTES INFL CRED-A CRED-B STALL STALLT PROBLEMS; do
	[[ "$title" == *" $col"* ]] || missing="$missing $col"
done
[ -z "$missing" ] && ok "... with every column" || bad "back at 130x30, missing columns:$missing in '$title'"

# q quits, with status 0.
keys a q
for _ in $(seq 60); do [ -s "$tmp/exit-a" ] && break; sleep 0.05; done
[ "$(cat "$tmp/exit-a" 2>/dev/null)" = "exit=0" ] && ok "q quits, exit status 0" || bad "after q: '$(cat "$tmp/exit-a" 2>/dev/null)'"

# ---- session 2: a stall to the end, red and bold; a reset, yellow ----
tm new-session -d -s b -x 120 -y 20 "TERM=screen HOME='$tmp' XDG_CONFIG_HOME='$tmp/config' '$top' -r '$guests' --fast; echo \"exit=\$?\" >'$tmp/exit-b'; sleep 60"
expect b "the golden capture replays as fast as it can" "\\[end of capture\\]" 5
line=$(screen_esc b | grep -a '4:1026')
red=$'\e\\[([0-9]+;)*31[;m]' bold=$'\e\\[([0-9]+;)*1[;m]'
if [[ "$line" =~ $red ]] && [[ "$line" =~ $bold ]]; then
	ok "the stalled connection (4:1026) is red and bold"
else
	bad "the stalled row: $(echo "$line" | cat -v)"
fi
line=$(screen_esc b | grep -a ' reset ')
yellow=$'\e\\[([0-9]+;)*33[;m]'
[[ "$line" =~ $yellow ]] && ok "the reset connection is yellow" || bad "the reset row: $(echo "$line" | cat -v)"
keys b S
expect b "S sorts by stall time, the stalled one first" "Sort: stall"
[[ "$(rows b | head -1)" == *4:1026* ]] && ok "the stalled connection leads" || bad "first row: $(rows b | head -1)"
keys b q
for _ in $(seq 60); do [ -s "$tmp/exit-b" ] && break; sleep 0.05; done
[ "$(cat "$tmp/exit-b" 2>/dev/null)" = "exit=0" ] && ok "q quits, exit status 0" || bad "after q: '$(cat "$tmp/exit-b" 2>/dev/null)'"

verdict
