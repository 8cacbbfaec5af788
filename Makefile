# Seshat's make targets. `make test` is what CI runs (through .ci/run).

GO          ?= go
SEEDS       ?= 100
SEED        ?=
JOBS        ?= 2
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test unit lint sim chaos chaos-real sweep shrink mutants cluster bench bench-mget bench-sim bench-expiry build clean

## test: everything CI checks: lint, unit and property tests, 100 simulator
## seeds, the determinism test, the end-to-end tests and one short chaos
## scenario against real processes (chaos/realcluster's TestSmoke).
test: lint unit

unit:
	$(GO) test -count=1 -timeout 20m ./...
	$(if $(filter-out 100,$(SEEDS)),$(GO) test -count=1 ./sim -run "TestSim$$$$" -seeds=$(SEEDS))

## lint: gofmt, go vet and staticcheck must all be clean.
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags mutants ./...
	$(GO) run $(STATICCHECK) ./...

## sim: replay one seed (make sim SEED=N) or sweep SEEDS seeds in JOBS
## parallel processes (make sim SEEDS=1000).
sim:
ifneq ($(SEED),)
	$(GO) test ./sim -run 'TestSim$$' -count=1 -v -seed=$(SEED)
else
	./scripts/sweep.sh $(SEEDS) $(JOBS)
endif

## chaos: sweep the eleven chaos scenarios, the disk-wipe ones and the swarm over SEEDS seeds
## each, in JOBS parallel processes, with a progress line and a summary
## table; failures leave folders under sim-failures/. Replay one with
## go test ./sim -scenario=NAME -seed=N -sim.v (or its replay.json, see
## shrink). SHRINK=1 shrinks each failure after the sweep.
chaos:
	$(GO) run ./cmd/seshat-sweep -seeds=$(SEEDS) -jobs=$(JOBS) $(if $(SHRINK),-shrink)

## shrink: shrink a failing run's replay file (a failure folder's
## replay.json) to a smaller run that fails the same way, written to
## FILE with .shrunk.json, in at most RUNS candidate runs:
## make shrink FILE=sim-failures/swarm-seed-7/replay.json. Replay either
## with go test ./sim -run TestReplay -replay=FILE -sim.v
RUNS ?= 200
shrink:
	$(GO) test ./sim -run '^TestReplay$$' -count=1 -v -timeout 0 -replay=$(FILE) -shrink -shrink.runs=$(RUNS)

## mutants: mutation testing. Each planted bug of internal/mutant (built
## in with -tags mutants only) is run in the simulator until a seed kills
## it or MUTANT_BUDGET of wall time is spent, JOBS mutants at a time; a
## table ends it, and a surviving mutant fails the command. One mutant:
## make mutants ONLY=NAME
MUTANT_BUDGET ?= 4m
ONLY          ?=
mutants:
	$(GO) run ./cmd/seshat-mutants -budget=$(MUTANT_BUDGET) -jobs=$(JOBS) $(if $(ONLY),-only=$(ONLY))

## chaos-real: the eleven chaos scenarios and the two disk-wipe ones against
## real seshat-node processes on loopback (kill -9, fault proxies, clock
## settings, go-redis clients judged like the simulator's), with a table:
## verdict, time to a new leader, time to heal, commands done, failed and
## unknown. Failures leave folders under chaos-real-failures/. One scenario:
## go run ./cmd/seshat-chaos-real -scenario=NAME; the measurements:
## -scenario=failover -kills=10, -scenario=heal -heal=5s,30s,120s.
chaos-real:
	$(GO) run ./cmd/seshat-chaos-real -dir=chaos-real-failures

## cluster: a local 3-node cluster on loopback, in the foreground.
cluster:
	$(GO) run ./cmd/seshat-cluster

bench:
	$(GO) test -run '^$$' -bench . -skip BenchmarkSetDuringExpiryWave -benchmem ./...

## bench-expiry: p99 SET latency before and during a wave of KEYS keys
## expiring at once on a one-node cluster (active expiry), and the wave's
## length. Minutes: it loads the keys first.
KEYS ?= 1000000
bench-expiry:
	$(GO) test -run '^$$' -bench BenchmarkSetDuringExpiryWave -benchtime 1x -timeout 60m ./realenv -expiry.keys=$(KEYS)

# MGET of 10k/50k/100k keys against a one-node cluster and a redis-server
# it starts (skipped without one): time ratio and the longest host batch.
bench-mget:
	$(GO) test -run '^$$' -bench BenchmarkMGet -benchtime 5x ./realenv

## bench-sim: the simulator's speed (BenchmarkSimSeed) at BASE and in the
## working tree, back to back on the same seeds, ROUNDS times: sim-s/wall-s,
## events/s and sim-s/cpu-s, each with its median and the ratio.
BASE   ?= 5481fd8
ROUNDS ?= 3
bench-sim:
	./scripts/bench-sim.sh $(BASE) $(ROUNDS)

build:
	$(GO) build -o bin/ ./cmd/...

clean:
	rm -rf bin sim-failures chaos-real-failures
