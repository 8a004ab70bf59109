#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# peer-loopback.sh: vsock-peer, the traffic tool of the real-guest tests, proven on its own: its hybrid-vsock (Unix) side against fakes here, every vsock role pair over vsock_loopback in a QEMU guest, and its refusal of vsock outside the guest.
# Usage: peer-loopback.sh VSOCK-PEER
# Env: VM_WORKDIR (default $BUILDDIR/tests/vm/peer-loopback, or a temporary directory): the initramfs, the
#      guest's console and exported files stay there for a look after a failure.
# Exit: 0 pass, 1 fail, 77 skip (QEMU or a cloud kernel is missing; ./do deps installs both), 99 the run broke.
# The host opens no vsock socket: vsock-peer's vsock endpoints run only in the guest, and the refusal check
# here runs under strace with every socket() call failed by injection, so even a broken guard opens nothing.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 VSOCK-PEER" >&2
	exit 99
fi
peer=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
workdir peer-loopback
t0=$(date +%s.%N)

# ---- 1. On the host: the guard, under strace with socket() failed by injection.
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace and would turn exit 2 into 1 in a -Dsanitizers=true build.
	out=$(env -u VM_SCENARIO ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -o "$work/guard.strace" -e trace=socket -e inject=socket:error=EPERM \
		"$peer" send vsock:1:5001 10 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && ! grep -q 'socket(' "$work/guard.strace" && [[ $out == *"refusing to open an AF_VSOCK socket"* ]]; then
		ok "on the host, a vsock endpoint is refused (exit 2) before any socket() call"
	else
		bad "vsock endpoint on the host: exit $rc, '$out'; socket calls:"; show "$work/guard.strace"
	fi
else
	echo "# strace not found: the host-side guard check is skipped (it only runs with socket() blocked)"
fi

# ---- 2. On the host: the hybrid (uds:) handshake against socat fakes of a device, and uds-listen.
if command -v socat >/dev/null; then
	h=$work/host
	rm -rf "$h"
	mkdir -p "$h"
	# A device that answers OK and forwards to the "guest" listener PATH_PORT, as Firecracker does.
	printf '#!/bin/sh\nread l\necho "OK 77"\nexec socat - UNIX-CONNECT:%s/g_${l#CONNECT }\n' "$h" >"$h/fwd.sh"
	# A device whose guest refused the port: it closes the connection without answering.
	printf '#!/bin/sh\nread l\n' >"$h/refuse.sh"
	printf '#!/bin/sh\nread l\necho "NOPE"\n' >"$h/garbage.sh"
	chmod +x "$h"/*.sh
	fakes=()
	fake() {
		socat "UNIX-LISTEN:$h/$1,fork" "EXEC:$h/$1.sh" 2>"$h/$1.socat.err" &
		fakes+=($!)
		for _ in $(seq 100); do [ -S "$h/$1" ] && return 0; sleep 0.02; done
		return 1
	}
	fake fwd && fake refuse && fake garbage || bad "socat fakes did not start"

	"$peer" echo "uds-listen:$h/g_6000" --ready "$h/ready" --timeout 20 >"$h/echo.out" 2>"$h/echo.err" &
	srv=$!
	for _ in $(seq 100); do [ -e "$h/ready" ] && break; sleep 0.02; done
	line=$("$peer" send "uds:$h/fwd:6000" 256K --expect-echo -v --timeout 20 2>"$h/send.err")
	rc=$?
	wait $srv
	src=$?
	if [ $rc -eq 0 ] && [ $src -eq 0 ] && [ "$(field "$line" echo_ok)" = 1 ] && grep -q 'connected, OK 77$' "$h/send.err"; then
		ok "uds: CONNECT/OK handshake, then 256 KiB echoed through a fake device to uds-listen ($line)"
	else
		bad "uds: through a fake device: send exit $rc ($line), echo exit $src:"; show "$h/send.err" "$h/echo.err"
	fi
	line=$("$peer" expect-reset "uds:$h/refuse:6001" --timeout 5 2>"$h/reset.err")
	rc=$?
	if [ $rc -eq 0 ] && [ "$(field "$line" errno)" = ECONNRESET ]; then
		ok "uds: a device that closes before OK is a reset to expect-reset ($line)"
	else
		bad "uds: expect-reset against a closing device: exit $rc ($line)"; show "$h/reset.err"
	fi
	"$peer" recv "uds:$h/garbage:6002" --timeout 5 >/dev/null 2>"$h/garbage.err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "expected 'OK <port>\\\\n' in answer to 'CONNECT 6002', got 'NOPE" "$h/garbage.err"; then
		ok "uds: an answer other than OK fails (exit 1) and says what came"
	else
		bad "uds: a wrong answer: exit $rc:"; show "$h/garbage.err"
	fi
	kill "${fakes[@]}" 2>/dev/null
	wait "${fakes[@]}" 2>/dev/null
else
	echo "# socat not found: the host-side uds checks are skipped"
fi
echo "# host checks: $(elapsed "$t0") s"

# ---- 3. In the guest: every role pair over vsock_loopback.
initramfs
run_scenario peer-loopback 120
res=$r/results.txt
[ -s "$res" ] || { echo "FAIL: the guest wrote no results"; show "$work/console.log"; exit 1; }
show "$res"

# get NAME: the result line of one run ("NAME rc=S key=value..."); v LINE KEY: one value of it.
get() { grep -m1 "^$1 " "$res"; }
v() { field "$1" "$2"; }
# check NAME DESCRIPTION CONDITION: CONDITION is a shell test on the lines $s (server) and $c (client).
pair_failed() {
	bad "$1:"
	echo "    server: $s"
	echo "    client: $c"
	show "$r/$2.server.err" "$r/$2.client.err" 2>/dev/null
}

s=$(get bulk.server) c=$(get bulk.client)
if [ "$(v "$s" rc)" = 0 ] && [ "$(v "$c" rc)" = 0 ] && [ "$(v "$s" recv)" = 8388608 ] &&
   [ "$(v "$c" sent)" = 8388608 ] && [ "$(v "$s" sum)" = "$(v "$c" sum)" ]; then
	ok "8 MiB over vsock, every byte checked, sums agree ($(v "$c" ms) ms)"
else
	pair_failed "8 MiB send/recv" bulk
fi

s=$(get bulk-rev.server) c=$(get bulk-rev.client)
if [ "$(v "$s" rc)" = 0 ] && [ "$(v "$c" rc)" = 0 ] && [ "$(v "$c" recv)" = 2097152 ] &&
   [ "$(v "$s" sum)" = "$(v "$c" sum)" ]; then
	ok "2 MiB from the listening side to the connecting one"
else
	pair_failed "2 MiB listener-to-connector" bulk-rev
fi

s=$(get echo.server) c=$(get echo.client)
if [ "$(v "$s" rc)" = 0 ] && [ "$(v "$c" rc)" = 0 ] && [ "$(v "$c" echo_ok)" = 1 ] &&
   [ "$(v "$c" recv)" = 1048576 ] && [ "$(v "$s" bytes)" = 1048576 ] && [ "$(v "$s" served)" = 1 ]; then
	ok "1 MiB echoed byte for byte"
else
	pair_failed "echo" echo
fi

s=$(get halfclose.server) c=$(get halfclose.client)
if [ "$(v "$s" rc)" = 0 ] && [ "$(v "$c" rc)" = 0 ] && [ "$(v "$c" ok)" = 1 ] && [ "$(v "$c" answer)" = 65552 ] &&
   [ "$(v "$s" recv)" = 300000 ] && [ "$(v "$s" answered)" = 65552 ]; then
	ok "half-close: 64 KiB answer arrived after the client's SHUT_WR"
else
	pair_failed "half-close" halfclose
fi

s=$(get seq.server) c=$(get seq.client)
n=$(v "$c" msgs) eors=$(v "$c" eor_sent)
if [ "$(v "$s" rc)" = 0 ] && [ "$(v "$c" rc)" = 0 ] && [ "$n" = 19 ] && [ "$(v "$c" ok)" = 19 ] &&
   [ "$eors" -gt 0 ] && [ "$(v "$c" eor_seen)" = "$eors" ] && [ "$(v "$s" eor_seen)" = "$eors" ] &&
   [ "$(v "$s" msgs)" = 19 ]; then
	ok "SEQPACKET: $n messages of 1 byte to 256 KiB, each whole, $eors with MSG_EOR seen on both sides"
else
	pair_failed "SEQPACKET" seq
fi

s=$(get concurrent.server) c=$(get concurrent.client)
if [ "$(v "$s" rc)" = 0 ] && [ "$(v "$c" rc)" = 0 ] && [ "$(v "$c" conns)" = 50 ] && [ "$(v "$c" ok)" = 50 ] &&
   [ "$(v "$c" bytes)" = $((50 * 262144)) ] && [ "$(v "$s" served)" = 50 ]; then
	ok "50 connections at once, each echo checked ($(v "$c" ms) ms)"
else
	pair_failed "concurrent" concurrent
fi

s="" c=$(get reset.client)
ms=$(v "$c" ms)
if [ "$(v "$c" rc)" = 0 ] && [ "$(v "$c" errno)" = ECONNRESET ] && [ -n "$ms" ] && [ "$ms" -lt 1000 ]; then
	ok "a connect to a port nobody listens on fails with ECONNRESET in $ms ms (not the 2 s connect timeout)"
else
	pair_failed "expect-reset" reset
fi

c=$(get guard.client)
if [ "$(v "$c" rc)" = 2 ] && grep -q "refusing to open an AF_VSOCK socket" "$r/guard.client.err"; then
	ok "in the guest too, without VM_SCENARIO a vsock endpoint is refused (exit 2)"
else
	pair_failed "guard in the guest" guard
fi

echo "# $(grep '^elapsed' "$res" | awk '{ printf "guest scenario %.2f s", $3 - $2 }'), whole test $(elapsed "$t0") s"
finish
