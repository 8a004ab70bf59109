#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lab.sh: vsocklab as a self-test of the transport and its tap: every workload check passes, the
# capture is complete, clean and deterministic, and shows a credit stall, refused connects,
# SEQPACKET records and a half-close as vsockdump (and tshark) decode them.
# Usage: lab.sh VSOCKLAB VSOCKDUMP
# Exit: 0 pass, 1 fail, 99 bad invocation. Opens no vsock socket and creates no interface.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 VSOCKLAB VSOCKDUMP" >&2
	exit 99
fi
lab=$1 vd=$2
. "$(dirname "$0")/harness.sh"
start_harness

# The golden run: two rounds on the virtual clock, so the capture depends on the seed only.
args=(--rounds 2 --clock virtual --seed 1 --stats)
"$lab" "${args[@]}" --pcap "$tmp/a.pcap" >"$tmp/a.stats" 2>"$tmp/a.err"
rc=$?
if [ $rc -eq 0 ]; then ok "vsocklab ${args[*]} exits 0"
else bad "vsocklab ${args[*]} exits $rc"; show "$tmp/a.stats" "$tmp/a.err"; fi
[ -s "$tmp/a.err" ] && { bad "vsocklab wrote to stderr"; show "$tmp/a.err"; }

# Every workload ran, and none failed or was cut short; the lab's own checks passed.
for w in echo bulk-up bulk-down seqpacket slow-reader half-close refused unknown-cid; do
	line=$(grep "^workload $w: " "$tmp/a.stats")
	if [[ "$line" =~ :\ ([1-9][0-9]*)\ passed,\ 0\ failed,\ 0\ interrupted ]]; then ok "workload $w: ${BASH_REMATCH[1]} passed"
	else bad "workload $w: '${line:-no line}'"; fi
done
if grep -q '^result: PASS' "$tmp/a.stats"; then ok "$(grep '^result: ' "$tmp/a.stats")"
else bad "the lab's checks:"; grep -E '^(check|result)' "$tmp/a.stats" | show; fi
verified=$(sed -n 's/^workload bulk-up: .* \([0-9][0-9]*\) bytes verified.*/\1/p' "$tmp/a.stats")
[ "${verified:-0}" -ge $((600 * 1024)) ] && ok "bulk-up verified $verified bytes" || bad "bulk-up verified '${verified:-}' bytes"

# Tap completeness: one frame per packet the host engine sent or received, as every decoder counts them.
read -r pin pout < <(sed -n 's/^engine cid 2: pkts_in \([0-9]*\), pkts_out \([0-9]*\),.*/\1 \2/p' "$tmp/a.stats")
want=$(( ${pin:-0} + ${pout:-0} ))
"$vd" -n -vv -r "$tmp/a.pcap" >"$tmp/a.vv" 2>"$tmp/a.vv.err"
rc=$?
frames=$(wc -l <"$tmp/a.vv")
if [ $rc -eq 0 ] && [ "$want" -gt 0 ] && [ "$frames" -eq "$want" ]; then ok "vsockdump reads $frames frames = host pkts_in $pin + pkts_out $pout"
else bad "vsockdump (exit $rc) reads $frames frames, the host engine counted $pin + $pout"; show "$tmp/a.vv.err"; fi
if grep -q '\[problems' "$tmp/a.vv"; then bad "vsockdump -vv flags problems:"; grep '\[problems' "$tmp/a.vv" | head -5 | show
else ok "vsockdump -vv flags no problem"; fi
if command -v tshark >/dev/null; then
	n=$(tshark -r "$tmp/a.pcap" 2>/dev/null | wc -l)
	[ "$n" -eq "$want" ] && ok "tshark reads $n frames" || bad "tshark reads $n frames, wanted $want"
else
	echo "skip: tshark not found (apt-get install tshark): frame count not cross-checked"
fi

# Determinism: the same seed gives the same capture, byte for byte; another seed another one.
"$lab" "${args[@]}" -q --pcap "$tmp/b.pcap" >/dev/null 2>&1
if cmp -s "$tmp/a.pcap" "$tmp/b.pcap"; then ok "the same seed gives a byte-identical capture ($(stat -c %s "$tmp/a.pcap") bytes)"
else bad "two runs with --seed 1 differ: $(cmp "$tmp/a.pcap" "$tmp/b.pcap" 2>&1)"; fi
"$lab" --rounds 1 --clock virtual --seed 2 -q --pcap "$tmp/c.pcap" >/dev/null 2>&1
rc=$?
if [ $rc -eq 0 ] && ! cmp -s "$tmp/a.pcap" "$tmp/c.pcap"; then ok "--seed 2 passes too, with another capture"
else bad "--seed 2: exit $rc, or the same capture as --seed 1"; fi

# vsockdump -n lines: time, src, ">", dst, type, op (SHUTDOWN: then its [flags]), ...
# The slow reader (port 1237): its sender fills the window, waits, asks for credit, is answered.
"$vd" -n -vvv -r "$tmp/a.pcap" port 1237 >"$tmp/slow.vvv"
full=$(grep -c ' > 2:1237 STREAM RW, .*\[window_full\]' "$tmp/slow.vvv")
asked=$(awk '$4 == "2:1237" && $6 == "CREDIT_REQUEST," { want[$2] = 1; next }
	$2 == "2:1237" && $6 == "CREDIT_UPDATE," && ($4 in want) { n++; delete want[$4] }
	END { print n + 0 }' "$tmp/slow.vvv")
if [ "$full" -gt 0 ] && [ "$asked" -gt 0 ]; then ok "credit stall on port 1237: $full RWs fill the window ([window_full]), $asked CREDIT_REQUESTs answered"
else bad "credit stall on port 1237: $full [window_full], $asked answered CREDIT_REQUESTs"; head -20 "$tmp/slow.vvv" | show; fi

# Refused connects (port 4321, both ways, STREAM and SEQPACKET): each REQUEST is answered by an RST.
"$vd" -n -r "$tmp/a.pcap" port 4321 >"$tmp/refused.txt"
read -r reqs answered types < <(awk '
	$6 == "REQUEST," { pending[$2 ">" $4] = $5; n++; next }
	$6 == "RST," && (($4 ">" $2) in pending) { a++; t[pending[$4 ">" $2]] = 1; delete pending[$4 ">" $2] }
	END { nt = 0; for (x in t) nt++; print n + 0, a + 0, nt }' "$tmp/refused.txt")
if [ "$reqs" -gt 0 ] && [ "$reqs" -eq "$answered" ] && [ "$types" -eq 2 ]; then ok "refused connects: $reqs REQUESTs to port 4321, each answered by an RST, STREAM and SEQPACKET"
else bad "refused connects: $reqs REQUESTs, $answered answered, $types socket types"; show "$tmp/refused.txt"; fi

# SEQPACKET (port 1236): messages end with EOM, some with EOR, and messages over 64 KiB span packets.
"$vd" -n -r "$tmp/a.pcap" port 1236 and op rw >"$tmp/seq.txt"
eor=$(grep -c 'SEQPACKET RW \[EOM,EOR\]' "$tmp/seq.txt")
eom=$(grep -c 'SEQPACKET RW \[EOM\]' "$tmp/seq.txt")
cont=$(grep -c 'SEQPACKET RW, length 65536' "$tmp/seq.txt")
if [ "$eor" -gt 0 ] && [ "$eom" -gt 0 ] && [ "$cont" -gt 0 ]; then ok "SEQPACKET on port 1236: $eor [EOM,EOR], $eom [EOM], $cont packets inside a message"
else bad "SEQPACKET on port 1236: $eor [EOM,EOR], $eom [EOM], $cont packets inside a message"; fi

# Half-close (port 1238): the client's data still flows after the server's SHUTDOWN [SEND].
n=$("$vd" -n -r "$tmp/a.pcap" port 1238 | awk '
	$2 == "2:1238" && $6 == "SHUTDOWN" && $7 == "[SEND]," { shut[$4] = 1; next }
	$4 == "2:1238" && $6 == "RW," && ($2 in shut) { n++; delete shut[$2] }
	END { print n + 0 }')
if [ "$n" -gt 0 ]; then ok "half-close on port 1238: data after the server's SHUTDOWN [SEND] on $n connections"
else bad "half-close on port 1238: no data after the server's SHUTDOWN [SEND]"; fi

# SIGINT on the real clock, mid-round: exit 0, and the capture stays valid (whole records only).
"$lab" --clock real --pcap "$tmp/int.pcap" --stats >"$tmp/int.stats" 2>"$tmp/int.err" &
pid=$!
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
"$vd" -n -r "$tmp/int.pcap" >"$tmp/int.txt" 2>"$tmp/int.vd.err"
vrc=$?
if [ $rc -eq 0 ] && [ $vrc -eq 0 ] && grep -q 'interrupted' "$tmp/int.stats" && [ -s "$tmp/int.txt" ]; then
	ok "SIGINT: exit 0, summary printed, $(wc -l <"$tmp/int.txt") frames readable"
else
	bad "SIGINT: vsocklab exit $rc, vsockdump exit $vrc"; show "$tmp/int.err" "$tmp/int.vd.err"
fi

# --device: the same workload with every guest behind a vhost-user-vsock device (vsockdev's) over real
# virtqueues: every check passes, the run is as deterministic, and the devices report their rings.
dargs=(--device --guests 3 --rounds 2 --clock virtual --seed 1 --stats)
"$lab" "${dargs[@]}" --pcap "$tmp/d.pcap" >"$tmp/d.stats" 2>"$tmp/d.err"
rc=$?
"$lab" "${dargs[@]}" -q --pcap "$tmp/d2.pcap" >/dev/null 2>&1
devices=$(grep -c '^device cid [0-9]*: running, from guest [1-9][0-9]* packets, to guest [1-9]' "$tmp/d.stats")
if [ $rc -eq 0 ] && grep -q '^result: PASS' "$tmp/d.stats" && grep -q '^check devices: ok' "$tmp/d.stats" &&
   [ "$devices" = 3 ] && ! [ -s "$tmp/d.err" ]; then
	ok "--device: $(grep '^result: ' "$tmp/d.stats"), 3 devices moved packets: $(grep '^check conservation' "$tmp/d.stats" | sed 's/^check conservation: ok //')"
else
	bad "--device: exit $rc, $devices running devices:"; grep -E '^(check|result|device)' "$tmp/d.stats" | show; show "$tmp/d.err"
fi
if cmp -s "$tmp/d.pcap" "$tmp/d2.pcap"; then ok "--device: the same seed gives a byte-identical capture too"
else bad "--device: two runs with --seed 1 differ: $(cmp "$tmp/d.pcap" "$tmp/d2.pcap" 2>&1)"; fi

# Usage errors exit 2.
"$lab" --guests 0 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "--guests 0 is a usage error (exit 2)" || bad "--guests 0: exit $rc"

verdict
