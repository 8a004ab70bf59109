# SPDX-License-Identifier: GPL-2.0-or-later
# tmux-lib.sh: drives a program in a detached tmux session of the test's own for the vsocktop tests: a server
# on its own socket with no configuration file (nothing of the user's is touched), screen reads, waits for a
# screen to match, keys. Sourced after harness.sh's start_harness (it uses $tmp, ok and bad).

tm() { tmux -S "$tmp/tmux.sock" -f /dev/null "$@"; }
at_exit() { tm kill-server 2>/dev/null; }

screen() { tm capture-pane -p -t "$1"; }
screen_esc() { tm capture-pane -p -e -t "$1"; }
# expect SESSION WHAT REGEX [SECONDS]: waits until the screen matches (extended regex), says ok or shows it.
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
# The table's rows: the lines after its title (whatever columns come first, the tree's CID, the ID).
rows() { screen "$1" | awk '/^ *(CID +)?(ID +)?A +B/ { on = 1; next } on && NF { print } on && !NF { exit }'; }
# The rows shown in reverse video (the selection), escapes removed.
selected() { screen_esc "$1" | grep $'\e\\[[0-9;]*7[;m]' | sed 's/\x1b\[[0-9;]*m//g'; }
