#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# live-capture.sh: replays a capture into a vsock-type TUN interface in a private network namespace
# and checks what vsockdump (and tcpdump, alongside) capture live: every byte, kernel-side filtering, stats.
# Usage: live-capture.sh VSOCKDUMP VSOCKREPLAY CAPTURE   (CAPTURE: tests/golden/captures/loopback-mixed.pcap)
# Exit: 0 pass, 1 fail, 77 skip (with the reason), 99 bad invocation.
# Never touches AF_VSOCK or /dev/vsock: the frames come from the capture file through TUN.
set -u
. "$(dirname "$0")/tshark-builtin.sh"

if [ $# -ne 3 ]; then
	echo "usage: $0 VSOCKDUMP VSOCKREPLAY CAPTURE" >&2
	exit 99
fi
vd=$(realpath "$1") vr=$(realpath "$2") cap=$(realpath "$3")

. "$(dirname "$0")/harness.sh"
# Everything below runs in a network namespace of its own, so no interface ever appears on the host.
enter_netns timeout tcpdump tshark -- "$vd" "$vr" "$cap"
start_harness

# frames FILE [FRAME_NUMBERS_FILE]: one line per frame, tcpdump's summary and every byte in hex,
# without time stamps; only the listed frames (1-based) when a list is given.
frames() {
	tcpdump -r "$1" -t -xx 2>/dev/null |
		awk '/^\t/ { rec = rec " " $0; next } { if (n++) print rec; rec = $0 } END { if (n) print rec }' |
		if [ $# -gt 1 ]; then awk 'NR == FNR { want[$1]; next } FNR in want' "$2" -; else cat; fi
}

# stat_of FILE WHAT: N from "N packets WHAT" in vsockdump's or tcpdump's closing statistics.
stat_of() { sed -n "s/^\([0-9][0-9]*\) packets\{0,1\} $2\$/\1/p" "$1" | tail -1; }


total=$(tcpdump -r "$cap" 2>/dev/null | wc -l)
frames "$cap" >"$tmp/all.frames"
[ "$total" -gt 0 ] || { echo "FAIL: tcpdump reads no frame from $cap"; exit 1; }

# run_case NAME TSHARK_FILTER HOW VSOCKREPLAY_OPTIONS -- VSOCKDUMP_FILTER...
# HOW: count (vsockdump -c N stops by itself), sigint (vsockdump is stopped with SIGINT after the
# replay ended: the frames must not stay in the kernel ring), or tcpdump (-c N, plus tcpdump alongside).
run_case() {
	local name=$1 dfilter=$2 how=$3 ropts=$4
	shift 5
	local ifc=vsmt$((++ncase)) w="$tmp/$name" want rp dp tp="" rc rrc
	mkdir -p "$w"

	# The frames vsockdump must capture, chosen by an independent decoder (tshark).
	if [ -n "$dfilter" ]; then
		tshark -r "$cap" -Y "$dfilter" -T fields -e frame.number 2>/dev/null >"$w/want.numbers"
		frames "$cap" "$w/want.numbers" >"$w/want.frames"
	else
		cp "$tmp/all.frames" "$w/want.frames"
	fi
	want=$(wc -l <"$w/want.frames")
	if [ "$want" -eq 0 ] || { [ -n "$dfilter" ] && [ "$want" -ge "$total" ]; }; then
		bad "$name: tshark selects $want of $total frames with '$dfilter': the case tests nothing"
		return
	fi

	# Not under timeout(1), which would take the SIGUSR1 meant for vsockreplay; its own waits are bounded.
	# shellcheck disable=SC2086 # ropts holds several options
	"$vr" -i "$ifc" $ropts "$cap" 2>"$w/replay.err" &
	rp=$!
	pids="$pids $rp"
	if ! wait_for "$w/replay.err" "^vsockreplay: $ifc ready\$" 10; then
		bad "$name: vsockreplay did not create $ifc:"; show "$w/replay.err"; return
	fi
	if [ "$how" = sigint ]; then
		timeout 30 "$vd" -i "$ifc" -w "$w/out.pcap" "$@" 2>"$w/dump.err" &
	else
		timeout 30 "$vd" -i "$ifc" -w "$w/out.pcap" -c "$want" "$@" 2>"$w/dump.err" &
	fi
	dp=$!
	pids="$pids $dp"
	if [ "$how" = tcpdump ]; then
		# Plain tcpdump, as a user would run it: its ring hands frames over within a second, well
		# before vsockreplay (--linger 2) removes the interface.
		timeout 30 tcpdump -i "$ifc" -w "$w/tcpdump.pcap" -c "$want" 2>"$w/tcpdump.err" &
		tp=$!
		pids="$pids $tp"
	fi
	# Start the frames only once every capture has its filter in the kernel ("listening on").
	if ! wait_for "$w/dump.err" "listening on" 10; then
		bad "$name: vsockdump did not start listening on $ifc:"; show "$w/dump.err"; return
	fi
	if [ -n "$tp" ] && ! wait_for "$w/tcpdump.err" "listening on" 10; then
		bad "$name: tcpdump did not start listening on $ifc:"; show "$w/tcpdump.err"; return
	fi
	case " $ropts " in
	*" --wait-capture"*) ;;		# vsockreplay starts by itself once it sees the capture
	*) kill -USR1 "$rp" ;;
	esac

	if [ "$how" = sigint ]; then
		wait "$rp"
		rrc=$?
		sleep 0.5
		kill -INT "$dp" 2>/dev/null
	fi
	wait "$dp"
	rc=$?
	if [ $rc -ne 0 ]; then
		bad "$name: vsockdump exited with $rc (124: still waiting for frames after 30 s):"; show "$w/dump.err"
	fi
	if [ -n "$tp" ]; then
		wait "$tp"
		rc=$?
		[ $rc -eq 0 ] || { bad "$name: tcpdump exited with $rc:"; show "$w/tcpdump.err"; }
	fi
	if [ "$how" != sigint ]; then
		wait "$rp"
		rrc=$?
	fi
	if [ $rrc -ne 0 ] || ! grep -q "^vsockreplay: $total frames ([0-9]* bytes) replayed from " "$w/replay.err"; then
		bad "$name: vsockreplay exited with $rrc or did not replay $total frames:"; show "$w/replay.err"
	fi

	local captured received dropped
	captured=$(stat_of "$w/dump.err" captured)
	received=$(stat_of "$w/dump.err" "received by filter")
	dropped=$(stat_of "$w/dump.err" "dropped by kernel")
	if [ "$captured" = "$want" ] && [ "$dropped" = 0 ]; then
		ok "$name: vsockdump captured $captured of $want frames, $dropped dropped"
	else
		bad "$name: vsockdump captured '$captured' frames (want $want), '$dropped' dropped by the kernel:"
		show "$w/dump.err"
	fi
	# The kernel counts only what its BPF program accepted: with a userland filter it would see all.
	if [ "$received" = "$want" ] && [ -n "$dfilter" ]; then
		ok "$name: $received received by filter, of $total replayed: the filter ran in the kernel"
	elif [ "$received" = "$want" ]; then
		ok "$name: $received received by filter"
	else
		bad "$name: '$received' received by filter, want $want (of $total replayed)"
	fi
	frames "$w/out.pcap" >"$w/out.frames"
	if cmp -s "$w/want.frames" "$w/out.frames"; then
		ok "$name: the $want frames of $(basename "$w")/out.pcap match the capture byte for byte"
	else
		bad "$name: out.pcap differs from the frames replayed (< wanted, > captured):"
		diff "$w/want.frames" "$w/out.frames" | cut -c1-160 | head -20 | show
	fi
	rc=$(tcpdump -r "$w/out.pcap" 2>/dev/null | wc -l)
	if [ "$rc" = "$want" ]; then
		ok "$name: tcpdump -r reads $rc frames from vsockdump's file"
	else
		bad "$name: tcpdump -r reads $rc frames from vsockdump's file, want $want"
	fi
	if [ -n "$tp" ]; then
		frames "$w/tcpdump.pcap" >"$w/tcpdump.frames"
		if cmp -s "$w/want.frames" "$w/tcpdump.frames"; then
			ok "$name: tcpdump -i $ifc, alongside, captured the same $want frames"
		else
			bad "$name: tcpdump -i $ifc captured other frames ($(wc -l <"$w/tcpdump.frames") lines):"
			show "$w/tcpdump.err"
		fi
	fi
	last_case_dir=$w
}

ncase=0
echo "# $cap: $total frames, replayed in namespace $(readlink /proc/self/ns/net)"

# 1. Everything, as fast as possible, with tcpdump capturing at the same time.
run_case all "" tcpdump "--pace fast --start-delay 30" --

# 2. A filter on the virtio op, stopping at the count.
run_case op-rw "vsock.virtio.op == 5" count "--pace fast --start-delay 30 --linger 0.2" -- op rw

# 3. A filter on either port, stopped with SIGINT once the replay is over: nothing may stay in the ring.
run_case port-1235 "vsock.src_port == 1235 || vsock.dst_port == 1235" sigint "--pace fast --start-delay 30 --keep" -- port 1235

# 4. Recorded pacing at twice the speed; vsockreplay waits for the capture by itself.
run_case paced "" count "-x 2 --wait-capture --wait-timeout 20 --linger 0.2" --
if [ -f "$last_case_dir/out.pcap" ]; then
	# Each frame's offset from the first must be the recorded one halved: never early, and late
	# by less than 0.25 s (absolute deadlines: lateness does not add up over the replay).
	paste <(tshark -r "$cap" -T fields -e frame.time_relative 2>/dev/null) \
	      <(tshark -r "$last_case_dir/out.pcap" -T fields -e frame.time_relative 2>/dev/null) >"$tmp/times"
	if awk -v n="$total" '
		NF == 2 { d = $2 - $1 / 2; if (d < -0.001 || d > 0.25) { bad++; if (bad < 4) print "    frame " NR ": recorded " $1 " s, replayed at " $2 " s" }
			  if (d > worst) worst = d; rows++ }
		END { if (rows != n) print "    " rows " frames timed, want " n; printf "    latest frame: %.4f s behind schedule\n", worst; exit bad || rows != n }' "$tmp/times"; then
		ok "paced: every frame at its recorded time / 2 (last at $(tail -1 "$tmp/times" | cut -f2) s, recorded $(tail -1 "$tmp/times" | cut -f1) s)"
	else
		bad "paced: frames off their recorded times / 2"
	fi
fi

# vsockdump -D lists the kept interface of case 3 (netlink, so it sees this namespace).
if "$vd" -D 2>&1 | grep -q "vsmt3"; then
	ok "vsockdump -D lists vsmt3: $("$vd" -D 2>&1 | tr '\n' ' ')"
else
	bad "vsockdump -D does not list vsmt3:"; "$vd" -D 2>&1 | show
fi

verdict
