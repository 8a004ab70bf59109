#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vsockdev-config.sh: vsockdev --config with a vhost-device-vsock YAML file: the VMs it names listen where it
# says (vhost-user sockets that accept, host-side sockets), the statistics show its CIDs, paths and groups,
# SIGTERM removes the sockets; and the command line refuses what it must (--config with --vm, a bad file).
# Usage: vsockdev-config.sh VSOCKDEV
# Exit: 0 pass, 1 fail, 77 skip (no socat or jq), 99 bad invocation.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 VSOCKDEV" >&2
	exit 99
fi
vsockdev=$(realpath "$1")
for t in socat jq; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found (./do deps installs it)"; exit 77; }
done

. "$(dirname "$0")/harness.sh"
start_harness

# The layout of vhost-device-vsock's README (four-space indent, underscores), a comment, a key with '-'
# as --vm spells it, and a VM without host side (vsockdev's uds_path is optional).
cat >"$tmp/vms.yaml" <<EOF
# three guests; 3 and 4 reach each other through group1
vms:
    - guest_cid: 3
      socket: $tmp/vhost3.socket
      uds_path: $tmp/vm3.vsock
      tx_buffer_size: 65536
      queue_size: 1024
      groups: group1+groupA
    - guest_cid: 4
      socket: $tmp/vhost4.socket
      uds_path: $tmp/vm4.vsock
      queue-size: 256
      groups: group1
    - guest_cid: 5
      socket: $tmp/vhost5.socket
EOF

"$vsockdev" --config "$tmp/vms.yaml" --stats "$tmp/stats" >"$tmp/log" 2>&1 &
pid=$!
pids="$pid"
if wait_for "$tmp/log" 'vm5: listening' 10; then
	ok "vsockdev started with --config"
else
	bad "vsockdev did not start with --config:"
	show "$tmp/log"
fi
for s in vhost3.socket vm3.vsock vhost4.socket vm4.vsock vhost5.socket; do
	if [ -S "$tmp/$s" ]; then ok "$s is a listening socket"; else bad "$s: no socket"; fi
done
[ -e "$tmp/vm5.vsock" ] && bad "vm5.vsock exists: VM 5 has no uds_path" || ok "VM 5 has no host side"
# A vhost-user socket takes a connection (QEMU's): connect, send nothing, hang up.
for n in 3 4 5; do
	if socat -u /dev/null "UNIX-CONNECT:$tmp/vhost$n.socket" 2>"$tmp/err"; then
		ok "vhost$n.socket accepts a connection"
	else
		bad "vhost$n.socket refuses a connection:"
		show "$tmp/err"
	fi
done
for n in 3 4 5; do
	grep -q "^vsockdev: vm$n: listening on $tmp/vhost$n.socket" "$tmp/log" && ok "vm$n's log line names its socket" ||
		bad "no log line for vm$n"
done

# What the daemon took from the file, as its statistics say: each VM's CID, sockets and groups.
socat - "UNIX-CONNECT:$tmp/stats" >"$tmp/stats.json" 2>"$tmp/err" || { bad "statistics:"; show "$tmp/err"; }
got=$(jq -c '[.vms[] | [.guest_cid, .socket, .uds_path, .groups]]' "$tmp/stats.json" 2>&1)
want="[[3,\"$tmp/vhost3.socket\",\"$tmp/vm3.vsock\",[\"group1\",\"groupA\"]],"
want+="[4,\"$tmp/vhost4.socket\",\"$tmp/vm4.vsock\",[\"group1\"]],"
want+="[5,\"$tmp/vhost5.socket\",null,[\"default\"]]]"
if [ "$got" = "$want" ]; then
	ok "the statistics show the file's three VMs"
else
	bad "statistics: got $got, expected $want"
fi

kill -TERM "$pid"
wait "$pid"
rc=$?
pids=""
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || { bad "SIGTERM: exit $rc"; show "$tmp/log"; }
left=$(cd "$tmp" && ls vhost*.socket vm*.vsock stats 2>/dev/null)
[ -z "$left" ] && ok "SIGTERM: the sockets are removed" || bad "sockets left after SIGTERM: $left"

# refuse ARGS... -- MESSAGE: vsockdev exits 2 at once with MESSAGE as its first line on stderr.
refuse() {
	local args=() msg rc

	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	msg=$2
	timeout 10 "$vsockdev" "${args[@]}" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && [ "$(head -1 "$tmp/err")" = "$msg" ]; then
		ok "refused: ${args[*]}"
	else
		bad "${args[*]}: exit $rc (expected 2) with:"
		show "$tmp/err"
		echo "    expected: $msg"
	fi
}

refuse --config "$tmp/vms.yaml" --vm "guest-cid=9,socket=$tmp/v9" -- \
	"vsockdev: --config $tmp/vms.yaml holds the VMs: give them there, not also with --vm or --guest-cid/--socket/..."
refuse --socket "$tmp/v9" --config "$tmp/vms.yaml" -- \
	"vsockdev: --config $tmp/vms.yaml holds the VMs: give them there, not also with --vm or --guest-cid/--socket/..."
refuse --config "$tmp/none.yaml" -- "vsockdev: cannot open $tmp/none.yaml: No such file or directory"
printf 'vms:\n  - guest_cid: 3\n    socket: %s/v3\n    uds-path: %s/u3\n    forward_cid: 1\n' "$tmp" "$tmp" >"$tmp/fwd.yaml"
refuse --config "$tmp/fwd.yaml" -- \
	"vsockdev: $tmp/fwd.yaml:5:18: forward_cid (forwarding to the host's own vsock) is not supported: use uds-path"
printf 'vms:\n  - guest_cid: 3\n    socket: %s/v3\n    uds_path %s/u3\n' "$tmp" "$tmp" >"$tmp/bad.yaml"
refuse --config "$tmp/bad.yaml" -- \
	"vsockdev: $tmp/bad.yaml:5:1: not valid YAML: could not find expected ':' (while scanning a simple key at line 4)"
[ -e "$tmp/v3" ] && bad "a refused file left a socket" || ok "a refused file leaves no socket"

verdict
