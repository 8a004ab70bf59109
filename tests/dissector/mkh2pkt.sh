#!/bin/sh
# mkh2pkt.sh: regenerates tests/golden/src/http2.pkt, an HTTP/2 session carried over a vsock STREAM.
#
# The bytes are a real HTTP/2 exchange: nghttpd (server) and nghttp (client, prior knowledge, no TLS)
# talk over TCP on the loopback of a private network namespace while tcpdump captures it; tshark's
# "follow,tcp,raw" gives each direction's bytes in order. This script then lays those bytes on a vsock
# connection, host 2:1030 to a guest agent at 3:8080, cut into 40-byte RW packets so that most HTTP/2
# frames span packets (the dissector must reassemble them), with credit fields a real pair of
# immediately-reading peers would send (fwd_cnt = bytes received so far), then SHUTDOWN and RST.
#
# Maintenance only: the output is committed and mkpcap turns it into build/tests/golden/http2.pcap.
# Needs root (for unshare -n), nghttp2-client, nghttp2-server, tcpdump, tshark.
# Usage: tests/dissector/mkh2pkt.sh [OUTPUT]   (default: tests/golden/src/http2.pkt)
set -eu

out=${1:-$(dirname "$0")/../golden/src/http2.pkt}
for tool in nghttp nghttpd tcpdump tshark unshare; do
	command -v "$tool" >/dev/null || { echo "mkh2pkt: $tool is missing (apt-get install nghttp2-client nghttp2-server tcpdump tshark)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/www"
printf 'hello from a guest agent over vsock\n' > "$work/www/index.html"
chmod -R a+rwX "$work"

# One namespace, so the port cannot clash and nothing else is captured.
unshare -n sh -c '
	cd "$1"
	ip link set lo up
	nghttpd --no-tls -d www 8080 >/dev/null 2>&1 & server=$!
	tcpdump -i lo -U -w tcp.pcap "tcp port 8080" 2>/dev/null & capture=$!
	sleep 1.5
	nghttp -v http://127.0.0.1:8080/index.html > nghttp.log
	sleep 0.5
	kill $capture $server
	wait' sh "$work"

tshark -r "$work/tcp.pcap" -q -z follow,tcp,raw,0 > "$work/follow.txt" 2>/dev/null
grep -q '^[0-9a-f]' "$work/follow.txt" || { echo "mkh2pkt: tshark found no client bytes in the capture" >&2; exit 1; }

{
	echo "# HTTP/2 (prior knowledge, no TLS) from host 2:1030 to a guest agent at 3:8080, made by"
	echo "# tests/dissector/mkh2pkt.sh from a real nghttp/nghttpd session ($(nghttp --version | awk '{print $NF}'))."
	echo "# RW packets carry 40 bytes at most, so HTTP/2 frames span packets. The frames, as nghttp saw them:"
	grep -E '^\[ *[0-9.]+\] (send|recv) [A-Z_]+ frame' "$work/nghttp.log" | sed 's/^\[ *[0-9.]*\] /#   /'
	grep -E '(:method|:path|:status|content-length): ' "$work/nghttp.log" | sed -E 's/^.*(:method|:path|:status|content-length): /#   header \1: /'
	# follow,tcp,raw: client-to-server chunks start in column 0, server-to-client chunks with a tab.
	awk -v piece=40 '
	function emit(dir, hex,    n, i, part) {
		n = length(hex) / 2
		for (i = 0; i < n; i += piece) {
			part = substr(hex, 2 * i + 1, 2 * piece)
			t += 0.0001
			if (dir == "c") {
				printf "%.6f 2:1030 > 3:8080 rw hex=%s buf_alloc=262144 fwd_cnt=%d\n", t, part, got_c
				got_s += length(part) / 2
			} else {
				printf "%.6f 3:8080 > 2:1030 rw hex=%s buf_alloc=65536 fwd_cnt=%d\n", t, part, got_s
				got_c += length(part) / 2
			}
		}
	}
	BEGIN {
		t = 1.0
		printf "%.6f 2:1030 > 3:8080 request buf_alloc=262144\n", t
		t += 0.0001
		printf "%.6f 3:8080 > 2:1030 response buf_alloc=65536\n", t
	}
	/^===/ || /^(Follow|Filter|Node)/ || /^$/ { next }
	/^\t[0-9a-f]+$/ { sub(/^\t/, ""); emit("s", $0); next }
	/^[0-9a-f]+$/ { emit("c", $0); next }
	END {
		t += 0.0001
		printf "%.6f 2:1030 > 3:8080 shutdown flags=3 buf_alloc=262144 fwd_cnt=%d\n", t, got_c
		t += 0.0001
		printf "%.6f 3:8080 > 2:1030 rst buf_alloc=65536 fwd_cnt=%d\n", t, got_s
	}' "$work/follow.txt"
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "mkh2pkt: wrote $out ($(grep -c ' rw ' "$out") RW packets)"
