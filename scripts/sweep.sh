#!/usr/bin/env bash
# Sweeps swarm seeds 1..SEEDS in JOBS parallel processes (make sim SEEDS=K).
# The work is done by cmd/seshat-sweep, which `make chaos` uses for every
# scenario: raft's election randomness is seeded through a process-wide
# global, so seeds never share a process at once. Failures leave their
# artifacts under sim-failures/.
set -euo pipefail
seeds=${1:-1000}
jobs=${2:-2}
cd "$(dirname "$0")/.."
exec go run ./cmd/seshat-sweep -scenarios=swarm -seeds="$seeds" -jobs="$jobs"
