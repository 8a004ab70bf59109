#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# service-notify.sh: vsockdev's readiness (Type=notify) through a real notify socket: READY=1 arrives once every
# socket of two VMs and the statistics socket takes connections, STOPPING=1 at SIGTERM; a path and an @abstract
# NOTIFY_SOCKET both work; a start that fails sends no READY=1; a notify socket nobody listens on is not fatal.
# Usage: service-notify.sh VSOCKDEV
# Exit: 0 pass, 1 fail, 77 skip (no python3), 99 bad invocation.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 VSOCKDEV" >&2
	exit 99
fi
vsockdev=$(realpath "$1")

. "$(dirname "$0")/harness.sh"
command -v python3 >/dev/null || skip "python3 not found: it plays the service manager's notify socket"
start_harness

# notify.py ADDRESS LOG -- VSOCKDEV ARGS...: binds a datagram socket at ADDRESS (a path, or @name for an
# abstract one), starts vsockdev with NOTIFY_SOCKET=ADDRESS and prints what it sees, one fact a line:
#   message N <the datagram, newlines as |>
#   ready-sockets <for each socket path vsockdev was given: path=listening|missing|refused>  (at READY=1)
#   exit <status>
# At READY=1 it looks at the sockets at once, then sends SIGTERM and reads on until vsockdev exits.
cat >"$tmp/notify.py" <<'PY'
import os, signal, socket, subprocess, sys

address, log = sys.argv[1], sys.argv[2]
cmd = sys.argv[4:]
paths = [a.split("=", 1)[1] for arg in cmd for a in arg.split(",") if a.startswith(("socket=", "uds-path="))]
if "--stats" in cmd:
    paths.append(cmd[cmd.index("--stats") + 1])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\0" + address[1:] if address.startswith("@") else address)
sock.settimeout(10)
env = dict(os.environ, NOTIFY_SOCKET=address)
proc = subprocess.Popen(cmd, env=env, stderr=open(log, "w"))

def state(p):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        c.connect(p)
        return "listening"
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return "refused(%s)" % e.strerror
    finally:
        c.close()

n = 0
while True:
    try:
        msg = sock.recv(4096).decode()
    except socket.timeout:
        print("timeout")
        break
    n += 1
    print("message %d %s" % (n, msg.replace("\n", "|")), flush=True)
    if "READY=1" in msg.split("\n"):
        print("ready-sockets " + " ".join("%s=%s" % (os.path.basename(p), state(p)) for p in paths))
        proc.send_signal(signal.SIGTERM)
    if "STOPPING=1" in msg.split("\n"):
        break
try:
    print("exit %d" % proc.wait(timeout=10))
except subprocess.TimeoutExpired:
    proc.kill()
    print("exit hung")
PY

vms=(--vm "guest-cid=3,socket=$tmp/vm3.vhost,uds-path=$tmp/vm3.vsock"
     --vm "guest-cid=4,socket=$tmp/vm4.vhost,uds-path=$tmp/vm4.vsock" --stats "$tmp/stats")
want_sockets="ready-sockets vm3.vhost=listening vm3.vsock=listening vm4.vhost=listening vm4.vsock=listening stats=listening"

for address in "$tmp/notify" "@vsockmon-test-notify-$$"; do
	python3 "$tmp/notify.py" "$address" "$tmp/run.log" -- "$vsockdev" "${vms[@]}" >"$tmp/seen" 2>&1
	what="NOTIFY_SOCKET=${address/#$tmp/\$tmp}"
	if grep -q '^message 1 READY=1|STATUS=serving 2 VMs: vm3 vm4$' "$tmp/seen"; then
		ok "$what: the first message is READY=1 with STATUS=serving 2 VMs: vm3 vm4"
	else
		bad "$what: no READY=1 first with the VMs' status:"
		show "$tmp/seen" "$tmp/run.log"
	fi
	if grep -qx "$want_sockets" "$tmp/seen"; then
		ok "$what: at READY=1 both VMs' vhost-user and host-side sockets and the statistics socket listen"
	else
		bad "$what: at READY=1 not every socket listens (want: $want_sockets):"
		show "$tmp/seen"
	fi
	if grep -q '^message 2 STOPPING=1|' "$tmp/seen" && grep -qx 'exit 0' "$tmp/seen"; then
		ok "$what: SIGTERM: STOPPING=1, then exit 0"
	else
		bad "$what: no STOPPING=1 and exit 0 after SIGTERM:"
		show "$tmp/seen" "$tmp/run.log"
	fi
	rm -f "$tmp/notify"
done

# The statistics socket, made last, cannot be made: vsockdev must exit 1 without ever saying READY=1.
python3 "$tmp/notify.py" "$tmp/notify" "$tmp/run.log" -- "$vsockdev" "${vms[@]:0:4}" --stats "$tmp/no/such/dir/stats" \
	>"$tmp/seen" 2>&1
if grep -qx 'exit 1' "$tmp/seen" && ! grep -q 'READY=1' "$tmp/seen" && grep -q 'no/such/dir/stats' "$tmp/run.log"; then
	ok "a start that fails (--stats in a missing folder) exits 1 and sends no READY=1"
else
	bad "a failed start sent READY=1 or did not exit 1:"
	show "$tmp/seen" "$tmp/run.log"
fi
rm -f "$tmp/notify"

# Nobody listens at NOTIFY_SOCKET: said in the log, and vsockdev serves on.
NOTIFY_SOCKET=$tmp/nobody "$vsockdev" "${vms[@]}" >"$tmp/run.log" 2>&1 &
pid=$!
pids="$pids $pid"
if wait_for "$tmp/run.log" 'ready: every socket listens' 10 && sleep 0.3 && kill -0 "$pid" 2>/dev/null &&
	grep -q "cannot notify the service manager on NOTIFY_SOCKET=$tmp/nobody" "$tmp/run.log" &&
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$tmp/stats"; then
	ok "a notify socket nobody listens on is logged, and vsockdev serves on"
else
	bad "a notify socket nobody listens on stopped vsockdev or was not logged:"
	show "$tmp/run.log"
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
verdict
