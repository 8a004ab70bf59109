#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# flows-tshark.sh: the flow analysis's per-connection counts (packets, RW packets, payload bytes, SEQPACKET messages, each direction) agree with an independent count from tshark's own vsock dissector, on real kernel captures.
# Usage: flows-tshark.sh VSOCKDUMP CAPTURE...
# Exit: 0 pass, 1 fail, 77 skip (tshark or jq missing: ./do deps installs both), 99 bad invocation.
set -u
. "$(dirname "$0")/tshark-builtin.sh"

if [ $# -lt 2 ]; then
	echo "usage: $0 VSOCKDUMP CAPTURE..." >&2
	exit 99
fi
vd=$1
shift
command -v tshark >/dev/null || { echo "SKIP: tshark not found (apt-get install tshark): it is the independent count"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not found (apt-get install jq): it reads vsockdump's JSON"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0

# One line per direction: "src_cid:src_port>dst_cid:dst_port pkts rw_pkts bytes msgs", sorted.
for cap in "$@"; do
	name=$(basename "$cap")
	# tshark: every frame's virtio header fields; RW is op 5, SEQPACKET type 2, EOM flag bit 0.
	tshark -r "$cap" -T fields -E separator=' ' -e vsock.virtio.src_cid -e vsock.virtio.src_prot \
		-e vsock.virtio.dst_cid -e vsock.virtio.dst_prot -e vsock.virtio.op -e vsock.virtio.len \
		-e vsock.virtio.type -e vsock.virtio.flags 2>"$tmp/tshark.err" |
		awk 'function num(s,  v, i, c) {	# tshark prints the flags in hex (0x00000003); mawk has no strtonum
			if (s !~ /^0x/) return s + 0
			v = 0
			for (i = 3; i <= length(s); i++) { c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1; v = v * 16 + c }
			return v }
		     { k = $1 ":" $2 ">" $3 ":" $4; pk[k]++
		       if ($5 == 5) { rw[k]++; by[k] += $6; if ($7 == 2 && num($8) % 2 == 1) ms[k]++ } }
		     END { for (k in pk) print k, pk[k], rw[k] + 0, by[k] + 0, ms[k] + 0 }' |
		sort >"$tmp/tshark.txt"
	# vsockdump --flows --json: each flow gives its two directions (connections reusing endpoints add up).
	"$vd" --flows --json -r "$cap" 2>"$tmp/vd.err" |
		jq -r 'select(.kind == "flow") |
		       "\(.a_cid):\(.a_port)>\(.b_cid):\(.b_port) \(.a_to_b.pkts) \(.a_to_b.rw_pkts) \(.a_to_b.bytes) \(.a_to_b.msgs)",
		       "\(.b_cid):\(.b_port)>\(.a_cid):\(.a_port) \(.b_to_a.pkts) \(.b_to_a.rw_pkts) \(.b_to_a.bytes) \(.b_to_a.msgs)"' |
		awk '{ pk[$1] += $2; rw[$1] += $3; by[$1] += $4; ms[$1] += $5 }
		     END { for (k in pk) if (pk[k]) print k, pk[k], rw[k], by[k], ms[k] }' |
		sort >"$tmp/vd.txt"
	# Credit stalls, computed again from tshark's fields alone: a sender is stalled from the RW after which
	# peer_buf_alloc - (tx_cnt - peer_fwd_cnt) <= 0 until a packet of the peer gives credit back, or the
	# connection's RST (virtio spec 5.10.6.3). "direction stalls stall_ms" per stalling direction.
	tshark -r "$cap" -T fields -E separator=' ' -e frame.time_epoch -e vsock.virtio.src_cid -e vsock.virtio.src_prot \
		-e vsock.virtio.dst_cid -e vsock.virtio.dst_prot -e vsock.virtio.op -e vsock.virtio.len \
		-e vsock.virtio.buf_alloc -e vsock.virtio.fwd_cnt 2>/dev/null |
		awk 'function stop(d, t) { if (st[d]) { tot[d] += t - since[d]; st[d] = 0 } }
		     { t = $1; k = $2 ":" $3 ">" $4 ":" $5; r = $4 ":" $5 ">" $2 ":" $3; op = $6; last = t
		       if (op == 1) { tx[k] = tx[r] = 0; adv[k] = adv[r] = 0; st[k] = st[r] = 0 }
		       if (op == 3) { stop(k, t); stop(r, t); next }
		       if (op == 5) tx[k] += $7
		       buf[k] = $8; fwd[k] = $9; adv[k] = 1
		       if (op == 5 && $7 > 0 && adv[r] && !st[k] && buf[r] - (tx[k] - fwd[r]) <= 0) { st[k] = 1; since[k] = t; n[k]++ }
		       if (st[r] && adv[k] && buf[k] - (tx[r] - fwd[k]) > 0) stop(r, t) }
		     END { for (d in n) { stop(d, last); printf "%s %d %.1f\n", d, n[d], tot[d] * 1000 } }' |
		sort >"$tmp/tshark-stalls.txt"
	"$vd" --flows --json -r "$cap" 2>/dev/null |
		jq -r 'select(.kind == "flow") |
		       (select(.a_to_b.stalls > 0) | "\(.a_cid):\(.a_port)>\(.b_cid):\(.b_port) \(.a_to_b.stalls) \(.a_to_b.stall_ns)"),
		       (select(.b_to_a.stalls > 0) | "\(.b_cid):\(.b_port)>\(.a_cid):\(.a_port) \(.b_to_a.stalls) \(.b_to_a.stall_ns)")' |
		awk '{ printf "%s %d %.1f\n", $1, $2, $3 / 1e6 }' | sort >"$tmp/vd-stalls.txt"
	stalls=$(awk '{ n += $2 } END { print n + 0 }' "$tmp/tshark-stalls.txt")
	if cmp -s "$tmp/tshark-stalls.txt" "$tmp/vd-stalls.txt"; then
		passes=$((passes + 1))
		echo "ok: $name: $stalls credit stalls in $(wc -l <"$tmp/vd-stalls.txt") directions, same count and length (to 0.1 ms) as computed from tshark's fields"
	else
		fails=$((fails + 1))
		echo "FAIL: $name: credit stalls differ (< from tshark's fields, > vsockdump --flows):"
		diff "$tmp/tshark-stalls.txt" "$tmp/vd-stalls.txt" | head -20 | sed 's/^/    /'
	fi
	dirs=$(wc -l <"$tmp/tshark.txt")
	pkts=$(awk '{ n += $2 } END { print n + 0 }' "$tmp/tshark.txt")
	msgs=$(awk '{ n += $5 } END { print n + 0 }' "$tmp/tshark.txt")
	if [ "$dirs" -gt 0 ] && cmp -s "$tmp/tshark.txt" "$tmp/vd.txt" && ! [ -s "$tmp/vd.err" ]; then
		passes=$((passes + 1))
		echo "ok: $name: $dirs connection directions, $pkts packets, $msgs SEQPACKET messages: vsockdump --flows and tshark count the same"
	else
		fails=$((fails + 1))
		echo "FAIL: $name: the counts differ (< tshark, > vsockdump --flows):"
		diff "$tmp/tshark.txt" "$tmp/vd.txt" | head -20 | sed 's/^/    /'
		sed 's/^/    /' "$tmp/vd.err" "$tmp/tshark.err"
	fi
done
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
