#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tap-random.sh: the tap's pcap of a long random two-engine run reads whole in vsockdump and tshark:
# one line per frame the engine tapped, the same header fields in both, no warnings.
# Usage: tap-random.sh TEST_SCENARIOS VSOCKDUMP NDJSON_FIELDS
# Exit: 0 pass, 1 fail, 77 skip (tshark missing: the vsockdump half still ran), 99 bad invocation.
set -u
. "$(dirname "$0")/tshark-builtin.sh"

if [ $# -ne 3 ]; then
	echo "usage: $0 TEST_SCENARIOS VSOCKDUMP NDJSON_FIELDS" >&2
	exit 99
fi
scen=$1 vd=$2 fields=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cap=$tmp/run.pcap
fail=0

# The run itself checks the file against the wire (test-scenarios.c, tap_random_run()) and leaves
# the number of frames in run.pcap.count. Another seed than the unit test's, and more steps.
if ! CMOCKA_MESSAGE_OUTPUT=stdout "$scen" --tap-run "$cap" 100000 0x5eed >"$tmp/run.out" 2>&1; then
	echo "FAIL: the random run"
	sed 's/^/    /' "$tmp/run.out"
	exit 1
fi
grep '^# random run' "$tmp/run.out"
n=$(cat "$cap.count")
echo "the engine tapped $n frames ($(stat -c %s "$cap") bytes)"

got=$("$vd" -n -r "$cap" 2>"$tmp/vd.err" | wc -l)
if [ "$got" -eq "$n" ] && [ ! -s "$tmp/vd.err" ]; then
	echo "ok: vsockdump -r prints $got packets"
else
	echo "FAIL: vsockdump -r prints $got packets of $n"
	sed 's/^/    /' "$tmp/vd.err"
	fail=1
fi

if ! command -v tshark >/dev/null; then
	echo "SKIP: tshark is not installed (./do deps installs it); the vsockdump half passed: $((1 - fail))"
	[ $fail -eq 0 ] && exit 77
	exit 1
fi
# tshark's own vsock dissector, field by field against vsockdump's NDJSON (as oracle-tshark.sh).
tshark -r "$cap" -T fields -E separator=, \
	-e vsock.src_cid -e vsock.src_port -e vsock.dst_cid -e vsock.dst_port -e vsock.op \
	-e vsock.trans -e vsock.trans_len -e vsock.virtio.op -e vsock.virtio.type -e vsock.virtio.len \
	-e vsock.virtio.flags -e vsock.virtio.buf_alloc -e vsock.virtio.fwd_cnt -e frame.cap_len \
	>"$tmp/tshark" 2>"$tmp/tshark.err"
"$vd" --json -r "$cap" 2>/dev/null |
	"$fields" src_cid src_port dst_cid dst_port mon_op transport tp_len op type len flags buf_alloc fwd_cnt caplen \
	>"$tmp/ours"
t=$(wc -l <"$tmp/tshark")
if [ "$t" -eq "$n" ]; then
	echo "ok: tshark -r reads $t packets"
else
	echo "FAIL: tshark -r reads $t packets of $n"
	sed 's/^/    /' "$tmp/tshark.err"
	fail=1
fi
if cmp -s "$tmp/tshark" "$tmp/ours"; then
	echo "ok: tshark and vsockdump agree on every header field of every packet"
else
	echo "FAIL: tshark and vsockdump differ:"
	diff "$tmp/tshark" "$tmp/ours" | head -20 | sed 's/^/    /'
	fail=1
fi
bad=$(tshark -r "$cap" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
if [ "$bad" -eq 0 ]; then
	echo "ok: tshark finds no malformed packet"
else
	echo "FAIL: tshark finds $bad malformed packets"
	fail=1
fi
exit $fail
