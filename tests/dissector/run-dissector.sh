#!/bin/bash
# run-dissector.sh: tshark with the build tree's vsockmon plugin, checked against vsockdump on the same captures.
#   run-dissector.sh TEST PLUGIN WS_VERSION VSOCKDUMP CAPTURE...
# TEST is one of: fields analysis flows filter seqpacket http2 malformed conversations badtime summary colors. Exit 77 skips (saying why).
set -euo pipefail

test_name=$1 plugin=$2 ws_version=$3 vsockdump=$4
shift 4
captures=("$@")

command -v tshark >/dev/null || { echo "SKIP: tshark is not installed"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# tshark loads the build tree's plugin and no other copy (plugin-tshark.sh says how); as root it runs as
# nobody, so the captures are copied into the work folder.
source "$(dirname "$0")/../../dissector/plugin-tshark.sh"
plugin_tshark_prepare "$work" "$plugin" "$ws_version"
mkdir -p "$work/caps"
for c in "${captures[@]}"; do
	cp "$c" "$work/caps/"
done
chmod -R a+rX "$work"

run_tshark() {
	plugin_tshark "$work" "$@"
}

# The plugin is loaded: its protocol is registered. (Not -G plugins: that also runs the extcap
# programs, which hang when the sanitizers' runtimes are preloaded into them.)
run_tshark -G protocols >"$work/protocols" 2>/dev/null || true
# Columns: name, short name, filter name (Wireshark 4.4 adds whether it is enabled, and more).
if ! awk -F'\t' '$1 == "vsockmon (vsock over vsockmon)" && $2 == "VSOCKMON" && $3 == "vsockmon" { found = 1 }
		END { exit !found }' "$work/protocols"; then
	echo "FAIL: tshark did not load $plugin"
	exit 1
fi

cap_path() {
	echo "$work/caps/$(basename "$1")"
}

# tshark -T fields, tab-separated, every occurrence, comma-joined; two passes, so that what needs the
# whole capture (the end of a connection, the flow summaries) is known on every frame.
fields() {
	local cap=$1
	shift
	local args=(-2 -r "$(cap_path "$cap")" -T fields -E separator=/t -E occurrence=a -E aggregator=,)
	for f in "$@"; do
		args+=(-e "$f")
	done
	# Booleans: Wireshark 4.0 prints 1 and 0, 4.2 and later True and False; 1 and 0 here.
	run_tshark "${args[@]}" 2>"$work/stderr" |
		awk -F'\t' -v OFS='\t' '{ for (i = 1; i <= NF; i++) { if ($i == "True") $i = "1"; else if ($i == "False") $i = "0" } print }'
	if grep -v "Running as user" "$work/stderr" | grep . >/dev/null; then
		fail "tshark wrote to stderr on $cap: $(head -3 "$work/stderr")"
	fi
}

# Compares two files, naming the capture and the check.
same() {
	local what=$1 expected=$2 got=$3
	if cmp -s "$expected" "$got"; then
		echo "ok: $what ($(wc -l <"$expected") lines)"
	else
		fail "$what differs (expected: vsockdump, got: tshark)"
		diff "$expected" "$got" | head -20
	fi
}

# jq helpers: the numbers of the names vsockdump prints ("op(9)" for one without a name).
jq_names='
def num($t): if . == null then "" elif ($t[.] != null) then $t[.] else (capture("\\((?<n>[0-9]+)\\)").n | tonumber) end;
def ops: {"INVALID":0,"REQUEST":1,"RESPONSE":2,"RST":3,"SHUTDOWN":4,"RW":5,"CREDIT_UPDATE":6,"CREDIT_REQUEST":7};
def types: {"STREAM":1,"SEQPACKET":2};
def mon_ops: {"UNKNOWN":0,"CONNECT":1,"DISCONNECT":2,"CONTROL":3,"PAYLOAD":4};
def transports: {"UNKNOWN":0,"NO_INFO":1,"VIRTIO":2};
def s: if . == null then "" else tostring end;
'

# 1. Every header field, frame by frame, against vsockdump --json.
test_fields() {
	for cap in "${captures[@]}"; do
		local name
		name=$(basename "$cap")
		"$vsockdump" --json -r "$cap" | jq -r "$jq_names"'
			[.num, (.src_cid|s), (.src_port|s), (.dst_cid|s), (.dst_port|s), (.mon_op|num(mon_ops)),
			 (.transport|num(transports)), (.tp_len|s), (.type|num(types)), (.op|num(ops)), (.flags|s),
			 ((.flag_names // []) | join(",")), (.len|s), (.buf_alloc|s), (.fwd_cnt|s),
			 (.payload_caplen|s), (.problems | join(","))] | map(tostring) | @tsv' >"$work/want"
		fields "$cap" frame.number vsockmon.src_cid vsockmon.src_port vsockmon.dst_cid vsockmon.dst_port \
			vsockmon.mon_op vsockmon.transport vsockmon.tp_len vsockmon.type vsockmon.op vsockmon.flags \
			vsockmon.flag_names vsockmon.len vsockmon.buf_alloc vsockmon.fwd_cnt vsockmon.payload_caplen \
			vsockmon.problems >"$work/got.hex"
		# tshark shows the flags in hex (0x00000003), vsockdump in decimal.
		jq -R -r 'def hex2dec: ltrimstr("0x") | ascii_downcase | explode
				| reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));
			split("\t") | .[10] |= (if . == "" then "" else (hex2dec | tostring) end) | join("\t")' \
			"$work/got.hex" >"$work/got"
		same "header fields of $name" "$work/want" "$work/got"
	done
}

# 2. The analysis of each packet: bytes in flight, credit, window full, credit exceeded.
test_analysis() {
	for cap in "${captures[@]}"; do
		local name
		name=$(basename "$cap")
		"$vsockdump" --json -r "$cap" | jq -r "$jq_names"'
			[.num, (.in_flight|s), (.credit|s), (if .window_full then "1" else "" end),
			 (if .credit_exceeded then "1" else "" end)] | map(tostring) | @tsv' >"$work/want"
		fields "$cap" frame.number vsockmon.analysis.in_flight vsockmon.analysis.credit \
			vsockmon.analysis.window_full vsockmon.analysis.credit_exceeded >"$work/got"
		same "per-packet analysis of $name" "$work/want" "$work/got"
	done
}

# 2b. Each connection's summary against vsockdump --flows --json: state, problems, and per direction
# the packets, bytes, messages, stalls (count, total and longest), credit requests and their answers.
test_flows() {
	for cap in "${captures[@]}"; do
		local name
		name=$(basename "$cap")
		"$vsockdump" --flows --json -r "$cap" | jq -r '
			select(.kind == "flow") | . as $f |
			def d($k): "\($f.a_to_b[$k]),\($f.b_to_a[$k])";
			[.id, .state, (.problems | join(",")), .a_cid, .a_port, .b_cid, .b_port, .duration_ns,
			 d("pkts"), d("rw_pkts"), d("bytes"), d("msgs"), d("msgs_eor"), d("buf_alloc"), d("fwd_cnt"),
			 d("stalls"), d("stall_ns"), d("stall_max_ns"), d("stall_now_ns"), d("credit_requests"),
			 d("credit_unanswered"), d("credit_updates"), d("buf_changes"), d("ring_waits")]
			| map(tostring) | @tsv' >"$work/want"
		fields "$cap" vsockmon.flow.id vsockmon.flow.state vsockmon.flow.problems vsockmon.flow.a_cid \
			vsockmon.flow.a_port vsockmon.flow.b_cid vsockmon.flow.b_port vsockmon.flow.duration_ns \
			vsockmon.dir.pkts vsockmon.dir.rw_pkts vsockmon.dir.bytes vsockmon.dir.msgs vsockmon.dir.msgs_eor \
			vsockmon.dir.buf_alloc vsockmon.dir.fwd_cnt vsockmon.dir.stalls vsockmon.dir.stall_ns \
			vsockmon.dir.stall_max_ns vsockmon.dir.stall_now_ns vsockmon.dir.credit_requests \
			vsockmon.dir.credit_unanswered vsockmon.dir.credit_updates vsockmon.dir.buf_changes \
			vsockmon.dir.ring_waits >"$work/got.all"
		# Every frame of a connection carries its summary: one line per connection, in id order. vsockdump
		# lists the connections its table still holds: one whose endpoints a new REQUEST took over is
		# gone from it, while the dissector still shows it on its frames; compare those vsockdump has.
		cut -f1 "$work/want" >"$work/ids"
		awk -F'\t' 'NR == FNR { want[$1] = 1; next } $1 != "" && want[$1] && !seen[$1]++' "$work/ids" "$work/got.all" |
			sort -n -k1,1 >"$work/got"
		sort -n -k1,1 "$work/want" >"$work/want.s"
		same "connection summaries of $name" "$work/want.s" "$work/got"
		# Each problem of a connection has its expert info, on the packet it belongs to: an unanswered
		# CREDIT_REQUEST, a REQUEST never answered, the RST of a refusal or an abort.
		local p ops
		for p in $("$vsockdump" --flows --json -r "$cap" | jq -r 'select(.kind == "flow") | .problems[]' | sort -u); do
			"$vsockdump" --flows --json -r "$cap" | jq -r --arg p "$p" \
				'select(.kind == "flow" and (.problems | index($p))) | .id' | sort -n >"$work/want"
			run_tshark -2 -r "$(cap_path "$cap")" -Y "vsockmon.problem.$p" -T fields \
				-e vsockmon.analysis.flow_id -e vsockmon.op >"$work/got.all" 2>/dev/null
			awk -F'\t' 'NR == FNR { want[$1] = 1; next } want[$1] { print $1 }' "$work/ids" "$work/got.all" |
				sort -n -u >"$work/got"
			same "expert info vsockmon.problem.$p on the connections of $name" "$work/want" "$work/got"
			ops=$(cut -f2 "$work/got.all" | sort -u | tr '\n' ' ')
			case $p in
			credit_unanswered) want_ops="7 " ;;
			incomplete) want_ops="1 " ;;
			refused|abort) want_ops="3 " ;;
			*) want_ops=$ops ;;
			esac
			[ "$ops" = "$want_ops" ] || fail "$name: vsockmon.problem.$p on packets of op $ops, not $want_ops"
			# The expert info says it in vsockdump --flows's words (problems.def): "explain P: WORDS".
			local words
			words=$("$vsockdump" -n --flows -r "$cap" | sed -n "s/^    explain $p: //p" | sort -u)
			[ -n "$words" ] || fail "$name: vsockdump --flows has no 'explain $p' line"
			run_tshark -2 -r "$(cap_path "$cap")" -Y "vsockmon.problem.$p" -T fields -e _ws.expert.message \
				-E occurrence=a -E 'aggregator=|' >"$work/msgs" 2>/dev/null
			# (problems.def's words have no "|": it parts the messages of one frame)
			# (grep without -q: with pipefail, grep -q leaving early would make tr die of SIGPIPE on a long list)
			if [ -n "$words" ] && ! tr '|' '\n' <"$work/msgs" | grep -xF -- "$words" >/dev/null; then
				fail "$name: the expert info of vsockmon.problem.$p does not say '$words'"
			fi
		done
	done
}

# 3. Display filters: the frames with a full window, and the frames sent while their sender is stalled.
test_filter() {
	for cap in "${captures[@]}"; do
		local name
		name=$(basename "$cap")
		"$vsockdump" --json -r "$cap" | jq -r 'select(.window_full) | .num' >"$work/want"
		run_tshark -2 -r "$(cap_path "$cap")" -Y vsockmon.analysis.window_full -T fields -e frame.number >"$work/got" 2>/dev/null
		same "vsockmon.analysis.window_full on $name" "$work/want" "$work/got"
		if [ "$name" = kernel-slow-reader.pcap ]; then
			# kernel-captures.md: 57 full windows on port 6001, 1 on port 6002.
			[ "$(wc -l <"$work/got")" -eq 58 ] || fail "kernel-slow-reader.pcap: $(wc -l <"$work/got") full windows, not 58"
		fi
		# Stalled, computed again from vsockdump's per-packet credit: an RW that leaves its sender no
		# credit starts a stall; the sender's packets stay stalled while its credit stays at 0 or
		# below; an RST (or a new REQUEST) ends whatever the connection had.
		"$vsockdump" --json -r "$cap" | jq -rn '
			reduce inputs as $p ({out: [], st: {}};
				($p | if .src_cid == null or .op == null then null else
				  ([[.src_cid, .src_port], [.dst_cid, .dst_port]] | sort | tostring) end) as $k |
				if $k == null then . else
				("\($p.src_cid):\($p.src_port)") as $me |
				if $p.op == "RST" or $p.op == "REQUEST" then .st[$k] = {} else
				(($p.op == "RW" and ($p.len // 0) > 0 and $p.credit != null and $p.credit <= 0) or
				 ((.st[$k][$me] // false) and $p.credit != null and $p.credit <= 0)) as $stalled |
				.st[$k][$me] = $stalled | if $stalled then .out += [$p.num] else . end end end)
			| .out[]' >"$work/want"
		run_tshark -2 -r "$(cap_path "$cap")" -Y vsockmon.analysis.stalled -T fields -e frame.number >"$work/got" 2>/dev/null
		same "vsockmon.analysis.stalled on $name" "$work/want" "$work/got"
	done
}

# 3b. SEQPACKET messages reassembled up to EOM: for each message spread over several packets, the
# frame of its EOM and its length, against the same worked out from vsockdump --json (virtio spec
# 5.10.6.6: a message ends with the packet that carries EOM).
test_seqpacket() {
	local total=0
	for cap in "${captures[@]}"; do
		local name
		name=$(basename "$cap")
		"$vsockdump" --json -r "$cap" | jq -rn '
			reduce (inputs | select(.type == "SEQPACKET" and .op == "RW")) as $p ({out: [], open: {}};
				"\($p.src_cid):\($p.src_port)>\($p.dst_cid):\($p.dst_port)" as $k |
				(.open[$k] // {n: 0, len: 0}) as $m |
				{n: ($m.n + 1), len: ($m.len + $p.len)} as $m2 |
				if ($p.flag_names | index("EOM")) then
					.open[$k] = null | (if $m2.n > 1 then .out += ["\($p.num)\t\($m2.len)"] else . end)
				else .open[$k] = $m2 end)
			| .out[]' >"$work/want"
		run_tshark -2 -r "$(cap_path "$cap")" -Y "vsockmon.reassembled.length && vsockmon.type == 2" \
			-T fields -e frame.number -e vsockmon.reassembled.length >"$work/got" 2>/dev/null
		same "SEQPACKET messages reassembled in $name" "$work/want" "$work/got"
		total=$((total + $(wc -l <"$work/want")))
	done
	[ "$total" -gt 0 ] || fail "no capture has a SEQPACKET message over several packets: the test checks nothing"
	echo "ok: $total SEQPACKET messages over several packets in all"
}

# 4. HTTP/2 over vsock through Decode As: the frames each way and the headers, as nghttp saw them
# (the comments of tests/golden/src/http2.pkt).
test_http2() {
	local cap=${captures[0]} pkt=${captures[1]} client server
	# The header line of http2.pkt names the ends: "from host 2:1030 to a guest agent at 3:8080".
	client=$(sed -n 's/.*from [a-z ]*[0-9]*:\([0-9]*\) to.*/\1/p' "$pkt" | awk 'NR == 1')
	server=$(sed -n 's/.* at [0-9]*:\([0-9]*\)[^0-9]*$/\1/p' "$pkt" | awk 'NR == 1')
	[ -n "$client" ] && [ -n "$server" ] || { fail "no ports in the comments of $pkt"; return; }
	local types='{"DATA":0,"HEADERS":1,"PRIORITY":2,"RST_STREAM":3,"SETTINGS":4,"PUSH_PROMISE":5,"PING":6,"GOAWAY":7,"WINDOW_UPDATE":8,"CONTINUATION":9}'
	for dir in send recv; do
		sed -n "s/^#   $dir \([A-Z_]*\) frame.*/\1/p" "$pkt" | jq -R --argjson t "$types" '$t[.]' >"$work/want.$dir"
	done
	run_tshark -2 -r "$(cap_path "$cap")" -d "vsockmon.port==$server,http2" -T fields -E separator=/t \
		-E occurrence=a -E aggregator=, -e vsockmon.src_port -e http2.type >"$work/types" 2>/dev/null
	awk -F'\t' -v p="$client" '$1 == p && $2 != "" { n = split($2, t, ","); for (i = 1; i <= n; i++) print t[i] }' \
		"$work/types" >"$work/got.send"
	awk -F'\t' -v p="$server" '$1 == p && $2 != "" { n = split($2, t, ","); for (i = 1; i <= n; i++) print t[i] }' \
		"$work/types" >"$work/got.recv"
	same "HTTP/2 frames client to server (Decode As port $server)" "$work/want.send" "$work/got.send"
	same "HTTP/2 frames server to client" "$work/want.recv" "$work/got.recv"
	# Every header nghttp logged, name and value, decoded by Wireshark's HTTP/2 (HPACK across frames).
	run_tshark -2 -r "$(cap_path "$cap")" -d "vsockmon.port==$server,http2" -T fields -E separator=/t \
		-e http2.header.name -e http2.header.value -E occurrence=a -E aggregator='|' >"$work/hdrs" 2>/dev/null
	awk -F'\t' '$1 != "" { n = split($1, a, "|"); split($2, b, "|"); for (i = 1; i <= n; i++) print a[i] ": " b[i] }' \
		"$work/hdrs" >"$work/got.hdrs"
	sed -n 's/^#   header //p' "$pkt" >"$work/want.hdrs"
	local missing=0
	while IFS= read -r h; do
		grep -qxF "$h" "$work/got.hdrs" || { fail "header not decoded: $h"; missing=1; }
	done <"$work/want.hdrs"
	[ $missing -eq 0 ] && echo "ok: $(wc -l <"$work/want.hdrs") headers decoded"
	# Frames span packets: some bytes are reassembled in a later frame.
	run_tshark -2 -r "$(cap_path "$cap")" -d "vsockmon.port==$server,http2" -Y vsockmon.reassembled_in \
		-T fields -e frame.number >"$work/reasm" 2>/dev/null
	[ -s "$work/reasm" ] && echo "ok: $(wc -l <"$work/reasm") frames hold parts of PDUs reassembled later" ||
		fail "no frame holds part of a reassembled PDU"
	# Without Decode As, the payload stays data: it is the table that chose HTTP/2.
	run_tshark -2 -r "$(cap_path "$cap")" -Y http2 -T fields -e frame.number >"$work/nod" 2>/dev/null
	[ ! -s "$work/nod" ] && echo "ok: no HTTP/2 without Decode As" || fail "HTTP/2 decoded without Decode As"
}

# 5. Malformed frames: each problem vsockdump finds has its expert info on exactly those frames; tshark
# -V goes through every capture without a crash or a dissector bug.
test_malformed() {
	local cap=${captures[0]} name p
	name=$(basename "$cap")
	for p in truncated payload_truncated len_mismatch tp_len op_mismatch addr_mismatch unknown_op unknown_type \
		 unknown_flags reserved unknown_mon_op unknown_transport; do
		"$vsockdump" --json -r "$cap" | jq -r --arg p "$p" 'select(.problems | index($p)) | .num' >"$work/want"
		run_tshark -2 -r "$(cap_path "$cap")" -Y "vsockmon.problem.$p" -T fields -e frame.number >"$work/got" 2>/dev/null
		[ -s "$work/want" ] || fail "$name has no frame with $p: the capture no longer covers it"
		same "expert info vsockmon.problem.$p on $name" "$work/want" "$work/got"
	done
	for cap in "${captures[@]}"; do
		name=$(basename "$cap")
		if ! run_tshark -2 -V -x -r "$(cap_path "$cap")" >"$work/v" 2>"$work/stderr"; then
			fail "tshark -V exited non-zero on $name: $(tail -3 "$work/stderr")"
		elif grep -q "^vSocket" "$work/v"; then
			fail "tshark -V on $name: the built-in vsock dissector decoded frames too"
		elif grep -q "Dissector bug\|Malformed Packet" "$work/v"; then
			fail "tshark -V on $name: $(grep -m1 "Dissector bug\|Malformed Packet" "$work/v")"
		else
			echo "ok: tshark -V over $name ($(grep -c '^Frame ' "$work/v") frames)"
		fi
	done
	# Mangled captures: editcap changes 2% of the frames' bytes at random (fixed seeds), so the headers
	# lie and reassembly meets garbage. Payload dissectors may call their bytes malformed; ours must go
	# through without a dissector bug, an exception of its own or, under the sanitizers, a report.
	command -v editcap >/dev/null || { fail "editcap is missing (it comes with tshark: wireshark-common)"; return; }
	local seed mangled
	for cap in "${captures[@]}"; do
		name=$(basename "$cap" .pcap)
		for seed in 1 2; do
			mangled="$work/caps/$name-mangled-$seed.pcap"
			editcap -E 0.02 --seed "$seed" "$cap" "$mangled" 2>/dev/null
			chmod a+r "$mangled"
			if ! run_tshark -2 -V -r "$mangled" -d vsockmon.port==8080,http2 >"$work/v" 2>"$work/stderr"; then
				fail "tshark -V exited non-zero on $name mangled (seed $seed): $(tail -3 "$work/stderr")"
			elif grep -q "Dissector bug" "$work/v"; then
				fail "tshark -V on $name mangled (seed $seed): $(grep -m1 "Dissector bug" "$work/v")"
			else
				echo "ok: $name mangled (seed $seed): $(grep -c '^Frame ' "$work/v") frames"
			fi
		done
	done
}

# 6. Statistics > Conversations and Follow Stream: a line per connection with its packets, and the
# payload of a connection each way, in order.
test_conversations() {
	local cap=${captures[0]} name a b
	name=$(basename "$cap")
	"$vsockdump" --flows --json -r "$cap" | jq -r 'select(.kind == "flow") | .a_to_b.pkts + .b_to_a.pkts' |
		sort -n >"$work/want"
	run_tshark -r "$(cap_path "$cap")" -q -z conv,vsockmon >"$work/conv" 2>/dev/null
	awk '/<->/ { print $(NF - 4) }' "$work/conv" | sort -n >"$work/got"
	same "conversations of $name (packets each)" "$work/want" "$work/got"
	# Connection 1 (stream 0): its RW payloads, hex, in order, against follow's raw output.
	read -r a b < <("$vsockdump" --flows --json -r "$cap" | jq -r 'select(.id == 1) | "\(.a_port) \(.b_port)"')
	"$vsockdump" --json -x -r "$cap" "port $a and port $b and op rw" | jq -r 'select(.len > 0) | .payload' >"$work/want"
	run_tshark -r "$(cap_path "$cap")" -q -z follow,vsockmon,raw,0 >"$work/follow" 2>/dev/null
	sed -n '/^Node 1:/,/^====/p' "$work/follow" | grep -v '^Node\|^====' | tr -d '\t' >"$work/got"
	same "follow,vsockmon,raw,0 on $name" "$work/want" "$work/got"
	run_tshark -r "$(cap_path "$cap")" -q -z follow,vsockmon,ascii,0 >"$work/follow" 2>/dev/null
	if [ "$name" = loopback-mixed.pcap ]; then
		[ "$(grep -c 'hello vsock from guest' "$work/follow")" -eq 2 ] && grep -q '^23$' "$work/follow" &&
			echo "ok: follow,vsockmon,ascii,0 shows the 23-byte echo both ways" ||
			fail "follow,vsockmon,ascii,0 does not show the 23-byte echo: $(cat "$work/follow")"
	fi
	# Both ends of each conversation and each endpoint as cid:port (issue 13), so that two connections
	# between the same CIDs are told apart: the pairs vsockdump --flows finds, on every capture given.
	local pairs_want seen=" " checked=0
	for cap in "${captures[@]}"; do
		name=$(basename "$cap")
		case $seen in *" $name "*) continue ;; esac
		seen+="$name "
		"$vsockdump" --flows --json -r "$cap" | jq -r 'select(.kind == "flow") | "\(.a_cid):\(.a_port) \(.b_cid):\(.b_port)"' |
			awk '{ print ($1 < $2) ? $1 " " $2 : $2 " " $1 }' | sort -u >"$work/want"
		run_tshark -r "$(cap_path "$cap")" -q -z conv,vsockmon >"$work/conv" 2>/dev/null
		awk '$2 == "<->" { print ($1 < $3) ? $1 " " $3 : $3 " " $1 }' "$work/conv" | sort -u >"$work/got"
		same "conversations of $name as cid:port pairs" "$work/want" "$work/got"
		run_tshark -r "$(cap_path "$cap")" -q -z endpoints,vsockmon >"$work/ep" 2>/dev/null
		tr ' ' '\n' <"$work/want" | sort -u >"$work/want.ep"
		awk '$1 ~ /^[0-9]+:[0-9]+$/ { print $1 }' "$work/ep" | sort -u >"$work/got.ep"
		same "endpoints of $name as cid:port" "$work/want.ep" "$work/got.ep"
		# The filter Wireshark makes for a conversation (Conversation Filter, A <-> B) keeps its packets
		# (those of every connection between the two, when a pair of ends was used again).
		local a b frames n
		while read -r a b frames; do
			n=$(run_tshark -r "$(cap_path "$cap")" -Y "vsockmon.endpoint==\"$a\" && vsockmon.endpoint==\"$b\"" 2>/dev/null | wc -l)
			[ "$n" -eq "$frames" ] || fail "$name: the filter of conversation $a <-> $b keeps $n frames, not $frames"
			checked=$((checked + 1))
		done < <(awk '$2 == "<->" { n[$1 " " $3] += $(NF - 4) } END { for (p in n) print p, n[p] }' "$work/conv" | head -20)
	done
	[ "$checked" -gt 0 ] && echo "ok: the filters of $checked conversations keep their frames" ||
		fail "no conversation filter checked"
	# Checked by hand against vsockdump --flows -n: the four connections of loopback-mixed.pcap, three of
	# them between the same two CIDs (1 and 1: loopback).
	if [ "$(basename "${captures[0]}")" = loopback-mixed.pcap ]; then
		pairs_want=$'1:344982357 <-> 1:1234\n1:344982358 <-> 1:1235\n1:344982359 <-> 1:4321\n1:344982360 <-> 1:1236'
		run_tshark -r "$(cap_path "${captures[0]}")" -q -z conv,vsockmon 2>/dev/null |
			awk '$2 == "<->" { print $1, $2, $3 }' | sort >"$work/got"
		[ "$(cat "$work/got")" = "$pairs_want" ] && echo "ok: -z conv,vsockmon on loopback-mixed.pcap: $(paste -sd';' "$work/got")" ||
			fail "-z conv,vsockmon on loopback-mixed.pcap: $(cat "$work/got")"
	fi
}

# 7. The connection summary (issue 13): its own subtree, one line for the connection and one per
# direction in human units, so that tshark -V on a REQUEST stays short; exact values behind the lines as
# filter fields; the preference vsockmon.show_summary turns the subtree off, not the filters.
test_summary() {
	local cap name vlines trouble want_lines=30
	for cap in "${captures[@]}"; do
		name=$(basename "$cap")
		# The first REQUEST of the capture: what our protocol prints of it with -V (Wireshark's own Frame
		# section, which differs between versions, aside).
		local req
		req=$("$vsockdump" --json -r "$cap" | jq -r 'select(.op == "REQUEST") | .num' | awk 'NR == 1')
		[ -n "$req" ] || { fail "$name has no REQUEST"; continue; }
		run_tshark -2 -V -r "$(cap_path "$cap")" -Y "frame.number == $req" >"$work/v" 2>/dev/null
		awk '/^vsockmon \(vsock over vsockmon\)/ { on = 1 } on && /^$/ { exit } on' "$work/v" >"$work/ours"
		# Under a direction's line, only the figures that say something went wrong are shown (one line
		# each); the rest of our lines fit in want_lines.
		trouble=$(grep -Ec '^ {12}\[(stalled|stalls|stall_ns|stall_max_ns|stall_now_ns|credit_unanswered|buf_changes|ring_waits): ' \
			"$work/ours" || true)
		vlines=$(wc -l <"$work/ours")
		if [ $((vlines - trouble)) -gt "$want_lines" ]; then
			fail "tshark -V on the REQUEST (frame $req) of $name: $vlines lines of vsockmon ($trouble of trouble), over $want_lines"
			cat "$work/ours"
		else
			echo "ok: tshark -V on the REQUEST (frame $req) of $name: $vlines lines of vsockmon, $trouble of them trouble figures ($(wc -l <"$work/v") in all)"
		fi
		# No raw nanosecond counts as values: durations read "59.5 ms (59500000 ns)".
		if grep -Eq '\[[a-z_]*_ns: [0-9]+\]' "$work/ours"; then
			fail "$name frame $req: a duration in raw nanoseconds: $(grep -Em1 '\[[a-z_]*_ns: [0-9]+\]' "$work/ours")"
		fi
		# The connection line, against vsockdump --flows: type, both endpoints, state and duration.
		local id line want
		id=$(run_tshark -2 -r "$(cap_path "$cap")" -Y "frame.number == $req" -T fields -e vsockmon.analysis.flow_id 2>/dev/null)
		line=$("$vsockdump" --flows --json -r "$cap" | jq -r --argjson id "$id" \
			'select(.kind == "flow" and .id == $id) | "\(.type) \(.a_cid):\(.a_port) ↔ \(.b_cid):\(.b_port), \(.state), "')
		# vsockdump --flows prints the duration the same way (libvsockmon's vsm_put_duration()).
		want=$line$("$vsockdump" --flows -r "$cap" | sed -n "s/^flow $id .*, \([0-9.]* [mu]\{0,1\}s\)\( \[.*\]\)\{0,1\}$/\1/p")
		if [ -z "$line" ]; then
			echo "ok: $name: connection $id of frame $req is not in vsockdump's table (its endpoints were used again)"
		elif grep -qF "[Connection summary: $want" "$work/ours"; then
			echo "ok: $name frame $req: [Connection summary: $want...]"
		else
			fail "$name frame $req: no [Connection summary: $want...]: $(grep -m1 'Connection summary' "$work/ours")"
		fi
		# The preference off: no summary in the tree, and the same frames match a filter on its fields.
		run_tshark -2 -V -o vsockmon.show_summary:FALSE -r "$(cap_path "$cap")" -Y "frame.number == $req" >"$work/v" 2>/dev/null
		if grep -q 'Connection summary' "$work/v"; then
			fail "$name: vsockmon.show_summary:FALSE still shows the summary"
		fi
		local filter='vsockmon.dir.pkts > 2 || vsockmon.flow.state == "refused"'
		run_tshark -2 -r "$(cap_path "$cap")" -Y "$filter" -T fields -e frame.number >"$work/want" 2>/dev/null
		run_tshark -2 -o vsockmon.show_summary:FALSE -r "$(cap_path "$cap")" -Y "$filter" -T fields \
			-e frame.number >"$work/got" 2>/dev/null
		[ -s "$work/want" ] || fail "$name: no frame matches $filter: the check checks nothing"
		same "$filter on $name with vsockmon.show_summary off" "$work/want" "$work/got"
	done
	# The slow reader's first connection (kernel-captures.md: 57 stalls on port 6001): on its last packet,
	# the direction line in KiB and the stall figures shown with their exact values, as vsockdump has them.
	cap=$work/caps/kernel-slow-reader.pcap
	[ -f "$cap" ] || return 0
	local bytes stalls stall_ns last kib
	read -r bytes stalls stall_ns < <("$vsockdump" --flows --json -r "$cap" |
		jq -r 'select(.kind == "flow" and .b_port == 6001) | "\(.a_to_b.bytes) \(.a_to_b.stalls) \(.a_to_b.stall_ns)"')
	last=$(run_tshark -2 -r "$cap" -Y 'vsockmon.flow.b_port == 6001' -T fields -e frame.number 2>/dev/null | tail -1)
	run_tshark -2 -V -r "$cap" -Y "frame.number == $last" >"$work/v" 2>/dev/null
	# 524288 bytes: 512 KiB (a size of 10 KiB or more has no decimal).
	kib=$((bytes / 1024))
	[ $((bytes % 1024)) -eq 0 ] && [ "$kib" -ge 10 ] || { fail "kernel-slow-reader: $bytes bytes, not a whole number of KiB"; return; }
	grep -q "a_to_b .*: [0-9]* packets ([0-9]* RW), $kib KiB, .*, $stalls stalls (" "$work/v" &&
		echo "ok: kernel-slow-reader frame $last: a_to_b says $kib KiB and $stalls stalls" ||
		fail "kernel-slow-reader frame $last: no a_to_b line with $kib KiB and $stalls stalls: $(grep -m1 'a_to_b' "$work/v")"
	grep -q "^ *\[stalls: $stalls\]$" "$work/v" && grep -q "^ *\[stall_ns: .* ($stall_ns ns)\]$" "$work/v" &&
		echo "ok: kernel-slow-reader frame $last: [stalls: $stalls], [stall_ns: ... ($stall_ns ns)]" ||
		fail "kernel-slow-reader frame $last: the stall figures are not shown: $(grep -m3 'stall' "$work/v")"
}

# 8. The coloring rules shipped with the plugin (dissector/vsockmon.colorfilters, issue 13): they load in
# tshark from a profile without a complaint, and each colors exactly the frames its filter matches and
# no earlier rule does (the first rule that matches wins, as in Wireshark); each colors some frame.
test_colors() {
	local rules=${captures[0]} profile=$work/home/.config/wireshark/profiles/vsockmon cap name i n
	local -a names filters
	mkdir -p "$profile"
	while IFS=@ read -r _ rname rfilter _; do
		names+=("$rname")
		filters+=("$rfilter")
	done < <(grep '^@' "$rules")
	[ "${#names[@]}" -ge 4 ] || { fail "$rules: ${#names[@]} rules"; return; }
	chmod -R a+rX "$work/home"
	# A rule whose filter does not compile: tshark says so on stderr (and leaves the rule out). First
	# with one made wrong on purpose, so that the check below is known to be able to fail.
	{ cat "$rules"; echo '@vsock broken@vsockmon.problem.no_such_problem@[0,0,0][65535,65535,65535]'; } >"$profile/colorfilters"
	chmod a+r "$profile/colorfilters"
	XDG_CONFIG_HOME=$work/home/.config run_tshark -C vsockmon --color -r "$(cap_path "${captures[1]}")" -c 1 >/dev/null 2>"$work/stderr" || true
	grep -q 'Could not compile "vsock broken"' "$work/stderr" &&
		echo "ok: a rule that does not compile is reported: $(grep -m1 -o 'Could not compile "[^"]*"' "$work/stderr")" ||
		fail "tshark did not report the broken rule: $(head -3 "$work/stderr")"
	cp "$rules" "$profile/colorfilters"
	chmod a+r "$profile/colorfilters"
	declare -A colored=()
	for cap in "${captures[@]:1}"; do
		name=$(basename "$cap")
		XDG_CONFIG_HOME=$work/home/.config run_tshark -2 -C vsockmon --color -r "$(cap_path "$cap")" \
			-T fields -e frame.number -e frame.coloring_rule.name >"$work/got.all" 2>"$work/stderr"
		if grep -v "Running as user" "$work/stderr" | grep . >/dev/null; then
			fail "tshark complained about $rules on $name: $(head -3 "$work/stderr")"
		fi
		# What each rule should color: its filter, and none of the rules above it.
		: >"$work/want"
		local before=""
		for i in "${!names[@]}"; do
			run_tshark -2 -r "$(cap_path "$cap")" -Y "(${filters[$i]})${before:+ && !(${before})}" -T fields -e frame.number \
				2>/dev/null | sed "s/\$/\t${names[$i]}/" >>"$work/want"
			before="${before:+$before || }(${filters[$i]})"
		done
		sort -n "$work/want" >"$work/want.s"
		awk -F'\t' '$2 != ""' "$work/got.all" | sort -n >"$work/got"
		same "coloring rules on $name" "$work/want.s" "$work/got"
		while IFS=$'\t' read -r _ rname; do
			colored[$rname]=$((${colored[$rname]:-0} + 1))
		done <"$work/got"
	done
	for i in "${!names[@]}"; do
		n=${colored[${names[$i]}]:-0}
		[ "$n" -gt 0 ] && echo "ok: rule \"${names[$i]}\" colors $n frames" ||
			fail "rule \"${names[$i]}\" colors no frame of the captures: it is not tested"
	done
}

# 9. Clocks that make no sense (issue 12, item 7; tests/badtime/mkbadtime.py): the plugin bounds the time its
# flow analysis does arithmetic on, and marks exactly the frames vsockdump flags "timestamp"; tshark -V goes
# through each capture without a sanitizer report (in the -Dsanitizers build) or a dissector bug.
test_badtime() {
	local cap name flagged=0
	for cap in "${captures[@]}"; do
		name=$(basename "$cap")
		"$vsockdump" --json -r "$cap" | jq -r 'select(.problems | index("timestamp")) | .num' >"$work/want"
		run_tshark -2 -r "$(cap_path "$cap")" -Y "vsockmon.problem.timestamp" -T fields -e frame.number \
			>"$work/got" 2>"$work/stderr" || fail "tshark -Y vsockmon.problem.timestamp on $name: $(tail -3 "$work/stderr")"
		same "expert info vsockmon.problem.timestamp on $name" "$work/want" "$work/got"
		flagged=$((flagged + $(wc -l <"$work/want")))
		if ! run_tshark -2 -V -r "$(cap_path "$cap")" >"$work/v" 2>"$work/stderr" ||
		   grep -Eq 'runtime error|AddressSanitizer' "$work/stderr"; then
			fail "tshark -V on $name: $(grep -m3 -E 'runtime error|AddressSanitizer|.' "$work/stderr")"
		elif grep -q "Dissector bug" "$work/v"; then
			fail "tshark -V on $name: $(grep -m1 "Dissector bug" "$work/v")"
		else
			echo "ok: tshark -V over $name"
		fi
	done
	[ "$flagged" -gt 0 ] || fail "no frame flagged timestamp in ${#captures[@]} captures: they no longer test it"
}

case $test_name in
fields) test_fields ;;
analysis) test_analysis ;;
flows) test_flows ;;
filter) test_filter ;;
seqpacket) test_seqpacket ;;
http2) test_http2 ;;
malformed) test_malformed ;;
conversations) test_conversations ;;
badtime) test_badtime ;;
summary) test_summary ;;
colors) test_colors ;;
*) echo "unknown test $test_name" >&2; exit 99 ;;
esac

if [ $failures -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
