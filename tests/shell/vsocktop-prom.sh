#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsocktop-prom.sh: vsocktop's Prometheus exposition, read back with prometheus_client's own parser: written for
# node_exporter's textfile collector (atomically), served over HTTP while a capture replays (counters only grow),
# and vsockdev's device counters, from a canned statistics document and from a real vsockdev.
# Usage: vsocktop-prom.sh VSOCKTOP VSOCKDEV CAPTURE   (CAPTURE: the golden top-guests.pcap)
# Exit: 0 pass, 1 fail, 77 skip (no python3 with prometheus_client), 99 bad invocation.
set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 VSOCKTOP VSOCKDEV CAPTURE" >&2
	exit 99
fi
top=$(realpath "$1") vsockdev=$(realpath "$2") cap=$(realpath "$3")

# Debian's python3-prometheus-client lives in the system Python, which a PATH python3 may not be.
py=""
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "SKIP: no python3 with prometheus_client (apt-get install python3-prometheus-client)"; exit 77; }

. "$(dirname "$0")/harness.sh"
start_harness

# check.py FILE EXPECTATIONS...: parses FILE with prometheus_client, then checks each expectation:
#   family:NAME:TYPE            the family exists with that type
#   value:SAMPLE{l="v",...}:NUM the sample exists with that value (within 1e-6)
#   absent:FAMILY               no such family
# Every family must be named once and typed (no untyped sample), every counter sample end in _total.
cat >"$tmp/check.py" <<'PY'
import re, sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
errors = []
families = {}
for fam in text_string_to_metric_families(text):
    if fam.name in families:
        errors.append("family %s appears twice" % fam.name)
    families[fam.name] = fam
    if fam.type == "untyped" or fam.type == "unknown":
        errors.append("family %s has no TYPE (a sample named apart from its family?)" % fam.name)
    if not fam.documentation:
        errors.append("family %s has no HELP" % fam.name)
    for s in fam.samples:
        if fam.type == "counter" and not s.name.endswith("_total"):
            errors.append("counter sample %s does not end in _total" % s.name)
samples = {}
for fam in families.values():
    for s in fam.samples:
        key = s.name + "{" + ",".join('%s="%s"' % kv for kv in sorted(s.labels.items())) + "}"
        samples[key] = s.value
for want in sys.argv[2:]:
    kind, rest = want.split(":", 1)
    if kind == "family":
        name, typ = rest.rsplit(":", 1)
        if name not in families:
            errors.append("no family %s" % name)
        elif families[name].type != typ:
            errors.append("family %s is a %s, not a %s" % (name, families[name].type, typ))
    elif kind == "absent":
        if rest in families:
            errors.append("family %s should not be there" % rest)
    elif kind == "value":
        key, value = rest.rsplit(":", 1)
        if "{" not in key:
            key += "{}"
        name, labels = key.split("{", 1)
        labels = labels.rstrip("}")
        key = name + "{" + ",".join(sorted(l for l in labels.split(",") if l)) + "}"
        if key not in samples:
            errors.append("no sample %s (have: %s)" % (key, ", ".join(k for k in samples if k.startswith(name))[:300]))
        elif abs(samples[key] - float(value)) > 1e-6:
            errors.append("%s = %r, want %s" % (key, samples[key], value))
for e in errors:
    print("    " + e)
print("    %d families, %d samples" % (len(families), len(samples)))
sys.exit(1 if errors else 0)
PY
check() { "$py" "$tmp/check.py" "$@"; }

# 1. The textfile: the end of the capture, written by rename so node_exporter never reads half a file.
mkdir "$tmp/textfile"
if "$top" -q -d 1 -r "$cap" --prometheus-file "$tmp/textfile/vsock.prom" 2>"$tmp/err1" &&
   check "$tmp/textfile/vsock.prom" \
	family:vsocktop_info:gauge family:vsock_packets:counter family:vsock_bytes:counter \
	family:vsock_connections:counter family:vsock_connections_held:gauge family:vsock_connections_open:gauge \
	family:vsock_connections_stalled:gauge family:vsock_connection_resets:counter \
	family:vsock_connection_refusals:counter family:vsock_connection_problems:counter \
	family:vsock_cid_connections_held:gauge family:vsock_cid_sent_bytes:counter family:vsock_cid_stall_seconds:counter \
	absent:vsock_kernel_drops absent:vsock_device_up \
	'value:vsocktop_info{version="0.1.0",source="file top-guests.pcap"}:1' \
	value:vsock_capture_time_seconds:12.9001 \
	value:vsock_packets_total:35 value:vsock_bytes_total:114390 value:vsock_connections_total:6 \
	value:vsock_connections_held:6 value:vsock_connections_open:3 value:vsock_connections_stalled:1 \
	value:vsock_connection_resets_total:1 value:vsock_connection_refusals_total:1 value:vsock_connections_closed_total:1 \
	'value:vsock_connection_problems_total{problem="incomplete"}:1' \
	'value:vsock_connection_problems_total{problem="credit_unanswered"}:1' \
	'value:vsock_connection_problems_total{problem="credit_exceeded"}:0' \
	'value:vsock_cid_connections_held{cid="2"}:6' 'value:vsock_cid_connections_stalled{cid="4"}:1' \
	'value:vsock_cid_sent_bytes_total{cid="3"}:79922' 'value:vsock_cid_received_bytes_total{cid="2"}:113690' \
	'value:vsock_cid_sent_packets_total{cid="6"}:1' 'value:vsock_cid_stall_seconds_total{cid="4"}:2.6001' \
	'value:vsock_cid_resets_total{cid="3"}:1' 'value:vsock_cid_refusals_total{cid="5"}:1'; then
	ok "textfile: parses, every family typed and documented, the capture's counters (35 packets, 6 connections...)"
else
	bad "textfile: $(cat "$tmp/err1")"
fi
leftover=$(ls -A "$tmp/textfile" | grep -v '^vsock.prom$')
[ -z "$leftover" ] && ok "textfile: no temporary file left beside vsock.prom" || bad "textfile: left over: $leftover"
# An unwritable place is an error that says where, with a non-zero exit.
if "$top" -q -r "$cap" --prometheus-file /nonexistent/dir/vsock.prom 2>"$tmp/err2"; then
	bad "an unwritable --prometheus-file exited 0"
elif grep -q "/nonexistent/dir" "$tmp/err2"; then
	ok "an unwritable --prometheus-file fails: $(head -1 "$tmp/err2")"
else
	bad "an unwritable --prometheus-file: $(cat "$tmp/err2")"
fi

# 2. HTTP while the capture replays at a quarter of its pace: scrapes parse and their counters only grow.
"$top" -q -d 0.5 --speed 0.25 -r "$cap" --prometheus-port 127.0.0.1:0 2>"$tmp/http.err" &
tp=$!
pids="$pids $tp"
port=""
for _ in $(seq 100); do
	port=$(sed -n 's/^vsocktop: serving metrics on port \([0-9]*\) .*/\1/p' "$tmp/http.err")
	[ -n "$port" ] && break
	sleep 0.05
done
if [ -z "$port" ]; then
	bad "http: vsocktop did not say its port: $(cat "$tmp/http.err")"
else
	cat >"$tmp/scrape.py" <<'PY'
import sys, time, http.client
from prometheus_client.parser import text_string_to_metric_families

port = int(sys.argv[1])
def get(method, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path)
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read().decode()

errors, seen = [], []
for i in range(4):
    status, headers, body = get("GET", "/metrics")
    if status != 200 or not headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"):
        errors.append("scrape %d: %d %s" % (i, status, headers.get("Content-Type")))
    values = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = (fam.type, s.value)
    seen.append(values)
    time.sleep(0.8)
for a, b in zip(seen, seen[1:]):
    for key, (typ, v) in a.items():
        if typ == "counter" and key in b and b[key][1] < v:
            errors.append("counter %s went back from %s to %s" % (key, v, b[key][1]))
first = seen[0].get(("vsock_packets_total", ()), (None, -1))[1]
last = seen[-1].get(("vsock_packets_total", ()), (None, -1))[1]
if not (last > first):
    errors.append("vsock_packets_total did not grow while the capture replayed: %s then %s" % (first, last))
status, headers, body = get("HEAD", "/metrics")
if status != 200 or body != "" or int(headers.get("Content-Length", "0")) == 0:
    errors.append("HEAD /metrics: %d, body %r, length %s" % (status, body[:20], headers.get("Content-Length")))
for method, path, want in (("GET", "/", 200), ("GET", "/other", 404), ("POST", "/metrics", 405)):
    status, headers, body = get(method, path)
    if status != want:
        errors.append("%s %s: %d, want %d" % (method, path, status, want))
for e in errors:
    print("    " + e)
print("    vsock_packets_total: %s, then %s over four scrapes" % (first, last))
sys.exit(1 if errors else 0)
PY
	if "$py" "$tmp/scrape.py" "$port"; then
		ok "http: four scrapes of /metrics parse, counters only grow, HEAD, / 200, 404, 405"
	else
		bad "http: scrapes"
	fi
	kill -TERM "$tp"
	wait "$tp"
	rc=$?
	[ $rc -eq 0 ] && ok "http: SIGTERM ends vsocktop with status 0" || bad "http: vsocktop exited $rc after SIGTERM"
fi

# 3. Devices from a canned vsockdev document (a stand-in daemon on a Unix socket): queues, ring exhaustion.
cat >"$tmp/fakedev.py" <<'PY'
import os, socket, sys
doc = open(sys.argv[2], "rb").read()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.sendall(doc + b"\n")
    except OSError:
        pass  # a reader that left early
    c.close()
PY
cat >"$tmp/doc.json" <<'JSON'
{"version":1,"pid":4242,"uptime_ns":5000000000,"tap_sinks":[{"frames":100,"bytes":9000,"dropped":3,"unobserved":1,"error":0}],
 "vms":[{"guest_cid":3,"socket":"/run/vm3.vhost","uds_path":"/run/vm3.vsock","groups":["default"],"attached":true,"running":true,
  "queues":[{"name":"rx","index":0,"size":256,"started":true,"enabled":true,"avail_idx":300,"last_avail_idx":100,"used_idx":100,"in_flight":0,"kicks":7,"calls":9,"notifications_suppressed":0,"chains_popped":100,"chains_pushed":100},
            {"name":"tx","index":1,"size":256,"started":true,"enabled":true,"avail_idx":50,"last_avail_idx":48,"used_idx":47,"in_flight":1,"kicks":50,"calls":40,"notifications_suppressed":0,"chains_popped":48,"chains_pushed":47}],
  "packets":{"from_guest":1000,"from_guest_bytes":100000,"to_guest":2000,"to_guest_bytes":400000,"split":0,"malformed":0},
  "rx_ring_empty":{"events":5,"total_ns":250000000,"max_ns":100000000,"now":true},
  "host":{"connections":2},"sessions":1,"resets":1,"last_error":"",
  "events_total":3,"events_by_reason":{"no_listener":2,"guest_timeout":1,"malformed_connect":0},
  "events":[{"ts_ns":1700000000000000000,"reason":"no_listener","why":"nothing listens at the host's socket path for that port (is the host service running?)","side":"guest","port":1234,"detail":"/run/vm3.vsock_1234: No such file or directory"},
            {"ts_ns":1700000001000000000,"reason":"guest_timeout","why":"the guest did not answer the REQUEST in time (guest hung, or its driver does not run its queues)","side":"host","port":5000,"detail":"no answer to the REQUEST in 2000 ms"}]}]}
JSON
"$py" "$tmp/fakedev.py" "$tmp/fake.sock" "$tmp/doc.json" >"$tmp/fake.out" 2>&1 &
pids="$pids $!"
for _ in $(seq 100); do grep -q ready "$tmp/fake.out" && break; sleep 0.05; done
if "$top" --device "$tmp/fake.sock" -q -n 2 -d 0.2 --prometheus-file "$tmp/dev.prom" 2>"$tmp/err3" &&
   check "$tmp/dev.prom" family:vsock_device_up:gauge family:vsock_device_queue_occupancy:gauge \
	family:vsock_device_rx_ring_empty_events:counter family:vsock_device_rx_ring_empty_seconds:counter \
	family:vsock_device_packets:counter \
	value:vsock_device_up:1 value:vsock_device_tap_drops_total:3 \
	'value:vsock_device_attached{guest_cid="3"}:1' 'value:vsock_device_connections{guest_cid="3"}:2' \
	'value:vsock_device_queue_size{guest_cid="3",queue="rx"}:256' \
	'value:vsock_device_queue_occupancy{guest_cid="3",queue="rx"}:200' \
	'value:vsock_device_queue_occupancy{guest_cid="3",queue="tx"}:3' \
	'value:vsock_device_queue_kicks_total{guest_cid="3",queue="tx"}:50' \
	'value:vsock_device_rx_ring_empty_events_total{guest_cid="3"}:5' \
	'value:vsock_device_rx_ring_empty_seconds_total{guest_cid="3"}:0.25' \
	'value:vsock_device_rx_ring_empty{guest_cid="3"}:1' \
	'value:vsock_device_packets_total{direction="to_guest",guest_cid="3"}:2000' \
	'value:vsock_device_bytes_total{direction="from_guest",guest_cid="3"}:100000' \
	'value:vsock_device_resets_total{guest_cid="3"}:1' value:vsock_packets_total:0 \
	family:vsock_device_refusals:counter \
	'value:vsock_device_refusals_total{guest_cid="3",reason="no_listener"}:2' \
	'value:vsock_device_refusals_total{guest_cid="3",reason="guest_timeout"}:1' \
	'value:vsock_device_refusals_total{guest_cid="3",reason="malformed_connect"}:0'; then
	ok "device (canned document): queues, occupancy, ring exhaustion, packets, tap drops, refusals by reason"
else
	bad "device (canned document): $(cat "$tmp/err3")"
fi
"$top" --device "$tmp/fake.sock" -b -n 1 -d 0.2 >"$tmp/dev.txt" 2>&1
if grep -q "^device $tmp/fake.sock: vsockdev pid 4242, up 5.0 s, 1 VM, tap sinks 1: 100 frames, 3 dropped, 1 unobserved$" "$tmp/dev.txt" &&
   grep -Eq '^3 +run +2 +0 +0 +200/256 +3/256 +NOW +250.0ms +5 +100.0ms +1$' "$tmp/dev.txt" &&
   grep -q "Drops: tap 3, kernel -" "$tmp/dev.txt" &&
   grep -q "^Events of CID 3 (last 2 of 3):$" "$tmp/dev.txt" &&
   grep -Eq "^  [0-9]{2}:[0-9]{2}:[0-9]{2} CID 3 guest to host port 1234: no_listener: nothing listens at the host's socket path for that port \(is the host service running\?\) \(/run/vm3.vsock_1234: No such file or directory\)$" "$tmp/dev.txt" &&
   grep -Eq "^  [0-9]{2}:[0-9]{2}:[0-9]{2} CID 3 host to guest port 5000: guest_timeout: the guest did not answer the REQUEST in time .*\(no answer to the REQUEST in 2000 ms\)$" "$tmp/dev.txt"; then
	ok "device view in batch mode: the VM's line (occupancy 200/256, ring empty now, 250 ms in 5 events), its events with their cause"
else
	bad "device view in batch mode:"; sed 's/^/    /' "$tmp/dev.txt"
fi

# 4. A real vsockdev with a VM no QEMU has attached: the document it serves reads back whole.
# VM 3 has a host side: a host program's CONNECT finds no driver behind the device (no QEMU), and
# vsockdev counts it by that cause.
"$vsockdev" --vm guest-cid=3,socket="$tmp/vm3.vhost",uds-path="$tmp/vm3.vsock" \
	--vm guest-cid=7,socket="$tmp/vm7.vhost" --stats "$tmp/stats.sock" -q 2>"$tmp/vsockdev.err" &
pids="$pids $!"
for _ in $(seq 100); do [ -S "$tmp/stats.sock" ] && [ -S "$tmp/vm3.vsock" ] && break; sleep 0.05; done
"$py" - "$tmp/vm3.vsock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"CONNECT 5000\n")
s.settimeout(5)
s.recv(16)  # the daemon closes it without an answer
PY
if "$top" --device "$tmp/stats.sock" -q -n 2 -d 0.2 --prometheus-file "$tmp/real.prom" 2>"$tmp/err4" &&
   check "$tmp/real.prom" value:vsock_device_up:1 'value:vsock_device_attached{guest_cid="3"}:0' \
	'value:vsock_device_attached{guest_cid="7"}:0' 'value:vsock_device_packets_total{direction="from_guest",guest_cid="7"}:0' \
	'value:vsock_device_refusals_total{guest_cid="3",reason="no_driver"}:1' \
	'value:vsock_device_refusals_total{guest_cid="3",reason="no_listener"}:0' \
	'value:vsock_device_refusals_total{guest_cid="7",reason="no_driver"}:0'; then
	ok "device (real vsockdev): two VMs, not attached, read back; a host CONNECT without a driver counted as no_driver"
else
	bad "device (real vsockdev): $(cat "$tmp/err4" "$tmp/vsockdev.err")"
fi
# No daemon there: the error says so and what to do, the exposition says the device is down.
if "$top" --device "$tmp/none.sock" -q -n 1 -d 0.2 --prometheus-file "$tmp/none.prom" &&
   check "$tmp/none.prom" value:vsock_device_up:0 &&
   "$top" --device "$tmp/none.sock" -b -n 1 -d 0.2 | grep -q "is vsockdev running with --stats"; then
	ok "device missing: vsock_device_up 0, and the view says to start vsockdev --stats"
else
	bad "device missing"
fi

verdict
