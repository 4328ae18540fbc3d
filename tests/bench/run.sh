#!/usr/bin/env bash
# The benchmarks behind `make bench`: the rendered dev topology on loopback under wrk
# (load balancer against direct FastCGI, then one pool saturated at its memory
# limit), the Pulumi engine's preview and first up of both stacks through the fake
# providers, then the operations users wait on, side by side with the previous
# commit on both the engine tier and the real Docker tier (tests/bench/compare.sh, whose
# BASE, ROUNDS, TIERS and NODES apply). Flags pass to the first:
# tests/bench/run.sh -duration 30s -memory 2048.
set -euo pipefail
cd "$(dirname "$0")/../.."
go run -tags integration ./tests/bench "$@"
bash tests/bench/engine.sh
bash tests/bench/compare.sh
