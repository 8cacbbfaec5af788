#!/usr/bin/env bash
# Compares the simulator's speed at a baseline revision with the working
# tree, on the same seeds, back to back (make bench-sim BASE=rev).
#
# Both test binaries run the working tree's sim/bench_test.go (copied into
# a temporary worktree of the baseline), so both report the same metrics:
# simulated seconds per wall second, events per wall second, and simulated
# seconds per CPU second, which a shared machine's load disturbs least.
# Rounds alternate which binary goes first; the summary gives each
# metric's median over the rounds, as a speed-up (above 1x: the working
# tree is faster or allocates less), and the load average is printed
# before and after.
set -euo pipefail
base=${1:-5481fd8}
rounds=${2:-3}
benchtime=${3:-3x}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
cleanup() {
	git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

git worktree add --detach "$tmp/base" "$base" >/dev/null 2>&1
cp sim/bench_test.go "$tmp/base/sim/bench_test.go"
(cd "$tmp/base" && go test -c -o "$tmp/base.test" ./sim)
go test -c -o "$tmp/head.test" ./sim

run() { # name binary
	"$2" -test.run '^$' -test.bench '^BenchmarkSimSeed$' -test.benchtime "$benchtime" |
		awk -v name="$1" '/^BenchmarkSimSeed/ {
			line = name
			for (i = 3; i < NF; i += 2) line = line " " $i " " $(i + 1)
			print line
		}' | tee -a "$tmp/results"
}

echo "baseline $base ($(git rev-parse --short "$base")) vs working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes')), $rounds rounds of -benchtime $benchtime, GOMAXPROCS=${GOMAXPROCS:-$(nproc)}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then
		run base "$tmp/base.test"
		run head "$tmp/head.test"
	else
		run head "$tmp/head.test"
		run base "$tmp/base.test"
	fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
awk '
	{ for (i = 2; i < NF; i += 2) { v[$1, $(i + 1), ++n[$1, $(i + 1)]] = $i; units[$(i + 1)] = 1 } }
	function median(who, u,    k, a, m, i, j, t) {
		m = n[who, u]
		for (i = 1; i <= m; i++) a[i] = v[who, u, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	END {
		printf "%-14s %14s %14s %8s\n", "median of", "baseline", "now", "ratio"
		for (u in units) {
			b = median("base", u); h = median("head", u)
			printf "%-14s %14.4g %14.4g %7.2fx\n", u, b, h, (u == "ns/op" || u == "B/op" || u == "allocs/op" ? b / h : h / b)
		}
	}' "$tmp/results"
