#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev-reset.sh: a real guest resets its vsock device while transfers run both ways through vsockdev, by unbinding and binding its virtio driver and by removing and reloading the transport module: the cut transfers end with an error, new traffic flows, the statistics count the resets.
# Usage: vsockdev-reset.sh VSOCKDEV VSOCK-PEER
# Env: VM_WORKDIR (default $BUILDDIR/tests/vm/vsockdev-reset, or a temporary directory): work files stay there;
#      VM_STACK (lib.sh): the QEMU and guest kernel.
# Exit: 0 pass, 1 fail, 77 skip (QEMU, a cloud kernel, socat or jq missing; ./do deps installs them), 99 the run broke.
# The host opens no vsock socket (see vsockdev.sh).
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 VSOCKDEV VSOCK-PEER" >&2
	exit 99
fi
dev=$(realpath "$1") peer=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
workdir vsockdev-reset
need_stats_tools
initramfs

# Per phase (the guest's scenario names the ports): a receiver the guest's 1 GiB send is cut on, an echo
# server for after, the host's 1 GiB send to the guest that is cut, its 1 MiB echo after, and the
# statistics once the device is back.
H=$work/h.sock
phases="unbind rmmod"
start_daemon "$dev" --vm "guest-cid=3,socket=$work/vu.sock,uds-path=$H" --stats "$work/stats.sock"
stats_on_console "@@HOST-STATS start" "$work/stats-start.json"
base=10
for p in $phases; do
	listen "cut-up-$p" recv "uds-listen:${H}_$((1240 + base))" --expect 1g
	listen "echo-up-$p" echo "uds-listen:${H}_$((1242 + base))"
	on_console "@@HOST-GO cut-down-$p" "cut-down-$p" send "uds:$H:$((5000 + base))" 1g
	on_console "@@HOST-GO echo-down-$p" "echo-down-$p" send "uds:$H:$((5002 + base))" 1m --expect-echo --seed 12
	stats_on_console "@@HOST-STATS $p" "$work/stats-$p.json"
	base=$((base + 10))
done

t0=$(date +%s.%N)
boot vsockdev-reset 240
rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || exit $(( rc == 99 ? 99 : 1 ))
echo "# guest run: $(elapsed "$t0") s"
r=$work/results
res() { sed -n "s/^$1 //p" "$r/results.txt"; }
hostline() { head -n 1 "$work/$1.host"; }
G=1073741824

# The guest's own record of each reset.
u=$(res unbind)
if [ "$(field "$u" rc)" = 0 ] && [ "$(field "$u" bind_rc)" = 0 ] && [ "$(field "$u" bound)" = 1 ] &&
   [ "$(field "$u" cut_ms)" -lt 10000 ] 2>/dev/null; then
	ok "unbind: $(field "$u" device) left vmw_vsock_virtio_transport and came back; the guest's transfers ended $(field "$u" cut_ms) ms after the unbind"
else
	bad "unbind and bind: '$u'"
fi
m=$(res rmmod)
if [ "$(field "$m" busy_rc)" != 0 ] && [ "$(field "$m" loaded_after_rmmod)" = 0 ] && [ "$(field "$m" modprobe_rc)" = 0 ] &&
   [ "$(field "$m" bound)" = 1 ]; then
	ok "rmmod: refused while the transfers held the module ($(head -c 80 "$r/rmmod-busy.err")); once they were killed it went after $(field "$m" retries) retries ($(field "$m" rmmod_ms) ms), and modprobe bound the device again"
else
	bad "rmmod and modprobe: '$m'"; show "$r/rmmod-busy.err" "$r/rmmod.err" "$r/modprobe.err"
fi

for p in $phases; do
	# The cut transfers: data flowed both ways before the reset, and every end stopped short with an error
	# instead of waiting for its timeout.
	cu=$(hostline "cut-up-$p") cd=$(hostline "cut-down-$p")
	if [ "$(field "$cu" recv)" -gt 0 ] 2>/dev/null && [ "$(field "$cu" recv)" -lt $G ] &&
	   [ "$(field "$cd" sent)" -gt 0 ] 2>/dev/null && [ "$(field "$cd" sent)" -lt $G ] &&
	   grep -q '^rc=1' "$work/cut-down-$p.host"; then
		ok "$p: the host's cut transfers ended: its receiver after $(field "$cu" recv) bytes of 1 GiB in $(field "$cu" ms) ms, its sender after $(field "$cd" sent) bytes: $(head -c 100 "$work/cut-down-$p.host.err")"
	else
		bad "$p: the host's cut transfers: receiver '$cu', sender:"; show "$work/cut-down-$p.host" "$work/cut-down-$p.host.err"
	fi
	if [ "$p" = unbind ]; then
		gu=$(res cut-up-unbind) gd=$(res cut-down-unbind)
		if [ "$(field "$gu" rc)" = 1 ] && [ "$(field "$gd" rc)" = 1 ] && [ "$(field "$gd" recv)" -gt 0 ] 2>/dev/null &&
		   [ "$(field "$gd" recv)" -lt $G ]; then
			ok "unbind: the guest's cut transfers failed: its sender '$(head -c 80 "$r/cut-up-unbind.err")', its receiver after $(field "$gd" recv) bytes"
		else
			bad "unbind: the guest's cut transfers: sender '$gu', receiver '$gd'"; show "$r/cut-up-unbind.err" "$r/cut-down-unbind.err"
		fi
	fi
	# After the reset: 1 MiB echoed each way, the checksums the senders computed matched the echoes.
	eu=$(res "echo-up-$p") euh=$(hostline "echo-up-$p") ed=$(hostline "echo-down-$p") edg=$(res "echo-down-$p")
	if [ "$(field "$eu" rc)" = 0 ] && [ "$(field "$eu" echo_ok)" = 1 ] && [ "$(field "$euh" bytes)" = 1048576 ] &&
	   [ "$(field "$ed" echo_ok)" = 1 ] && grep -q '^rc=0' "$work/echo-down-$p.host" && [ "$(field "$edg" bytes)" = 1048576 ]; then
		ok "$p: afterwards 1 MiB echoed guest to host (sum $(field "$eu" sum), $(field "$eu" ms) ms) and host to guest (sum $(field "$ed" sum), $(field "$ed" ms) ms)"
	else
		bad "$p: the echoes after the reset: guest to host '$eu' (host '$euh'), host to guest '$ed' (guest '$edg')"
		show "$r/echo-up-$p.err" "$work/echo-down-$p.host.err" "$r/echo-down-$p.err"
	fi
done

# The statistics: each phase added resets, in one vhost-user session whose protocol features and memory
# table survived, and the device ran again. How the front-end told vsockdev differs (QEMU 10 also sends
# RESET_DEVICE; QEMU 7.2 negotiates it but never sends it): those counters are shown, not judged.
prev=start
for p in $phases; do
	if jq -e --slurpfile a "$work/stats-$prev.json" '.vms[0] as $v | $a[0].vms[0] as $b |
	     $v.running and $v.sessions == 1 and $v.resets > $b.resets and $v.packets.malformed == 0 and
	     $v.protocol_features == $b.protocol_features and $v.memory_regions == $b.memory_regions and
	     $v.memory_bytes == $b.memory_bytes and $v.memory_regions > 0' \
	     "$work/stats-$p.json" >/dev/null 2>&1; then
		ok "$p: the statistics count $(jq -r '.vms[0] | "\(.resets) resets (RESET_DEVICE messages \(.device_resets), status-0 resets \(.status_resets))"' "$work/stats-$prev.json") -> $(jq -r '.vms[0] | "\(.resets) (\(.device_resets), \(.status_resets)), \(.sessions) session, protocol features \(.protocol_features) and \(.memory_regions) memory region kept, the device running again"' "$work/stats-$p.json")"
	else
		bad "$p: statistics before '$(cat "$work/stats-$prev.json" 2>/dev/null)', after '$(cat "$work/stats-$p.json" 2>/dev/null)'"
	fi
	prev=$p
done
# The log: a stop per reset, and the unbind's stop closed the two cut connections of the host (the rmmod's
# were closed by the guest before the module could go).
stopped=$(grep -c 'device stopped' "$work/vsockdev.log")
if [ "$stopped" -ge 2 ] && grep -q ': 2 connections reset: ' "$work/vsockdev.log"; then
	ok "vsockdev's log: $stopped device stops ($(sed -n 's/.*device stopped: //p' "$work/vsockdev.log" | sort | uniq -c | sed 's/^ *//' | paste -sd ';' -)), the host's 2 cut connections reset at the unbind"
else
	bad "vsockdev's log shows $stopped device stops, no reset of 2 connections:"; show "$work/vsockdev.log"
fi
stop_daemon
finish
