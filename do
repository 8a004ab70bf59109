#!/bin/bash
# do: the project's entry points on a fresh Debian 12 machine, run as root.
#   ./do demo    install what is missing, build, run the lab (vsocklab) and show its traffic with vsockdump
#   ./do test    install what is missing, build, and run every test, plain and under ASan+UBSan
#   ./do deps    only install what is missing
#   ./do build   only build (into build/)
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build, the tests and the demo need. clang and libclang-rt-14-dev (libFuzzer; only
# recommended by clang, and recommends are not installed) build the fuzz targets the tests run.
# The real-guest tests (tests/vm) boot the cloud kernel under qemu-system-x86 from an initramfs made of
# busybox-static, the host's socat, tcpdump and ip, and modules picked with kmod's modinfo and depmod.
# vsocktop's tests drive its display in tmux and read its Prometheus exposition with python3-prometheus-client.
# The Wireshark plugin builds against libwireshark-dev (and GLib's headers); its tests run tshark.
# debootstrap makes the Debian 13 chroot (tests/tools/debian-chroot.sh) in which the plugin is tested against
# Wireshark 4.4 and the real-guest tests run again on QEMU 10.0 and Linux 6.12, whose modules are .ko.xz:
# xz-utils decompresses them for the guest's busybox modprobe.
# vsockdev reads vhost-device-vsock's YAML configuration file (--config) with libyaml (libyaml-dev).
# test-vsockdev runs logrotate with vsockdev(8)'s snippet against a running vsockdev (SIGHUP reopening).
# time-tcpdump compares vsockdump's local times with tcpdump's under TZ=Asia/Kolkata and America/New_York (tzdata).
PACKAGES=(meson ninja-build pkg-config gcc libc6-dev libpcap-dev libjansson-dev libcmocka-dev
          libncurses-dev scdoc tcpdump tshark iproute2 util-linux clang libclang-rt-14-dev
          qemu-system-x86 linux-image-cloud-amd64 busybox-static socat kmod jq tmux python3-prometheus-client
          libwireshark-dev libglib2.0-dev debootstrap xz-utils libyaml-dev logrotate tzdata)

deps() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
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

# setup DIR [meson options...]: configure once, reconfigure when options change. Warnings are errors here
# and in CI (.ci/run runs ./do test), not in a plain `meson setup` of a release (meson.build's werror=false).
setup() {
	local dir=$1
	shift
	set -- -Dwerror=true "$@"
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

build() {
	setup build -Ddissector=enabled
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
	setup build-san -Dsanitizers=true -Dbuildtype=debug -Ddissector=enabled
	ninja -C build-san
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C build-san --print-errorlogs --num-processes 2 --timeout-multiplier 3 || status=1
	summary build-san || status=1
	return $status
}

# first_conn VSOCKDUMP PCAP PORT: "CID PORT" of the first client to connect to PORT, to follow one connection.
first_conn() {
	"$1" -n -c 1 -r "$2" "dst port $3 and op request" | awk '{ split($2, a, ":"); print a[1], a[2] }'
}

# wireshark_demo PCAP: the build tree's Wireshark plugin on the lab's capture, where it was built.
wireshark_demo() {
	local pcap=$1 plugin=build/dissector/vsockmon.so dir cid port
	if [ ! -f $plugin ] || ! command -v tshark >/dev/null; then
		echo "(The Wireshark plugin is not built here, or tshark is missing: its part of the demo is left out.)"
		echo
		return 0
	fi
	read -r cid port < <(first_conn build/vsockdump/vsockdump "$pcap" 1237)
	dir=$(mktemp -d)
	source dissector/plugin-tshark.sh
	plugin_tshark_prepare "$dir" $plugin
	cp "$pcap" "$dir/lab.pcap"
	chmod a+r "$dir/lab.pcap"
	echo "== tshark with the vsockmon plugin (loaded from the build tree): the same stall, found by display filters"
	echo "   on its analysis fields; [Window full] and [Stall 99.9 ms] are tags expert info also raises"
	echo "   tshark -n -2 -r $pcap -Y 'vsockmon.port == 1237 && vsockmon.cid == $cid && vsockmon.port == $port"
	echo "          && (vsockmon.analysis.window_full || vsockmon.analysis.stall_end)'"
	plugin_tshark "$dir" -n -2 -r lab.pcap -Y "vsockmon.port == 1237 && vsockmon.cid == $cid && vsockmon.port == $port \
		&& (vsockmon.analysis.window_full || vsockmon.analysis.stall_end)" 2>/dev/null | awk 'NR <= 8'
	echo "   ...and every refused connect: -Y vsockmon.problem.refused"
	plugin_tshark "$dir" -n -2 -r lab.pcap -Y vsockmon.problem.refused 2>/dev/null
	rm -rf "$dir"
	echo
}

demo() {
	build
	local vd=build/vsockdump/vsockdump lab=build/transport/vsocklab caps=tests/golden/captures
	local pcap=${TMPDIR:-/tmp}/vsocklab-demo.pcap cid port
	echo
	echo "== The lab: a host (CID 2) and two guests (CID 3, 4), each a userspace virtio-vsock engine. Each"
	echo "   guest sits behind a vhost-user-vsock device (the one vsockdev runs for real VMs): its engine"
	echo "   lives in a vhost-user front-end with guest memory and split virtqueues, so every packet crosses"
	echo "   real rings. One round of a self-checking workload; the host's tap writes a pcap. The virtual"
	echo "   clock makes it deterministic: the same seed gives the same capture, byte for byte."
	echo "   vsocklab --device --rounds 1 --clock virtual --pcap $pcap --stats"
	$lab --device --rounds 1 --clock virtual --pcap "$pcap" --stats | grep -E '^(device|check|result|round)'
	echo
	read -r cid port < <(first_conn $vd "$pcap" 1234)
	echo "== An echo: connect, data both ways, each side shuts down sending, clean close (RST answers SHUTDOWN)"
	echo "   vsockdump -n -r $pcap 'port 1234 and cid $cid and port $port'"
	$vd -n -r "$pcap" "port 1234 and cid $cid and port $port"
	echo
	echo "== Refused connects: nobody listens on port 4321, an RST answers each REQUEST (STREAM and SEQPACKET)"
	echo "   vsockdump -n -r $pcap 'port 4321'"
	$vd -n -r "$pcap" port 4321
	echo
	read -r cid port < <(first_conn $vd "$pcap" 1237)
	echo "== A credit stall: the host reads port 1237 slowly; the guest fills the window, waits 100 ms, sends"
	echo "   CREDIT_REQUEST, gets CREDIT_UPDATE, sends what it may. -vvv: the credit each sender has left"
	echo "   vsockdump -n -vvv -c 10 -r $pcap 'port 1237 and cid $cid and port $port'"
	$vd -n -vvv -c 10 -r "$pcap" "port 1237 and cid $cid and port $port"
	echo
	read -r cid port < <(first_conn $vd "$pcap" 1236)
	echo "== SEQPACKET: one message of 200 KiB spans four packets, EOM ends each message, EOR a record"
	echo "   vsockdump -n -c 12 -r $pcap 'port 1236 and cid $cid and port $port and op rw'"
	$vd -n -c 12 -r "$pcap" "port 1236 and cid $cid and port $port and op rw"
	echo
	wireshark_demo "$pcap"
	echo "== The same decoder on a real Linux 6.1 capture: a client half-closes, the server replies and closes"
	echo "   vsockdump -n -r $caps/halfclose.pcap"
	$vd -n -r $caps/halfclose.pcap
	echo
	echo "== NDJSON for monitoring pipelines (first two packets of the lab's capture)"
	$vd --json -c 2 -r "$pcap"
	echo
	echo "Live, as root: vsocklab --tap vsocklab0   and in another terminal: vsockdump -i vsocklab0 -n -vvv"
	echo "A real VM: vsockdev --vm guest-cid=3,socket=/run/vm3.vhost,uds-path=/run/vm3.vsock --pcap vm3.pcap,"
	echo "then QEMU with -chardev socket,id=v,path=/run/vm3.vhost -device vhost-user-vsock-pci,chardev=v (vsockdev(8))."
	echo "The lab's capture stays in $pcap (vsockdump -r, tshark -r, wireshark)."
}

case "${1:-}" in
deps) deps ;;
build) deps; build ;;
demo) deps; demo ;;
test) deps; run_tests ;;
*) echo "usage: ./do demo | test | build | deps" >&2; exit 2 ;;
esac
