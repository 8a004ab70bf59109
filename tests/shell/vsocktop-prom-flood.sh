#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsocktop-prom-flood.sh: vsocktop's Prometheus endpoint listens on loopback unless told otherwise (ss -ltn in a
# network namespace of the test's own), and a scrape succeeds within 2 s while 1,000 idle connections and 50
# slow clients (a request byte every 0.5 s) hold on to it; prints the scrape latencies.
# Usage: vsocktop-prom-flood.sh VSOCKTOP MKPCAP
# Exit: 0 pass, 1 fail, 77 skip (not root, no unshare, ss or python3), 99 bad invocation.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 VSOCKTOP MKPCAP" >&2
	exit 99
fi
top=$(realpath "$1") mkpcap=$(realpath "$2")

. "$(dirname "$0")/harness.sh"
command -v python3 >/dev/null || skip "python3 not found: the flood's clients are written in it"
command -v ss >/dev/null || skip "ss not found (apt-get install iproute2)"
# In a network namespace of its own: the ports are the test's, the listeners seen are vsocktop's only.
enter_netns ss python3 -- "$@"
ip link set lo up || skip "cannot bring lo up in the namespace"
start_harness
# 1,050 connections, each a descriptor in this test's client.
ulimit -n 4096 2>/dev/null || skip "cannot raise the descriptor limit to 4096 (ulimit -n)"

# A capture that replays for an hour at its recorded pace (--speed 1).
cat >"$tmp/long.pkt" <<'PKT'
1.000000 3:1234 > 2:5000 request buf_alloc=65536
1.100000 2:5000 > 3:1234 response buf_alloc=65536
3600.000000 3:1234 > 2:5000 rw payload=10 buf_alloc=65536
PKT
"$mkpcap" "$tmp/long.pkt" "$tmp/long.pcap" || { echo "FAIL: mkpcap"; exit 1; }

# serve SPEC: vsocktop serving on SPEC in the background ($pid); its listening port in $port.
serve() {
	rm -f "$tmp/err"	# not the last run's line: the new one truncates it only once started
	"$top" -q -d 0.5 --speed 1 -r "$tmp/long.pcap" --prometheus-port "$1" 2>"$tmp/err" &
	pid=$!
	pids="$pids $pid"
	port=""
	if wait_for "$tmp/err" 'serving metrics on port' 5; then
		port=$(sed -n 's/^vsocktop: serving metrics on port \([0-9]*\) .*/\1/p' "$tmp/err")
	fi
}
stop() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# 1. The address: PORT alone is loopback only; 0.0.0.0 and [::] are asked for.
for spec in 9100 0.0.0.0:9100 '[::]:9100' '[::1]:9100'; do
	case $spec in
	9100) want='127.0.0.1:9100' ;;
	0.0.0.0:9100) want='0.0.0.0:9100' ;;
	'[::]:9100') want='\*:9100|\[::\]:9100' ;;
	'[::1]:9100') want='\[::1\]:9100' ;;
	esac
	serve "$spec"
	ss -ltnH >"$tmp/ss"
	stop
	if [ "$(wc -l <"$tmp/ss")" = 1 ] && awk '{print $4}' "$tmp/ss" | grep -Eqx "$want"; then
		ok "--prometheus-port $spec listens on $(awk '{print $4}' "$tmp/ss") only"
	else
		bad "--prometheus-port $spec: expected a listener on $want alone, ss -ltn shows:"
		show "$tmp/ss" "$tmp/err"
	fi
done

# 2. The flood: 1,000 idle connections, then 50 slow clients, then 10 scrapes one after another.
serve 127.0.0.1:0
if [ -z "$port" ]; then
	bad "vsocktop did not start serving"
	show "$tmp/err"
	verdict
	exit
fi
cat >"$tmp/flood.py" <<'PY'
import socket, sys, threading, time

port = int(sys.argv[1])
idle, slow = [], []
for _ in range(1000):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    idle.append(s)
request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
for _ in range(50):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        pass
    slow.append(s)
stop = False

def trickle():
    # one byte of the request every 0.5 s from each slow client, for as long as the scrapes go on
    i = 0
    while not stop:
        for s in slow:
            try:
                s.send(request[i % len(request):i % len(request) + 1])
            except OSError:
                pass
        i += 1
        time.sleep(0.5)

t = threading.Thread(target=trickle)
t.start()
time.sleep(1)
worst, failed, times = 0.0, 0, []
for _ in range(10):
    start = time.monotonic()
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.settimeout(10)
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: flood-test\r\n\r\n")
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
        c.close()
        good = data.startswith(b"HTTP/1.0 200") and b"vsock_packets_total" in data
    except OSError as e:
        good = False
        print("scrape error:", e)
    elapsed = time.monotonic() - start
    times.append(elapsed)
    if not good:
        failed += 1
    time.sleep(0.2)
stop = True
t.join()
times.sort()
print("scrapes: %d of 10 failed; latency ms: min %.1f median %.1f max %.1f"
      % (failed, times[0] * 1000, times[len(times) // 2] * 1000, times[-1] * 1000))
sys.exit(0 if failed == 0 and times[-1] < 2.0 else 1)
PY
if python3 "$tmp/flood.py" "$port" >"$tmp/flood" 2>&1; then
	ok "scrapes during 1,000 idle and 50 slow connections: $(tail -1 "$tmp/flood")"
else
	bad "scrapes during 1,000 idle and 50 slow connections (each must succeed within 2 s):"
	show "$tmp/flood"
fi
if kill -0 "$pid" 2>/dev/null; then
	ok "vsocktop still runs after the flood"
else
	bad "vsocktop ended during the flood"
	show "$tmp/err"
fi
stop
verdict
