#!/bin/bash
# do: the project's entry points on a fresh Debian 12 machine, run as root.
#   ./do demo    install what is missing, build, and show vsockdump on the built-in demo captures
#   ./do test    install what is missing, build, and run every test, plain and under ASan+UBSan
#   ./do deps    only install what is missing
#   ./do build   only build (into build/)
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build, the tests and the demo need.
PACKAGES=(meson ninja-build pkg-config gcc libc6-dev libpcap-dev libjansson-dev libcmocka-dev
          libncurses-dev scdoc tcpdump tshark iproute2 util-linux)

deps() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "do: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	echo "do: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# setup DIR [meson options...]: configure once, reconfigure when options change.
setup() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

build() {
	setup build
	ninja -C build
}

# summary DIR: meson's results as the plain "N passed, N failed, N skipped" line.
summary() {
	python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    key = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
    counts[key] += 1
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
sys.exit(1 if counts["FAIL"] or not counts["OK"] else 0)
PY
}

run_tests() {
	local status=0
	build
	echo "== tests (optimized build)"
	meson test -C build --print-errorlogs --num-processes 2 || status=1
	summary build || status=1
	echo "== tests under AddressSanitizer and UndefinedBehaviorSanitizer"
	setup build-san -Dsanitizers=true -Dbuildtype=debug
	ninja -C build-san
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C build-san --print-errorlogs --num-processes 2 --timeout-multiplier 3 || status=1
	summary build-san || status=1
	return $status
}

demo() {
	build
	local vd=build/vsockdump/vsockdump caps=tests/golden/captures
	echo
	echo "== A real Linux 6.1 capture: a client half-closes, the server replies and closes"
	echo "   vsockdump -n -r $caps/halfclose.pcap"
	$vd -n -r $caps/halfclose.pcap
	echo
	echo "== The same with -vvv: buf_alloc, fwd_cnt and the credit each sender has left"
	$vd -n -vvv -c 6 -r $caps/halfclose.pcap
	echo
	echo "== SEQPACKET, flags by name, with a filter compiled to BPF: 'port 1236'"
	$vd -n -r $caps/loopback-mixed.pcap port 1236
	echo
	echo "== A refused connect (no listener): 'op request or op rst'"
	$vd -n -r $caps/nolisten.pcap op request or op rst
	echo
	echo "== NDJSON for monitoring pipelines (first two packets)"
	$vd --json -c 2 -r $caps/virtio-echo-rst.pcap
}

case "${1:-}" in
deps) deps ;;
build) deps; build ;;
demo) deps; demo ;;
test) deps; run_tests ;;
*) echo "usage: ./do demo | test | build | deps" >&2; exit 2 ;;
esac
