#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev-reboot.sh: a real guest reboots in the middle of transfers both ways through vsockdev: the host's connections end at once, the device comes back, traffic flows again.
# Usage: vsockdev-reboot.sh VSOCKDEV VSOCK-PEER
# Env: VM_WORKDIR (default $BUILDDIR/tests/vm/vsockdev-reboot, or a temporary directory): work files stay there.
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
workdir vsockdev-reboot
need_stats_tools
initramfs
truncate -s 1M "$work/boots.img"

H=$work/h.sock
start_daemon "$dev" --vm "guest-cid=3,socket=$work/vu.sock,uds-path=$H" --stats "$work/stats.sock"
listen up recv "uds-listen:${H}_1234"
listen echo-up echo "uds-listen:${H}_1242"
on_console "@@HOST-GO down" down send "uds:$H:5000" 512m
on_console "@@HOST-GO echo-down" echo-down send "uds:$H:5002" 1m --expect-echo --seed 7
# The device's state while the second boot runs: the statistics of a running device after a reset.
stats_on_console "@@HOST-GO echo-down" "$work/stats-boot2.json"

t0=$(date +%s.%N)
boot vsockdev-reboot 200 -R -- -drive "file=$work/boots.img,if=virtio,format=raw"
rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || exit $(( rc == 99 ? 99 : 1 ))
echo "# two boots: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
r=$work/results

# Boot 1: the guest went down in the middle of both transfers.
if grep -q '^@@BOOT 1' "$work/console.log" && grep -q '^@@REBOOTING' "$work/console.log" &&
   grep -q '^@@BOOT 2' "$work/console.log"; then
	ok "the guest rebooted in the middle of its transfers and came back"
else
	bad "the guest did not go through two boots:"; show "$work/console.log"
fi
# The host's ends of the interrupted connections: ended (not hung), short of what was asked.
up=$(head -n 1 "$work/up.host") down=$(head -n 1 "$work/down.host")
if [ -n "$up" ] && [ "$(field "$up" recv)" -lt 536870912 ] 2>/dev/null && grep -q '^rc=1' "$work/down.host" &&
   grep -qiE 'reset|closed|broken pipe|short' "$work/down.host.err"; then
	ok "the host's connections ended when the guest went away: the receiver got $(field "$up" recv) of 512 MiB, the sender: $(head -c 120 "$work/down.host.err")"
else
	bad "interrupted connections on the host: receiver '$up'; sender:"; show "$work/down.host" "$work/down.host.err"
fi
if grep -q 'device stopped' "$work/vsockdev.log" && grep -q 'connections reset' "$work/vsockdev.log"; then
	ok "vsockdev saw the driver reset the device and reset that guest's connections"
else
	bad "vsockdev's log shows no device reset:"; show "$work/vsockdev.log"
fi
# Boot 2: the same device, the same vhost-user session, traffic both ways.
s2=$(cat "$work/stats-boot2.json" 2>/dev/null)
if jq -e '.vms[0] | .running and .sessions == 1 and .resets >= 1 and .packets.malformed == 0' <<<"$s2" >/dev/null 2>&1; then
	ok "after the reboot the device runs again in the same session: $(jq -r '.vms[0] | "\(.resets) resets, \(.sessions) session"' <<<"$s2")"
else
	bad "statistics during the second boot: ${s2:-none}"
fi
eu=$(sed -n 's/^echo-up //p' "$r/results.txt") ed=$(head -n 1 "$work/echo-down.host")
if [ "$(field "$eu" rc)" = 0 ] && [ "$(field "$eu" echo_ok)" = 1 ] && [ "$(field "$ed" echo_ok)" = 1 ] &&
   grep -q '^rc=0' "$work/echo-down.host"; then
	ok "after the reboot: 1 MiB echoed guest to host and host to guest"
else
	bad "after the reboot: guest '$eu', host '$ed'"; show "$r/echo-up.err" "$work/echo-down.host.err"
fi
stop_daemon
finish
