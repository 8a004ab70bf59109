#!/bin/bash
# oracle-tshark.sh: for each capture, the fields tshark also decodes agree with vsockdump's, packet by packet.
# Usage: oracle-tshark.sh VSOCKDUMP NDJSON_FIELDS CAPTURE...
set -u
. "$(dirname "$0")/tshark-builtin.sh"
vsockdump=$1 fields=$2
shift 2
if ! command -v tshark >/dev/null; then
	echo "SKIP: tshark is not installed (./do deps installs it)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 total=0
for cap in "$@"; do
	name=$(basename "$cap")
	# tshark's built-in vsock dissector: its field names, typos included (src_prot, dst_prot).
	tshark -r "$cap" -T fields -E separator=, \
		-e vsock.src_cid -e vsock.src_port -e vsock.dst_cid -e vsock.dst_port -e vsock.op \
		-e vsock.trans -e vsock.trans_len -e vsock.virtio.op -e vsock.virtio.type -e vsock.virtio.len \
		-e vsock.virtio.flags -e vsock.virtio.buf_alloc -e vsock.virtio.fwd_cnt -e frame.cap_len \
		>"$tmp/tshark" 2>"$tmp/tshark.err"
	"$vsockdump" --json -r "$cap" >"$tmp/json" 2>"$tmp/vd.err" || { echo "FAIL: vsockdump on $name"; cat "$tmp/vd.err"; fail=1; continue; }
	"$fields" src_cid src_port dst_cid dst_port mon_op transport tp_len op type len flags buf_alloc fwd_cnt caplen \
		<"$tmp/json" >"$tmp/ours" || { fail=1; continue; }
	n=$(wc -l <"$tmp/ours")
	if [ "$n" -eq 0 ]; then
		echo "FAIL: $name: vsockdump printed no packets"
		fail=1
		continue
	fi
	# tshark cannot decode what it rejects (frames shorter than the vsockmon header, virtio headers
	# cut short): compare only rows where tshark decoded the addresses, and count them.
	paste -d'|' "$tmp/tshark" "$tmp/ours" | awk -F'|' -v name="$name" '
		{ t = $1; o = $2
		  split(t, tf, ","); split(o, of, ",")
		  if (tf[1] == "") { skipped++; next }
		  # tshark leaves the virtio fields empty when the header is cut: compare the common prefix.
		  bad = 0
		  for (i = 1; i <= 14; i++) if (tf[i] != "" && tf[i] != of[i]) bad = 1
		  if (bad) { printf "MISMATCH %s packet %d\n  tshark:    %s\n  vsockdump: %s\n", name, NR, t, o; fails++ }
		  compared++ }
		END { printf "%s: %d packets compared, %d not decoded by tshark, %d mismatches\n", name, compared, skipped, fails
		      exit (fails > 0 || compared == 0) }' || fail=1
	total=$((total + n))
	# The same capture rewritten by tshark as pcapng must read exactly like the pcap.
	if tshark -r "$cap" -F pcapng -w "$tmp/ng.pcapng" 2>/dev/null; then
		if cmp -s <("$vsockdump" --json -r "$tmp/ng.pcapng") "$tmp/json"; then
			echo "$name: tshark's pcapng rewrite reads the same ($n packets)"
		else
			echo "FAIL: $name: the pcapng rewrite reads differently"
			fail=1
		fi
	fi
done
echo "total packets: $total"
exit $fail
