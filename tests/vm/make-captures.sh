#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make-captures.sh: makes the real-kernel captures tests/golden/captures/kernel-*.pcap in a QEMU guest (scenarios/make-captures.sh), checks that nothing was lost and that they hold what kernel-captures.md says, copies them in and summarises them.
#
# Usage: tests/vm/make-captures.sh [-n] [BUILDDIR]     (BUILDDIR default: build; build first: ninja -C build)
#   -n   make, check and summarise, but leave tests/golden/captures alone
# A maintenance script run by hand, not a meson test: every run gives other captures (ephemeral ports,
# timing, how often credit runs out), so a rerun changes the golden files, and the counts written in
# tests/golden/captures/kernel-captures.md must then be checked again against this summary.
# Work files (console, the guest's results, the captures) stay in BUILDDIR/tests/vm/make-captures.
# Exit: 0 done, 1 a check failed (nothing copied), 77 QEMU or a cloud kernel is missing, 99 the run broke.
# The host opens no vsock socket: all the traffic is vsock_loopback inside the guest (CID 1 to CID 1).
set -u

copy=1
if [ "${1:-}" = -n ]; then
	copy=0
	shift
fi
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../shell/tshark-builtin.sh"
root=$(cd "$here/../.." && pwd)
build=$(realpath "${1:-$root/build}")
peer=$build/tests/vm/vsock-peer
vd=$build/vsockdump/vsockdump
dest=$root/tests/golden/captures
caps="kernel-slow-reader kernel-many-conns kernel-halfopen"
for f in "$peer" "$vd"; do
	[ -x "$f" ] || { echo "make-captures: $f is missing: ninja -C $build" >&2; exit 99; }
done
for tool in tshark tcpdump; do
	command -v $tool >/dev/null || { echo "SKIP: $tool not found: it checks the captures"; exit 77; }
done
work=$build/tests/vm/make-captures
rm -rf "$work"
mkdir -p "$work"

. "$here/lib.sh"
initramfs
run_scenario make-captures 300

# 1. Every vsock-peer run did what it was asked.
steps=$(wc -l <"$r/results.txt")
if [ "$steps" -eq 18 ] && ! grep -qv ' rc=0 ' "$r/results.txt"; then
	ok "18 vsock-peer runs, all rc=0"
else
	bad "vsock-peer runs ($steps lines, 18 expected):"
	show "$r/results.txt"
	for e in "$r"/*.err; do
		[ -s "$e" ] && { echo "  $(basename "$e"):"; show "$e"; }
	done
fi
grep -q '^kernel-halfopen.reset-client rc=0 pending=1 ' "$r/results.txt" ||
	bad "the aborted connect had completed before its close: $(grep reset-client "$r/results.txt")"

# 2. tcpdump lost nothing, and the files hold every packet it counted.
for c in $caps; do
	f=$r/$c.pcap
	captured=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$r/$c.tcpdump")
	received=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter$/\1/p' "$r/$c.tcpdump")
	dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$r/$c.tcpdump")
	inside=$(tcpdump -r "$f" 2>/dev/null | wc -l)
	if [ -n "$captured" ] && [ "$dropped" = 0 ] && [ "$captured" = "$received" ] && [ "$inside" = "$captured" ]; then
		ok "$c: $captured packets captured, $received received by filter, 0 dropped by kernel, $inside in the file"
	else
		bad "$c: tcpdump said (file holds $inside packets):"
		show "$r/$c.tcpdump"
	fi
done

# conn FILE FILTER: vsockdump -n -vvv lines of FILE that match the vsock filter.
conn() {
	"$vd" -n -vvv -r "$1" "$2" 2>/dev/null
}
# ops FILE FILTER: "OP COUNT" for each op of the matching frames, e.g. "CREDIT_UPDATE 64 RW 70 ".
ops() {
	"$vd" -n -t -r "$1" "$2" 2>/dev/null |
		awk '{ sub(/,$/, "", $5); n[$5]++ } END { for (o in n) printf "%s %d\n", o, n[o] }' | sort | tr '\n' ' '
}
# count OPS OP: the count of OP in an ops string, 0 when absent.
count() {
	awk -v op="$2" '{ for (i = 1; i < NF; i += 2) if ($i == op) c = $(i + 1) } END { print c + 0 }' <<<"$1"
}

# 3. What kernel-captures.md promises about each capture.
sr=$r/kernel-slow-reader.pcap
# Credit is judged over the whole connection (a filter on op would hide the handshake and the updates).
conn "$sr" 'port 6001' >"$work/6001.txt"
rw1=$(grep -c ' > 1:6001 STREAM RW,' "$work/6001.txt")
full1=$(grep ' > 1:6001 STREAM RW,' "$work/6001.txt" | grep -c '\[window_full\]')
cu1=$(grep -c '^[^ ]* 1:6001 > .* CREDIT_UPDATE,' "$work/6001.txt")
# Stalls: a full window whose next packet is the reader's CREDIT_UPDATE, then an RW.
stalls=$(awk 's == 2 && / RW,/ { n++ }
	      /\[window_full\]/ { s = 1; next }
	      s == 1 && $2 == "1:6001" && / CREDIT_UPDATE,/ { s = 2; next }
	      { s = 0 }
	      END { print n + 0 }' "$work/6001.txt")
if [ "$full1" -ge 30 ] && [ "$stalls" -ge 30 ] && grep -q ' RESPONSE, .*buf_alloc 65536,' "$work/6001.txt"; then
	ok "port 6001: buf_alloc 65536, $rw1 RW, $full1 of them filling the window, $stalls stalls ended by a CREDIT_UPDATE, $cu1 CREDIT_UPDATEs"
else
	bad "port 6001: $rw1 RW, $full1 fill the window, $stalls stalls ended by a CREDIT_UPDATE (30 or more expected), $cu1 CREDIT_UPDATEs"
fi
# The longest silence on port 6002, and whether the packet before it filled the window.
gap=$("$vd" -n -vvv -tt -r "$sr" 'port 6002' 2>/dev/null |
	awk '{ if (NR > 1 && $1 - t > g) { g = $1 - t; full = prev ~ /\[window_full\]/ } t = $1; prev = $0 }
	     END { printf "%.3f %d", g, full }')
if awk -v g="${gap% *}" 'BEGIN { exit !(g >= 0.8) }' && [ "${gap#* }" = 1 ]; then
	ok "port 6002: a ${gap% *} s stall after an RW that filled the window"
else
	bad "port 6002: longest silence ${gap% *} s, after a full window: ${gap#* }"
fi

mc=$r/kernel-many-conns.pcap
req=$(count "$(ops "$mc" 'port 6101')" REQUEST)
rst=$(count "$(ops "$mc" 'port 6190 or port 6191 or port 6192')" RST)
sreq=$(count "$(ops "$mc" 'port 6102')" REQUEST)
eor=$(conn "$mc" 'port 6102 and op rw' | grep -c 'EOR')
if [ "$req" = 100 ] && [ "$rst" = 3 ] && [ "$sreq" = 2 ] && [ "$eor" -gt 0 ]; then
	ok "port 6101: 100 REQUESTs; 6190-6192: 3 RSTs; 6102: 2 SEQPACKET connections, $eor RW with EOR"
else
	bad "many-conns: 6101 REQUESTs $req (100), 6190-6192 RSTs $rst (3), 6102 REQUESTs $sreq (2), EOR RW $eor"
fi

ho=$r/kernel-halfopen.pcap
o1=$(ops "$ho" 'port 6201') o2=$(ops "$ho" 'port 6202') o3=$(ops "$ho" 'port 6203')
if [ "$(count "$o1" SHUTDOWN)" = 1 ] && [ "$(count "$o1" RST)" = 0 ] &&
   "$vd" -n -r "$ho" 'port 6201 and op shutdown' 2>/dev/null | grep -q ' > 1:6201 .*SHUTDOWN \[SEND\]'; then
	ok "port 6201: the client's SHUTDOWN [SEND], nothing closes: $o1"
else
	bad "port 6201: $o1"
fi
if [ "$(count "$o2" REQUEST)" = 1 ] && [ "$(count "$o2" RESPONSE)" = 1 ] && [ "$(wc -w <<<"$o2")" = 4 ]; then
	ok "port 6202: REQUEST, RESPONSE, then nothing"
else
	bad "port 6202: $o2"
fi
if [ "$(count "$o3" RESPONSE)" = 1 ] && [ "$(count "$o3" RST)" -ge 1 ] && [ "$(count "$o3" SHUTDOWN)" = 0 ] &&
   "$vd" -n -r "$ho" 'port 6203 and op rst' 2>/dev/null | grep -q ' > 1:6203 '; then
	ok "port 6203: the RESPONSE answered by the client side's RST, no SHUTDOWN: $o3"
else
	bad "port 6203: $o3"
fi

# 4. The summary: sizes, packets and connections counted by tshark and by vsockdump.
echo
printf '%-22s %9s %7s %6s %9s %11s %s\n' capture bytes packets conns REQUESTs window_full "ops (vsockdump)"
for c in $caps; do
	f=$r/$c.pcap
	size=$(stat -c %s "$f")
	pk=$(tshark -r "$f" -T fields -e frame.number 2>/dev/null | wc -l)
	# A connection: an unordered pair of CID:port ends (loopback: CID 1 both sides).
	tconv=$(tshark -r "$f" -T fields -e vsock.src_cid -e vsock.src_port -e vsock.dst_cid -e vsock.dst_port 2>/dev/null |
		awk '{ a = $1 ":" $2; b = $3 ":" $4; print (a < b ? a " " b : b " " a) }' | sort -u | wc -l)
	treq=$(tshark -r "$f" -Y 'vsock.virtio.op == 1' -T fields -e frame.number 2>/dev/null | wc -l)
	vconv=$("$vd" -n -t -r "$f" 2>/dev/null | awk '{ a = $1; b = $3; print (a < b ? a " " b : b " " a) }' | sort -u | wc -l)
	full=$("$vd" -n -vvv -r "$f" 2>/dev/null | grep -c '\[window_full\]')
	printf '%-22s %9s %7s %6s %9s %11s %s\n' "$c" "$size" "$pk" "$tconv" "$treq" "$full" "$(ops "$f" '')"
	[ "$tconv" = "$vconv" ] || bad "$c: tshark counts $tconv connections, vsockdump $vconv"
	[ "$size" -le 1600000 ] || bad "$c: $size bytes, more than the ~1.5 MB a golden capture may take"
done
echo
cat "$r/timeline.txt"

if [ "$fails" -ne 0 ]; then
	echo "# $fails checks failed: nothing copied (work files in $work)"
	exit 1
fi
if [ $copy = 1 ]; then
	for c in $caps; do
		cp "$r/$c.pcap" "$dest/$c.pcap"
	done
	echo "# copied into $dest: $(for c in $caps; do printf '%s.pcap ' "$c"; done)"
	echo "# now check the counts in $dest/kernel-captures.md against the summary above"
else
	echo "# -n: captures left in $r"
fi
