#!/bin/bash
# stdout-pipe.sh: a reader of vsockdump's standard output that goes away (head -c, a pipe closed at
# once) ends vsockdump quietly with status 0, with -w - as with text, as vsockdump(1) says; a real
# write error (a full disk) is still one.
# Usage: stdout-pipe.sh VSOCKDUMP CAPTURE (a capture larger than a pipe's buffer, 64 KiB)
set -u
vd=$1 cap=$2
. "$(dirname "$0")/harness.sh"
start_harness
[ "$(stat -c %s "$cap")" -gt 262144 ] || { echo "FAIL: $cap is too small to fill a pipe"; exit 1; }

# quiet NAME PIPELINE-TAIL OPTIONS...: vsockdump OPTIONS | PIPELINE-TAIL; vsockdump must exit 0 and say nothing.
quiet() {
	local name=$1 tail=$2 st
	shift 2
	for i in 1 2 3; do
		"$vd" -r "$cap" "$@" 2>"$tmp/err" | $tail >"$tmp/out"
		st=("${PIPESTATUS[@]}")
		if [ "${st[0]}" -ne 0 ] || [ -s "$tmp/err" ]; then
			bad "$name (run $i): vsockdump exited ${st[0]}"
			show "$tmp/err"
			return
		fi
	done
	ok "$name: vsockdump exited 0 three times, nothing on stderr, the reader got $(wc -c <"$tmp/out") bytes"
}

quiet "-w - | head -c 100" "head -c 100" -w -
if [ "$(od -An -tx1 -N4 "$tmp/out" | tr -d ' ')" = d4c3b2a1 ]; then
	ok "-w - | head -c 100: the reader got a pcap file header (d4c3b2a1)"
else
	bad "-w - | head -c 100: the first bytes are not a pcap header: $(od -An -tx1 -N4 "$tmp/out")"
fi
quiet "-U -w - | head -c 100" "head -c 100" -U -w -
quiet "-w - | true (gone before the file header)" true -w -
quiet "text | head -n 1" "head -n 1" -n
quiet "--json | head -n 1" "head -n 1" --json

# A full disk is an error, not a reader that went away.
"$vd" -r "$cap" -w - >/dev/full 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "No space left" "$tmp/err"; then
	ok "-w - >/dev/full: status 1, '$(head -1 "$tmp/err")'"
else
	bad "-w - >/dev/full: status $rc"
	show "$tmp/err"
fi
verdict
