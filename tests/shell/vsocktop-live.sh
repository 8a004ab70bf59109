#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsocktop-live.sh: vsocktop on a live vsock-type interface: vsockreplay feeds a capture into a TUN interface
# in a private network namespace, and vsocktop -i (batch and JSON) must see every connection and packet.
# Usage: vsocktop-live.sh VSOCKTOP VSOCKREPLAY VSOCKDUMP CAPTURE
# Exit: 0 pass, 1 fail, 77 skip (with the reason), 99 bad invocation.
# Never touches AF_VSOCK or /dev/vsock: the frames come from the capture file through TUN.
set -u

if [ $# -ne 4 ]; then
	echo "usage: $0 VSOCKTOP VSOCKREPLAY VSOCKDUMP CAPTURE" >&2
	exit 99
fi
top=$(realpath "$1") vr=$(realpath "$2") vd=$(realpath "$3") cap=$(realpath "$4")

. "$(dirname "$0")/harness.sh"
# Everything below runs in a network namespace of its own, so no interface ever appears on the host.
enter_netns timeout jq ip -- "$top" "$vr" "$vd" "$cap"
start_harness

"$vd" --flows --json -r "$cap" | jq -s -c '(map(select(.kind == "flow")) | length) as $n | (map(select(.kind == "totals"))[0].totals) | {n: $n, pkts, bytes}' >"$tmp/want.json"
nflows=$(jq .n "$tmp/want.json") npkts=$(jq .pkts "$tmp/want.json") nbytes=$(jq .bytes "$tmp/want.json")
echo "# $(basename "$cap"): $nflows connections, $npkts packets, $nbytes bytes"

# run IFACE MODE: vsockreplay into IFACE, vsocktop -i IFACE in MODE (-b or --json) for 3 one-second frames.
run() {
	local ifc=$1 mode=$2 rp tp
	"$vr" -i "$ifc" --pace fast --start-delay 30 --linger 5 "$cap" 2>"$tmp/$ifc.replay" &
	rp=$!
	pids="$pids $rp"
	wait_for "$tmp/$ifc.replay" "^vsockreplay: $ifc ready\$" 10 || { bad "vsockreplay did not create $ifc: $(cat "$tmp/$ifc.replay")"; return 1; }
	timeout 30 "$top" -i "$ifc" "$mode" -n 3 -d 1 >"$tmp/$ifc.out" 2>"$tmp/$ifc.err" &
	tp=$!
	pids="$pids $tp"
	if [ "$mode" = -b ]; then
		wait_for "$tmp/$ifc.err" "^vsocktop: listening on $ifc\$" 10 || { bad "vsocktop did not start on $ifc: $(cat "$tmp/$ifc.err")"; return 1; }
	else
		# JSON mode says nothing on stderr: wait for its capture socket (a fixed sleep lost the race on a
		# loaded machine, and vsocktop then saw none of the replay)
		wait_capturing "$ifc" 10 || { bad "vsocktop opened no capture on $ifc: $(cat "$tmp/$ifc.err")"; return 1; }
	fi
	kill -USR1 "$rp"
	wait "$tp"
	local rc=$?
	[ $rc -eq 0 ] && ok "$mode: vsocktop -i $ifc -n 3 exited 0" || bad "$mode: vsocktop exited $rc: $(cat "$tmp/$ifc.err")"
	wait "$rp"
}

run vtop0 -b
last=$(awk '/^vsocktop - /{ n++ } n == 3' "$tmp/vtop0.out")
if grep -q "^vsocktop - interface vtop0 - " <<<"$last" &&
   grep -q "Connections: $nflows seen" <<<"$last" && grep -q "Drops: tap -, kernel 0$" <<<"$last"; then
	ok "-b: the third frame shows interface vtop0, all $nflows connections, no kernel drops"
else
	bad "-b: the third frame:"; sed 's/^/    | /' <<<"$last"
fi
if grep -q "Packets: $npkts (" <<<"$last"; then
	ok "-b: every packet counted"
else
	bad "-b: packets: $(grep Packets <<<"$last")"
fi

run vtop1 --json
if [ "$(wc -l <"$tmp/vtop1.out")" = 3 ] &&
   tail -1 "$tmp/vtop1.out" | jq -e --argjson n "$nflows" --argjson p "$npkts" --argjson b "$nbytes" \
	'.source == "interface vtop1" and .capture_time == false and .totals.flows == $n and .totals.pkts == $p
	 and .totals.bytes == $b and .drops.kernel == 0 and (.flows | length) == $n' >/dev/null; then
	ok "--json: three snapshots; the last has the $nflows connections, $npkts packets, $nbytes bytes, 0 drops"
else
	bad "--json: $(tail -1 "$tmp/vtop1.out" | jq -c '{source, capture_time, totals, drops, n: (.flows | length)}' 2>&1 | cut -c1-300)"
fi
# The wall clock: snapshots a second apart.
if jq -s -e '(.[1].ts - .[0].ts) > 0.8 and (.[1].ts - .[0].ts) < 1.5 and (.[2].interval > 0.8)' "$tmp/vtop1.out" >/dev/null; then
	ok "--json: live snapshots fall a second apart on the wall clock"
else
	bad "--json: snapshot times: $(jq -c '{ts, interval}' "$tmp/vtop1.out" | tr '\n' ' ')"
fi
# A name that is not an interface: an error that says what to do, status 1.
"$top" -i nosuch0 -b -n 1 >/dev/null 2>"$tmp/nosuch.err"
rc=$?
[ $rc = 1 ] && [ -s "$tmp/nosuch.err" ] && ok "-i nosuch0: status 1, $(head -1 "$tmp/nosuch.err" | cut -c1-100)" ||
	bad "-i nosuch0: status $rc: $(cat "$tmp/nosuch.err")"

verdict
