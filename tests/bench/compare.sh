#!/usr/bin/env bash
# The operations users wait on, on two commits side by side in one run (tests/bench/compare:
# each benchmark leaf alone, baseline and candidate alternately, medians and the
# candidate/baseline ratio):
#   engine: BenchmarkGrowth (tests/engine), the real Pulumi engine through the fake
#           providers: prod with every option on at 3 to 50 app tasks, dev at 3 to
#           25 small app nodes;
#   docker: BenchmarkLifecycle (tests/realdocker), the real engine, the real docker
#           and random plugins and the machine's Docker engine: a dev stack of small
#           app nodes from up to destroy (`make realdocker-setup` first).
# The candidate is the working tree, the baseline BASE (default HEAD~1, the
# candidate's parent). Prints one markdown section per tier; each run's output is
# kept in the folder it names.
#
#   tests/bench/compare.sh                        both tiers, 3 rounds, 3 and 10 nodes
#   BASE=main~3 ROUNDS=5 tests/bench/compare.sh   another baseline, more rounds
#   TIERS=engine tests/bench/compare.sh           the fake-provider tier only
#   NODES='3|10|25' tests/bench/compare.sh        the real tier at 25 nodes too (about
#                                           half an hour per round on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/bin:$PATH" PULUMI_SKIP_UPDATE_CHECK=true
[ -x bin/pulumi ] || make bin/pulumi
base=${BASE:-HEAD~1}
rounds=${ROUNDS:-3}
for tier in ${TIERS:-engine docker}; do
	case $tier in
	engine)
		echo "## Engine tier: fake providers (go run ./tests/bench/compare, BenchmarkGrowth)"
		echo
		go run ./tests/bench/compare -base "$base" -rounds "$rounds" -pkg ./tests/engine -tags engine \
			-bench 'BenchmarkGrowth' -timeout 20m -notes 'nothing to change took'
		;;
	docker)
		sh scripts/start-dockerd.sh
		echo "## Real Docker tier (go run ./tests/bench/compare, BenchmarkLifecycle)"
		echo
		go run ./tests/bench/compare -base "$base" -rounds "$rounds" -pkg ./tests/realdocker -tags realdocker \
			-bench "BenchmarkLifecycle/^nodes=(${NODES:-3|10})\$" -timeout 40m \
			-notes 'timeline |load across the scaling|plans'
		;;
	*)
		echo "compare.sh: unknown tier $tier (engine, docker)" >&2
		exit 2
		;;
	esac
	echo
done
