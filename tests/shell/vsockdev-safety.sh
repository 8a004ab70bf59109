#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev-safety.sh: what vsockdev finds where its files go: a symbolic link at --pcap is refused (its target
# untouched), a regular file at socket= is kept and refused, the socket of a vsockdev still running is not taken
# over (the first one goes on serving), a stale socket is; a uds-path too long for uds-path_<port> is refused at
# start; --frontend-user/--frontend-group turn other peers of the vhost-user socket away and log why.
# Usage: vsockdev-safety.sh VSOCKDEV
# Exit: 0 pass, 1 fail, 77 skip (no socat or python3), 99 bad invocation.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 VSOCKDEV" >&2
	exit 99
fi
vsockdev=$(realpath "$1")

. "$(dirname "$0")/harness.sh"

for t in socat python3; do
	command -v $t >/dev/null || skip "$t not found: the test connects with it (./do deps installs it)"
done
start_harness
cd "$tmp" || exit 1

# start NAME ARGS...: vsockdev in the background, its log in NAME.log, its pid in $pid; true once it is ready.
start() {
	local name=$1
	shift
	"$vsockdev" "$@" >"$name.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	wait_for "$name.log" 'ready: every socket listens' 10
}

# refused WHAT WORDS ARGS...: vsockdev exits 1 at once, saying WORDS.
refused() {
	local what=$1 words=$2 st
	shift 2
	timeout 10 "$vsockdev" "$@" >refused.log 2>&1
	st=$?
	if [ $st = 1 ] && grep -qF -- "$words" refused.log; then
		ok "$what: exit 1, '$words'"
	else
		bad "$what: exit $st, want 1 and '$words':"
		show refused.log
	fi
}

# --pcap at a symbolic link: not followed, the target keeps its bytes.
echo "not a capture" >target
ln -s target cap.pcap
refused "--pcap at a symbolic link" "cap.pcap: is a symbolic link: not followed" \
	--vm "guest-cid=3,socket=$tmp/a.vhost" -w cap.pcap
[ "$(cat target 2>/dev/null)" = "not a capture" ] && ok "the link's target is untouched" || bad "the link's target now holds $(wc -c <target) bytes"
# The same for the first file of a ring (-C -W names it cap.pcap0).
ln -s target ring.pcap0
refused "-C 1 -W 2 with a symbolic link at ring.pcap0" "ring.pcap0: is a symbolic link" \
	--vm "guest-cid=3,socket=$tmp/a.vhost" -w ring.pcap -C 1 -W 2
[ "$(cat target 2>/dev/null)" = "not a capture" ] && ok "its target is untouched" || bad "its target now holds $(wc -c <target) bytes"
[ ! -e a.vhost ] && ok "no socket left behind" || bad "a.vhost left behind"

# socket= at a regular file: kept.
echo "my notes" >notes.txt
refused "socket= at a regular file" "notes.txt exists and is not a socket: left as it is" \
	--vm "guest-cid=3,socket=$tmp/notes.txt"
[ "$(cat notes.txt)" = "my notes" ] && ok "the file is kept" || bad "notes.txt is gone or changed"
refused "uds-path= at a regular file" "notes.txt exists and is not a socket" \
	--vm "guest-cid=3,socket=$tmp/b.vhost,uds-path=$tmp/notes.txt"
[ "$(cat notes.txt)" = "my notes" ] && ok "the file is kept" || bad "notes.txt is gone or changed"

# A second vsockdev on the sockets of a running one: refused; the first goes on.
if start first --vm "guest-cid=3,socket=$tmp/vm3.vhost,uds-path=$tmp/vm3.vsock" --stats "$tmp/stats"; then
	first=$pid
	refused "a second vsockdev on a live vhost-user socket" "vm3.vhost: another process listens on it" \
		--vm "guest-cid=3,socket=$tmp/vm3.vhost"
	refused "a second vsockdev on a live uds-path" "vm3.vsock: another process listens on it" \
		--vm "guest-cid=4,socket=$tmp/vm4.vhost,uds-path=$tmp/vm3.vsock"
	refused "a second vsockdev on a live --stats socket" "stats: another process listens on it" \
		--vm "guest-cid=4,socket=$tmp/vm4.vhost" --stats "$tmp/stats"
	if kill -0 "$first" && [ -S vm3.vhost ] && [ -S vm3.vsock ] &&
		socat -u UNIX-CONNECT:"$tmp/stats" - 2>/dev/null | python3 -c 'import json,sys; json.load(sys.stdin)'; then
		ok "the first vsockdev still runs, its sockets are there and its statistics answer"
	else
		bad "the first vsockdev was disturbed:"
		ls -l "$tmp" | show /dev/stdin
		show first.log
	fi
	kill "$first"
	wait "$first"
else
	bad "the first vsockdev did not start:"
	show first.log
fi

# Stale sockets (a killed daemon's): nobody listens, they are taken over.
python3 - "$tmp/vm5.vhost" "$tmp/vm5.vsock" "$tmp/stats5" <<'PY'
import socket, sys
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
PY
if start stale --vm "guest-cid=5,socket=$tmp/vm5.vhost,uds-path=$tmp/vm5.vsock" --stats "$tmp/stats5" &&
	socat -u UNIX-CONNECT:"$tmp/stats5" - 2>/dev/null | grep -q '"vms"'; then
	ok "stale sockets at socket=, uds-path= and --stats are taken over"
else
	bad "stale sockets were not taken over:"
	show stale.log
fi
kill "$pid" 2>/dev/null
wait "$pid"

# A uds-path that leaves no room for _<port> in a socket address: refused at start, the limit said.
long=$tmp/$(printf "u%.0s" $(seq $((95 - ${#tmp}))))
timeout 10 "$vsockdev" --vm "guest-cid=3,socket=$tmp/c.vhost,uds-path=${long}x" >long.log 2>&1
st=$?
if [ $st = 2 ] && grep -qF "uds-path is 97 bytes long, 96 at most: a Unix socket's path holds 107" long.log && [ ! -e c.vhost ]; then
	ok "a uds-path of 97 bytes: exit 2, '96 at most'"
else
	bad "a uds-path of 97 bytes: exit $st, want 2 and the limit:"
	show long.log
fi
if start long --vm "guest-cid=3,socket=$tmp/c.vhost,uds-path=$long"; then
	ok "a uds-path of 96 bytes is taken"
else
	bad "a uds-path of 96 bytes was refused:"
	show long.log
fi
kill "$pid" 2>/dev/null
wait "$pid"

# --frontend-user: a peer that is someone else is closed, and the log says who it was; the one named gets in.
me=$(id -u) other=$(( $(id -u) == 4242 ? 4243 : 4242 ))
# frontend ARGS...: vsockdev with ARGS, one connection to its vhost-user socket; the log in fe.log.
frontend() {
	rm -f fe.log
	if start fe --vm "guest-cid=3,socket=$tmp/fe.vhost" "$@"; then
		(sleep 0.5) | socat -u - UNIX-CONNECT:"$tmp/fe.vhost" 2>/dev/null
		wait_for fe.log 'front-end (refused|connected)' 5
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null
}
frontend --frontend-user "$other"
if grep -qF "vm3: front-end refused on $tmp/fe.vhost: pid " fe.log &&
	grep -qF "uid $me, gid $(id -g) is neither a --frontend-user nor in a --frontend-group" fe.log &&
	! grep -q "front-end connected" fe.log; then
	ok "--frontend-user $other: uid $me refused and logged"
else
	bad "--frontend-user $other: uid $me not refused:"
	show fe.log
fi
frontend --frontend-user "$other" --frontend-group "$(id -g)"
grep -q "front-end connected" fe.log && ok "--frontend-group $(id -g): let in" || { bad "--frontend-group $(id -g): not let in:"; show fe.log; }
frontend --frontend-user "$(id -un)"
grep -q "front-end connected" fe.log && ok "--frontend-user $(id -un): let in" || { bad "--frontend-user $(id -un): not let in:"; show fe.log; }
timeout 10 "$vsockdev" --vm "guest-cid=3,socket=$tmp/d.vhost" --frontend-user no-such-user-here >usage.log 2>&1
st=$?
[ $st = 2 ] && grep -qF "no user named 'no-such-user-here'" usage.log && ok "--frontend-user no-such-user-here: exit 2" ||
	{ bad "--frontend-user no-such-user-here: exit $st:"; show usage.log; }
verdict
