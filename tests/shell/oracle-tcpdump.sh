#!/bin/bash
# oracle-tcpdump.sh: vsockdump -v's text agrees with tcpdump -v's decode of the same captures, packet
# by packet: addresses, op, payload length, buf_alloc, fwd_cnt (what tcpdump's vsock printer decodes).
# Usage: oracle-tcpdump.sh VSOCKDUMP CAPTURE...
set -u
vd=$1
shift
if ! command -v tcpdump >/dev/null; then
	echo "SKIP: tcpdump is not installed (./do deps installs it)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for cap in "$@"; do
	name=$(basename "$cap")
	# tcpdump -v: "TS VIRTIO (len L, type T, op OP, flags F, buf_alloc B, fwd_cnt C)\n\tS.SP > D.DP MONOP, length N"
	# One record per packet: continuation lines (starting with a tab) are joined to their packet.
	tcpdump -nn -v -r "$cap" 2>/dev/null | awk '
		/^\t/ { line = line $0; next }
		{ if (NR > 1) print line; line = $0 }
		END { if (NR) print line }' |
	awk '{
		if (match($0, /\(len [0-9]+, type .*, op [A-Za-z ()0-9]+, flags [0-9a-f]+, buf_alloc [0-9]+, fwd_cnt [0-9]+\)/) == 0) { print "-"; next }
		v = substr($0, RSTART + 1, RLENGTH - 2); rest = substr($0, RSTART + RLENGTH)
		split(v, kv, ", ")
		len = kv[1]; sub(/^len /, "", len)
		op = kv[3]; sub(/^op /, "", op); gsub(/ /, "_", op)
		if (op ~ /^Invalid_op/) { gsub(/[^0-9]/, "", op); op = "op" op }
		b = kv[5]; sub(/^buf_alloc /, "", b); c = kv[6]; sub(/^fwd_cnt /, "", c)
		sub(/^\t/, "", rest); split(rest, a, " ")
		src = a[1]; dst = a[3]; sub(/:$/, "", dst)
		n = split(src, s, "."); m = split(dst, d, ".")
		print s[1], s[2], d[1], d[2], op, len, b, c
	}' >"$tmp/tcpdump"
	# vsockdump -n -v: "TS S:SP > D:DP TYPE OP [FLAGS], length L, buf_alloc B, fwd_cnt C [problems: ...]"
	"$vd" -n -v -r "$cap" | awk '{
		if ($0 !~ /buf_alloc/) { print "-"; next }
		split($2, s, ":"); split($4, d, ":")
		op = $6; sub(/,$/, "", op)
		match($0, /length [0-9]+/); len = substr($0, RSTART + 7, RLENGTH - 7)
		match($0, /buf_alloc [0-9]+/); b = substr($0, RSTART + 10, RLENGTH - 10)
		match($0, /fwd_cnt [0-9]+/); c = substr($0, RSTART + 8, RLENGTH - 8)
		if (op ~ /^op\(/) gsub(/[()]/, "", op)
		print s[1], s[2], d[1], d[2], op, len, b, c
	}' >"$tmp/ours"
	lt=$(wc -l <"$tmp/tcpdump") lo=$(wc -l <"$tmp/ours")
	if [ "$lt" -ne "$lo" ] || [ "$lt" -eq 0 ]; then
		echo "FAIL: $name: tcpdump shows $lt packets, vsockdump $lo"
		fail=1
		continue
	fi
	paste -d'|' "$tmp/tcpdump" "$tmp/ours" | awk -F'|' -v name="$name" '
		$1 == "-" { skipped++; next }
		{ compared++ }
		$1 != $2 { printf "MISMATCH %s packet %d\n  tcpdump:   %s\n  vsockdump: %s\n", name, NR, $1, $2; bad++ }
		END { printf "%s: %d packets compared, %d without a virtio header in tcpdump, %d mismatches\n", name, compared, skipped, bad
		      exit (bad > 0 || compared == 0) }' || fail=1
done
exit $fail
