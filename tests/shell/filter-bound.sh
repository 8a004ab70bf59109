#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# filter-bound.sh: a filter expression has a size bound (issue 12, item 6). 10,000 terms took 45 s and 319 MB
# in libpcap's optimizer; vsockdump and vsocktop must refuse them at once, saying the limit and what to do,
# and still take the most the bound allows.
# Usage: filter-bound.sh VSOCKDUMP VSOCKTOP CAPTURE
# Exit: 0 pass, 1 fail, 99 bad invocation.
set -u
if [ $# -ne 3 ]; then
	echo "usage: $0 VSOCKDUMP VSOCKTOP CAPTURE" >&2
	exit 99
fi
vd=$1 vt=$2 cap=$3
. "$(dirname "$0")/harness.sh"
start_harness
limit=256	# VSM_FILTER_MAX_TERMS (vsockmon/filter.h), as vsockdump(1) and vsocktop(1) document it

# terms N WORD: "WORD 1 or WORD 2 or ... WORD N".
terms() { seq 1 "$1" | sed "s/^/$2 /" | paste -sd'|' | sed 's/|/ or /g'; }

# refused NAME SECONDS CMD...: CMD fails within SECONDS, its message names the bound and the way out.
refused() {
	local name=$1 secs=$2 start end rc
	shift 2
	start=$(date +%s%N)
	timeout -s KILL 20 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	end=$(date +%s%N)
	if [ $rc -eq 0 ] || [ $rc -eq 137 ]; then
		bad "$name: exit status $rc after $(((end - start) / 1000000)) ms, not refused:"; show "$tmp/err" | cut -c1-200 | head -5
	elif [ $(((end - start) / 1000000)) -gt $((secs * 1000)) ]; then
		bad "$name: refused only after $(((end - start) / 1000000)) ms"
	elif ! grep -q "too many terms: a filter may have at most $limit" "$tmp/err" ||
	     ! grep -q "filter on fewer" "$tmp/err"; then
		bad "$name: the message does not name the bound and what to do:"; show "$tmp/err" | cut -c1-200 | head -5
	else
		ok "$name: refused in $(((end - start) / 1000000)) ms: $(head -1 "$tmp/err" | cut -c1-100)..."
	fi
}

terms 10000 cid >"$tmp/cid10000"
terms 10000 port >"$tmp/port10000"
terms $limit cid >"$tmp/cid$limit"
terms $((limit + 1)) port >"$tmp/port$((limit + 1))"

refused "vsockdump -d -F (10,000 cid terms)" 2 "$vd" -d -F "$tmp/cid10000"
refused "vsockdump -r (10,000 port terms)" 2 "$vd" -r "$cap" "$(cat "$tmp/port10000")"
refused "vsockdump -d ($((limit + 1)) port terms)" 2 "$vd" -d "$(cat "$tmp/port$((limit + 1))")"
refused "vsocktop -b --filter (10,000 port terms)" 2 "$vt" -b -r "$cap" --filter "$(cat "$tmp/port10000")"

# The most allowed, and an ordinary filter, still work.
if "$vd" -d -F "$tmp/cid$limit" >"$tmp/out" 2>"$tmp/err" && grep -q 'link\[' "$tmp/out"; then
	ok "vsockdump -d -F ($limit cid terms) compiles"
else
	bad "vsockdump -d -F ($limit cid terms) refused:"; show "$tmp/err" | cut -c1-200 | head -5
fi
want=$("$vd" -r "$cap" 2>/dev/null | grep -c ':1234 ')
got=$("$vd" -r "$cap" 'port 1234' 2>"$tmp/err" | grep -c '')
if [ "$want" -gt 0 ] && [ "$got" = "$want" ]; then
	ok "vsockdump -r CAPTURE 'port 1234': $got packets"
else
	bad "vsockdump 'port 1234' printed $got packets, want $want:"; show "$tmp/err"
fi
if "$vt" -b -r "$cap" --filter 'port 1234' >"$tmp/out" 2>"$tmp/err" && [ -s "$tmp/out" ]; then
	ok "vsocktop -b --filter 'port 1234'"
else
	bad "vsocktop -b --filter 'port 1234' failed:"; show "$tmp/err"
fi
verdict
