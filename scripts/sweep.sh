#!/usr/bin/env bash
# Sweeps simulator seeds 1..SEEDS in JOBS parallel processes. Each process
# runs one contiguous range of seeds: raft's election randomness is seeded
# through a process-wide global, so seeds never share a process at once.
# Failures leave their artifacts under sim-failures/.
set -euo pipefail
seeds=${1:-1000}
jobs=${2:-2}
cd "$(dirname "$0")/.."
mkdir -p bin sim-failures
go test -c -o bin/sim.test ./sim
per=$(( (seeds + jobs - 1) / jobs ))
start=$(date +%s)
pids=()
for j in $(seq 0 $((jobs - 1))); do
  first=$(( j * per + 1 ))
  count=$(( per ))
  if (( first + count - 1 > seeds )); then count=$(( seeds - first + 1 )); fi
  (( count > 0 )) || continue
  ./bin/sim.test -test.run 'TestSim$' -test.v -test.timeout 0 -seed0="$first" -seeds="$count" -sim.out=sim-failures \
    > "sim-failures/job-$j.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
grep -h "seeds clean\|seed [0-9]*:" sim-failures/job-*.log || true
echo "swept $seeds seeds in $(( $(date +%s) - start ))s with $jobs processes: $([ $status = 0 ] && echo clean || echo FAILURES, see sim-failures/)"
exit $status
