#!/bin/bash
# bad-input.sh: bad files, filters, options and a full disk each give a clear error and a non-zero
# exit, and what was read or written before the failure is kept.
# Usage: bad-input.sh VSOCKDUMP CAPTURE_DIR
set -u
vd=$1 caps=$2
tmp=$(mktemp -d)
trap 'umount "$tmp/full" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0 passes=0

# expect NAME RC_WANTED STDERR_REGEX -- command...: checks the exit status and the message.
expect() {
	local name=$1 want=$2 regex=$3
	shift 4
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$want" = nonzero ] && [ $rc -ne 0 ] || [ "$rc" = "$want" ]; then
		if grep -Eq -- "$regex" "$tmp/err"; then
			passes=$((passes + 1))
			echo "ok: $name (exit $rc): $(head -1 "$tmp/err")"
			return 0
		fi
	fi
	fails=$((fails + 1))
	echo "FAIL: $name: exit $rc (wanted $want), stderr:"
	sed 's/^/    /' "$tmp/err"
	return 1
}

# pcap header: magic, 2.4, snaplen, link type (little-endian)
pcap_header() { # SNAPLEN LINKTYPE
	printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00'
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $(($1 >> 24)))"
	printf "$(printf '\\x%02x\\x%02x\\x00\\x00' $(($2 & 255)) $(($2 >> 8)))"
}

# A capture cut in the middle of its last record: the 8 whole packets are printed, then an error.
size=$(stat -c %s "$caps/halfclose.pcap")
head -c $((size - 10)) "$caps/halfclose.pcap" >"$tmp/trunc.pcap"
expect "truncated pcap" 1 "truncat" -- "$vd" -n -r "$tmp/trunc.pcap"
lines=$(wc -l <"$tmp/out")
if [ "$lines" -eq 8 ]; then passes=$((passes + 1)); echo "ok: truncated pcap: the 8 whole packets before the cut were printed"
else fails=$((fails + 1)); echo "FAIL: truncated pcap: $lines packets printed, wanted 8"; fi
head -c 20 "$caps/halfclose.pcap" >"$tmp/short-header.pcap"
expect "truncated file header" 1 "truncat|short|header" -- "$vd" -r "$tmp/short-header.pcap"

# Another link type (Ethernet).
{ pcap_header 65535 1; printf '\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x04\x00\x00\x00abcd'; } >"$tmp/ether.pcap"
expect "foreign link type" 1 "link type 1" -- "$vd" -r "$tmp/ether.pcap"

# Garbage and empty files.
head -c 4096 /dev/urandom | tr '\324\241\012\115' 'xxxx' >"$tmp/garbage.pcap"
expect "garbage file" 1 "not a (pcap|capture)" -- "$vd" -r "$tmp/garbage.pcap"
: >"$tmp/empty.pcap"
expect "empty file" 1 "empty" -- "$vd" -r "$tmp/empty.pcap"
expect "missing file" 1 "No such file" -- "$vd" -r "$tmp/does-not-exist.pcap"

# A record whose caplen is larger than the file's snaplen.
{ pcap_header 100 271; printf '\x01\x00\x00\x00\x00\x00\x00\x00\xc8\x00\x00\x00\xc8\x00\x00\x00'; head -c 200 /dev/zero; } >"$tmp/caplen.pcap"
expect "caplen > snaplen" 1 "snaplen" -- "$vd" -r "$tmp/caplen.pcap"

# Bad filters point at the offending word; bad options say what to do.
expect "bad filter word" 2 "\^" -- "$vd" -r "$caps/halfclose.pcap" port abc
expect "unknown op" 2 "credit_update" -- "$vd" -r "$caps/halfclose.pcap" op foo
expect "unbalanced parenthesis" 2 "parenthes" -- "$vd" -r "$caps/halfclose.pcap" "(" port 1
expect "unknown option" 2 "--help" -- "$vd" --no-such-option
expect "bad count" 2 "-c" -- "$vd" -c abc -r "$caps/halfclose.pcap"
expect "-r with -i" 2 "exclusive" -- "$vd" -r "$caps/halfclose.pcap" -i vsockmon0
expect "-C without -w" 2 "-w" -- "$vd" -r "$caps/halfclose.pcap" -C 1
expect "no interface" 1 "vsock" -- "$vd" -i no-such-iface0

# A full disk: the output stays a valid capture holding every packet written before the failure.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && command -v tcpdump >/dev/null; then
	mkdir -p "$tmp/full"
	if unshare -m sh -c "mount -t tmpfs -o size=64k tmpfs '$tmp/full' &&
		'$vd' -r '$caps/loopback-mixed.pcap' -w '$tmp/full/out.pcap'; rc=\$?;
		cp '$tmp/full/out.pcap' '$tmp/out-full.pcap'; exit \$rc" >"$tmp/out" 2>"$tmp/err"; then
		fails=$((fails + 1)); echo "FAIL: full disk: vsockdump exited 0"
	elif ! grep -q "No space left" "$tmp/err"; then
		fails=$((fails + 1)); echo "FAIL: full disk: no clear error:"; cat "$tmp/err"
	else
		n=$(tcpdump -r "$tmp/out-full.pcap" 2>"$tmp/tcpdump.err" | wc -l)
		if [ "$n" -gt 0 ] && ! grep -qi "truncated\|error" "$tmp/tcpdump.err" &&
			cmp -s <("$vd" -n -x -r "$tmp/out-full.pcap") <("$vd" -n -x -c "$n" -r "$caps/loopback-mixed.pcap"); then
			passes=$((passes + 1))
			echo "ok: full disk: $(head -1 "$tmp/err"); tcpdump reads the $n packets kept, equal to the input's first $n"
		else
			fails=$((fails + 1)); echo "FAIL: full disk: kept file is not a valid prefix ($n packets)"; cat "$tmp/tcpdump.err"
		fi
	fi
else
	echo "note: full-disk case not run: needs root, unshare and tcpdump"
fi

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
