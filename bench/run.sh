#!/usr/bin/env bash
# The benchmark behind `make bench`: the rendered dev topology on loopback under wrk
# (load balancer against direct FastCGI, then one pool saturated at its memory limit).
# Flags pass through: bench/run.sh -duration 30s -connections 48 -memory 2048.
set -euo pipefail
cd "$(dirname "$0")/.."
go run -tags integration ./bench "$@"
