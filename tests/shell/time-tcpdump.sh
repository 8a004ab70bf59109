#!/bin/bash
# time-tcpdump.sh: vsockdump prints the same timestamps as tcpdump for the same file, in every -t form and
# under several time zones: local time by default and with -tttt (TZ honoured), --utc as tcpdump under TZ=UTC.
# Usage: time-tcpdump.sh VSOCKDUMP MKPCAP CAPTURE...
set -u
vd=$1 mkpcap=$2
shift 2
. "$(dirname "$0")/harness.sh"
command -v tcpdump >/dev/null || skip "tcpdump is not installed (./do deps installs it)"
zones=(UTC Asia/Kolkata America/New_York)
for z in "${zones[@]}"; do
	[ -e "/usr/share/zoneinfo/$z" ] || skip "/usr/share/zoneinfo/$z is missing: install tzdata (./do deps installs it)"
done
start_harness

# A capture made for the clock: the night America/New_York springs forward (2026-03-08 07:00 UTC, 02:00
# EST becomes 03:00 EDT), a midnight in India (18:30 UTC), a clock that goes back 0.25 s, and gaps of
# hours (under a day: tcpdump's -ttt wraps its hours at 24).
cat >"$tmp/clock.pkt" <<'EOF'
1772953199.999999 3:1024 > 2:1234 request buf_alloc=65536
1772953200.000001 2:1234 > 3:1024 response buf_alloc=65536
1772953200.250000 3:1024 > 2:1234 rw text=tick buf_alloc=65536
1772953200.000500 2:1234 > 3:1024 credit_update buf_alloc=65536 fwd_cnt=4
1772994599.900000 3:1024 > 2:1234 rw text=tock buf_alloc=65536
1772994600.100000 3:1024 > 2:1234 shutdown flags=3 buf_alloc=65536
1773030000.000000 2:1234 > 3:1024 rst buf_alloc=65536
EOF
"$mkpcap" "$tmp/clock.pkt" "$tmp/clock.pcap" || { echo "FAIL: mkpcap"; exit 1; }

hms='[0-9]{2}:[0-9]{2}:[0-9]{2}'
# stamps REGEX OUT COMMAND...: the leading timestamp of each line COMMAND prints, into OUT; fails when a
# line has none or when there is no line at all.
stamps() {
	local re=$1 out=$2 lines
	shift 2
	"$@" 2>/dev/null >"$out.all"
	lines=$(wc -l <"$out.all")
	grep -Eo "^$re" "$out.all" >"$out"
	[ "$lines" -gt 0 ] && [ "$(wc -l <"$out")" -eq "$lines" ]
}

# compare NAME ZONE REGEX VSOCKDUMP-OPTIONS -- TCPDUMP-OPTIONS: both tools, the same capture and zone
# (ZONE is TCPDUMP-ZONE/VSOCKDUMP-ZONE when they differ).
compare() {
	local name=$1 zone=$2 vzone=$2 re=$3 vopts=() topts=()
	shift 3
	case $zone in
	UTC/*) vzone=${zone#*/}; zone=${zone%%/*} ;;
	esac
	while [ "$1" != -- ]; do vopts+=("$1"); shift; done
	shift
	topts=("$@")
	if ! stamps "$re" "$tmp/t" env TZ="$zone" tcpdump -nn "${topts[@]}" -r "$cap"; then
		bad "$name: tcpdump ${topts[*]} under TZ=$zone printed a line without the expected timestamp"
		show "$tmp/t.all" | head -3
		return
	fi
	if ! stamps "$re" "$tmp/v" env TZ="$vzone" "$vd" -n "${vopts[@]}" -r "$cap"; then
		bad "$name: vsockdump ${vopts[*]} under TZ=$vzone printed a line without the expected timestamp"
		show "$tmp/v.all" | head -3
		return
	fi
	if cmp -s "$tmp/t" "$tmp/v"; then
		ok "$name: TZ=$vzone vsockdump ${vopts[*]:-(default)} = tcpdump ${topts[*]:-(default)}: $(wc -l <"$tmp/v") timestamps, first '$(head -1 "$tmp/v")'"
	else
		bad "$name: TZ=$vzone vsockdump ${vopts[*]} differs from tcpdump ${topts[*]} under TZ=$zone"
		diff "$tmp/t" "$tmp/v" | head -6 | show
	fi
}

for cap in "$tmp/clock.pcap" "$@"; do
	name=$(basename "$cap")
	for zone in "${zones[@]}"; do
		compare "$name" "$zone" "$hms\.[0-9]{6}" --
		compare "$name" "$zone" "[0-9]{4}-[0-9]{2}-[0-9]{2} $hms\.[0-9]{6}" -tttt -- -tttt
		compare "$name" "$zone" "[0-9]{4}-[0-9]{2}-[0-9]{2} $hms\.[0-9]{9}" -tttt --time-stamp-precision=nano -- \
			-tttt --time-stamp-precision=nano
		compare "$name" "$zone" "[0-9]+\.[0-9]{6}" -tt -- -tt
		compare "$name" "$zone" "[ -]$hms\.[0-9]{6}" -ttt -- -ttt
		compare "$name" "$zone" "[ -]$hms\.[0-9]{6}" -ttttt -- -ttttt
	done
	# --utc: UTC whatever TZ says, which is what tcpdump prints under TZ=UTC.
	compare "$name" UTC/Asia/Kolkata "$hms\.[0-9]{6}" --utc --
	compare "$name" UTC/America/New_York "[0-9]{4}-[0-9]{2}-[0-9]{2} $hms\.[0-9]{6}" --utc -tttt -- -tttt
	# -t: no timestamp at all, the line starts with the source address.
	n=$("$vd" -n -t -r "$cap" | grep -Evc '^[0-9?]+:')
	if [ "$n" -eq 0 ]; then
		ok "$name: -t prints no timestamp"
	else
		bad "$name: -t: $n lines do not start with an address"
	fi
done
verdict
