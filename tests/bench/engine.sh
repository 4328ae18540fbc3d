#!/usr/bin/env bash
# Engine time: how long the program takes to build, and how long the real Pulumi
# engine takes to preview and deploy each committed stack through the in-process
# fake providers (which answer at once, so this is the engine's and the program's
# own cost). Prints one line per measurement.
#
#   tests/bench/engine.sh                 warm build + engine benchmarks
#   BENCH_COLD=1 tests/bench/engine.sh    also a cold build in an empty GOCACHE (about
#                                   2 minutes and 3 GB with the AWS SDK; the shared
#                                   cache is left alone)
#   BENCH_TIMES=5 tests/bench/engine.sh   iterations per engine benchmark (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/bin:$PATH" PULUMI_SKIP_UPDATE_CHECK=true
[ -x bin/pulumi ] || make bin/pulumi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# seconds CMD... runs CMD and prints its wall time in seconds.
seconds() {
	local start end
	start=$(date +%s%N)
	"$@" >/dev/null
	end=$(date +%s%N)
	awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e9 }'
}

# The CLI links the whole program (both targets' SDKs), as `go run ./cmd/moodlectl`
# and an embedding program do.
if [ "${BENCH_COLD:-0}" = 1 ]; then
	echo "program build, cold (empty GOCACHE): $(GOCACHE="$tmp/gocache" GOFLAGS=-p=2 seconds go build -o "$tmp/moodlectl" ./cmd/moodlectl) s"
fi
go build -o "$tmp/moodlectl" ./cmd/moodlectl
echo "program build, warm (no change): $(seconds go build -o "$tmp/moodlectl" ./cmd/moodlectl) s"
echo "program build, warm (relink): $(seconds go build -ldflags "-X main.benchStamp=$RANDOM" -o "$tmp/moodlectl" ./cmd/moodlectl) s"

go test -c -tags engine -o "$tmp/engine.test" ./tests/engine
(cd tests/engine && "$tmp/engine.test" -test.run '^$' -test.bench 'BenchmarkEngine' \
	-test.benchtime "${BENCH_TIMES:-3}x" -test.timeout 30m) | grep -E '^Benchmark'
