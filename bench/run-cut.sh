#!/bin/bash
# run-cut.sh: decode, engine and device figures of this tree against another tree (e.g. before a refactor), in the same runs. Measures; asserts nothing.
# Usage: bench/run-cut.sh OLD-TREE [ROUNDS [PACKETS [MIB]]]   (defaults: 7 rounds, 1,000,000 packets, 256 MiB)
# OLD-TREE is a checkout of the other commit (`git worktree add --detach /tmp/old COMMIT`); both get an
# optimized build-bench of their own. Each round runs every measurement once with each tree, the order of the
# trees swapped every round, so that the noise of this machine falls on both alike; the table has the
# medians and the ratio new/old (above 1 is faster for rates, below 1 is faster for times).
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/run-cut.sh OLD-TREE [ROUNDS [PACKETS [MIB]]]}
rounds=${2:-7} packets=${3:-1000000} mib=${4:-256}
old=$(cd "$old" && pwd)
out=bench/out
mkdir -p "$out"
. bench/lib.sh
bench_build
(cd "$old" && . bench/lib.sh && bench_build)
cap=$out/bench-$packets.pcap
bench_capture "$cap" "$packets"
command -v /usr/bin/time >/dev/null || apt-get install -y -q time >/dev/null

raw=$out/cut-raw.txt
: >"$raw"
# one TREE ROUND: one line per figure, "TREE NAME VALUE", into $raw
one() {
	local tree=$1 b=$1/build-bench t line
	for mode in "-n" "-n -v" "--json"; do
		# shellcheck disable=SC2086 # the modes are word lists
		/usr/bin/time -f "%e %U %S" -o "$out/cut-time.txt" "$b/vsockdump/vsockdump" $mode -r "$cap" >/dev/null
		read -r t u s <"$out/cut-time.txt"
		echo "$tree decode_s[vsockdump_${mode// /_}] $t" >>"$raw"
		# CPU seconds (user + system): less at the mercy of other work on the machine than wall time
		echo "$tree decode_cpu_s[vsockdump_${mode// /_}] $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')" >>"$raw"
	done
	line=$("$b/bench/engine-bench" --tap none --mib "$mib" --reps 1)
	for k in engine_gbps rtt_engine_us ratio; do
		echo "$tree engine_$k $(tr ' ' '\n' <<<"$line" | sed -n "s/^$k=//p")" >>"$raw"
	done
	line=$("$b/bench/vsockdev-bench" "$b/transport/vsockdev" --tap none --mib "$mib" --reps 1)
	for k in h2g_gbps g2h_gbps h2g_ratio g2h_ratio rtt_device_us; do
		echo "$tree device_$k $(tr ' ' '\n' <<<"$line" | sed -n "s/^$k=//p")" >>"$raw"
	done
}
new=$(pwd)
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then one "$old"; one "$new"; else one "$new"; one "$old"; fi
	echo "round $r of $rounds done" >&2
done
# medians per tree and figure; ratio new/old
awk -v old="$old" -v new="$new" '
	function median(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ v[$1, $2] = v[$1, $2] " " $3; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } }
	END {
		printf "| figure (median of the rounds) | before | after | after/before |\n|---|---|---|---|\n"
		for (i = 1; i <= k; i++) {
			f = order[i]; o = median(v[old, f]); n = median(v[new, f])
			printf "| %s | %s | %s | %.3f |\n", f, o, n, o + 0 ? n / o : 0
		}
	}' "$raw" | tee "$out/cut.txt"
echo "rounds: $rounds; capture: $cap ($packets packets); engine and device: $mib MiB a stream"
echo "before: $(git -C "$old" log -1 --format='%h %s' | cut -c1-80)"
echo "after:  $(git log -1 --format='%h %s' | cut -c1-80)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
