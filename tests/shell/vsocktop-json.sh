#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsocktop-json.sh: vsocktop --json on captures: every line parses and has the snapshot schema, frames fall on
# capture time, counters only grow, rates add back up to the counts, and the last snapshot's connections and
# totals are exactly those of vsockdump --flows --json on the same capture.
# Usage: vsocktop-json.sh VSOCKTOP VSOCKDUMP CAPTURE...
# Exit: 0 pass, 1 fail, 77 skip (jq missing), 99 bad invocation.
set -u

if [ $# -lt 3 ]; then
	echo "usage: $0 VSOCKTOP VSOCKDUMP CAPTURE..." >&2
	exit 99
fi
top=$1 dump=$2
shift 2
command -v jq >/dev/null || { echo "SKIP: jq not found (apt-get install jq)"; exit 77; }

. "$(dirname "$0")/harness.sh"
start_harness

# The schema of one snapshot line; jq -e fails on false or null.
schema='
  .schema == 1 and .kind == "snapshot" and (.ts | type) == "number" and (.interval | type) == "number"
  and (.source | type) == "string" and .capture_time == true and (.end | type) == "boolean"
  and (.filter | type) == "string"
  and (.totals | keys) == (["bytes","closed","evicted","flows","live","open","pkts","problems","refused","resets","stalled"])
  and (.rates.pkts | type) == "number" and (.rates.bytes | type) == "number"
  and .drops.kernel == null and .drops.tap == null
  and (.flows | type) == "array" and .shown == (.flows | length)
  and all(.flows[]; .schema == 1 and .kind == "flow" and (.id | type) == "number"
          and (.rates.a_to_b.bytes | type) == "number" and (.rates.b_to_a.pkts | type) == "number"
          and (.a_to_b.credit == null or (.a_to_b.credit | type) == "number"))
  and ([.flows[].id] == ([.flows[].id] | sort))
  and (.cids | type) == "array"
  and all(.cids[]; (.cid | type) == "number" and (.tx_bytes | type) == "number" and (.rates.rx_bytes | type) == "number")
  and (has("devices") | not)'

untimed='.events |= map(if .event == "credit_unanswered" or .event == "incomplete" or .event == "half_open" then del(.ts) else . end)'

check_capture() {
	local cap=$1 d=$2 name lines first
	name=$(basename "$cap")
	if ! "$top" --json -d "$d" -r "$cap" >"$tmp/top.ndjson" 2>"$tmp/top.err"; then
		bad "$name: vsocktop --json exited with $?: $(cat "$tmp/top.err")"
		return
	fi
	lines=$(wc -l <"$tmp/top.ndjson")
	if [ "$lines" -lt 1 ]; then
		bad "$name: no snapshot"
		return
	fi
	if jq -e . "$tmp/top.ndjson" >/dev/null 2>"$tmp/jq.err"; then
		ok "$name: $lines lines, each parses as JSON"
	else
		bad "$name: a line does not parse: $(head -3 "$tmp/jq.err")"
		return
	fi
	if jq -e "$schema" "$tmp/top.ndjson" | grep -qv '^true$'; then
		bad "$name: a snapshot breaks the schema: line $(jq -e "$schema" "$tmp/top.ndjson" | grep -nv '^true$' | head -1)"
	else
		ok "$name: every snapshot has the schema (keys, types, flows in id order, no devices without --device)"
	fi

	# Capture time: snapshots at the first packet + k * d (k = 1, 2...), the last at the last packet, with end
	# set; k skips ahead only over time without a packet (the frames of an idle gap collapse into one).
	first=$("$dump" --json -c 1 -r "$cap" | jq '.ts')
	if jq -s -e --argjson first "$first" --argjson d "$d" '
		def step: (.ts - $first) / $d;
		. as $s | length as $n
		| ([range(0; $n - 1) as $k | $s[$k] | ((step - (step | round)) | fabs) < 2e-5 / $d and step > 0.5 and .end == false] | all)
		and ($n == 1 or (($s[0] | step) - 1 | fabs) < 2e-5 / $d)
		and ([range(1; $n - 1) as $k | ($s[$k] | step) - ($s[$k - 1] | step) < 1.5
		      or $s[$k].totals.pkts == $s[$k - 1].totals.pkts] | all)
		and $s[$n - 1].end == true
		and ([$s[].ts] | . == sort)
		and ([range(1; $n) as $k | ($s[$k].ts - $s[$k - 1].ts - $s[$k].interval) | fabs < 2e-5] | all)' \
		"$tmp/top.ndjson" >/dev/null; then
		ok "$name: snapshots at the first packet ($first) + k * $d s of capture time (idle gaps in one), the last at the end"
	else
		bad "$name: snapshot times are not on the capture's clock:"
		jq -c '{ts, interval, "end": .end}' "$tmp/top.ndjson" | head -5
	fi

	# Counters only grow (totals and per CID), and rates times intervals add up to the counts.
	if jq -s -e '
		([.[].totals.pkts] | . == sort) and ([.[].totals.bytes] | . == sort) and ([.[].totals.flows] | . == sort)
		and ([.[] | .cids[] | {cid, tx_bytes}] | group_by(.cid) | all(map(.tx_bytes) | . == sort))
		and (([.[] | .rates.pkts * .interval] | add) - .[-1].totals.pkts | fabs) < 0.01
		and (([.[] | .rates.bytes * .interval] | add) - .[-1].totals.bytes | fabs) < 0.01' \
		"$tmp/top.ndjson" >/dev/null; then
		ok "$name: counters never go back; rates x intervals add up to $(tail -1 "$tmp/top.ndjson" | jq .totals.pkts) packets, $(tail -1 "$tmp/top.ndjson" | jq .totals.bytes) bytes"
	else
		bad "$name: counters went back or rates do not add up"
	fi

	# Per CID: what each CID sent adds up to every byte (each connection counted at both its ends), unless
	# connections left the table (a REQUEST reusing a finished connection's endpoints starts it anew).
	if tail -1 "$tmp/top.ndjson" | jq -e '
		([.cids[].tx_bytes] | add // 0) as $tx | ([.cids[].rx_bytes] | add // 0) as $rx
		| if .totals.flows == .totals.live then $tx == .totals.bytes and $rx == .totals.bytes
		  else $tx <= .totals.bytes and $rx == $tx end' >/dev/null; then
		ok "$name: the CIDs' sent and received bytes each add up to the total"
	else
		bad "$name: per-CID bytes do not add up: $(tail -1 "$tmp/top.ndjson" | jq -c '{t: .totals.bytes, tx: [.cids[].tx_bytes], rx: [.cids[].rx_bytes]}')"
	fi

	# The end: the same connections and totals as vsockdump --flows --json, field for field. Only the time of
	# problems that time reveals (an unanswered CREDIT_REQUEST, a connect or half-close left so) is when each
	# tool looked: vsocktop at a snapshot, vsockdump every 256 packets and at the end.
	"$dump" --flows --json -r "$cap" >"$tmp/dump.ndjson"
	jq -S -c "select(.kind == \"flow\") | $untimed" "$tmp/dump.ndjson" >"$tmp/want.flows"
	tail -1 "$tmp/top.ndjson" | jq -S -c ".flows[] | del(.rates) | $untimed" >"$tmp/got.flows"
	if [ -s "$tmp/want.flows" ] && cmp -s "$tmp/want.flows" "$tmp/got.flows"; then
		ok "$name: the last snapshot's $(wc -l <"$tmp/got.flows") connections equal vsockdump --flows --json's"
	else
		bad "$name: the last snapshot's connections differ from vsockdump --flows --json's (< vsockdump, > vsocktop):"
		diff "$tmp/want.flows" "$tmp/got.flows" | cut -c1-200 | head -10
	fi
	if [ "$(jq -S -c 'select(.kind == "totals") | .totals' "$tmp/dump.ndjson")" = "$(tail -1 "$tmp/top.ndjson" | jq -S -c .totals)" ]; then
		ok "$name: the last snapshot's totals equal vsockdump's"
	else
		bad "$name: totals differ: vsockdump $(jq -c 'select(.kind == "totals") | .totals' "$tmp/dump.ndjson"), vsocktop $(tail -1 "$tmp/top.ndjson" | jq -c .totals)"
	fi
}

for cap in "$@"; do
	check_capture "$cap" 0.5
done
# A coarser interval on the first capture: fewer snapshots, the same end.
check_capture "$1" 1

# -n stops early: exactly that many snapshots, none at the end.
n=$("$top" --json -n 2 -d 0.1 -r "$1" | wc -l)
if [ "$n" = 2 ] && "$top" --json -n 2 -d 0.1 -r "$1" | jq -e -s 'all(.[]; .end == false)' >/dev/null; then
	ok "-n 2: two snapshots"
else
	bad "-n 2 gave $n snapshots"
fi

# A filter: the connections shown are those with an end on CID 4, the totals still count everything.
for cap in "$@"; do
	case $cap in *top-guests*) guests=$cap ;; esac
done
if [ -n "${guests:-}" ]; then
	"$top" --json -d 1 -r "$guests" cid 4 | tail -1 >"$tmp/filtered.json"
	"$dump" --flows --json -r "$guests" | jq -S -c 'select(.kind == "flow" and (.a_cid == 4 or .b_cid == 4))' >"$tmp/want4"
	jq -S -c '.flows[] | del(.rates)' "$tmp/filtered.json" >"$tmp/got4"
	if [ -s "$tmp/want4" ] && cmp -s "$tmp/want4" "$tmp/got4" && jq -e '.filter == "cid 4" and .shown == 2 and .totals.flows == 6 and ([.cids[].cid] == [2,4])' "$tmp/filtered.json" >/dev/null; then
		ok "filter 'cid 4': its $(wc -l <"$tmp/got4") connections, CIDs 2 and 4 only, totals of all 6"
	else
		bad "filter 'cid 4': $(jq -c '{filter, shown, t: .totals.flows, cids: [.cids[].cid]}' "$tmp/filtered.json")"
		diff "$tmp/want4" "$tmp/got4" | cut -c1-160 | head -6
	fi
fi

verdict
