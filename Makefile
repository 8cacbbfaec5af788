# Seshat's make targets. `make test` is what CI runs (through .ci/run).

GO          ?= go
SEEDS       ?= 100
SEED        ?=
JOBS        ?= 2
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## fuzz: run each fuzzer of the peer input (node/fuzz_test.go) for FUZZTIME;
## `go test` runs only their seed corpus. New finds land in
## node/testdata/fuzz, to be committed with their fix.
FUZZTIME    ?= 10m
FUZZERS     := FuzzPeerStep FuzzForgedRaft

.PHONY: fuzz test unit lint sim chaos chaos-real sweep shrink mutants cluster bench bench-go bench-mget bench-sim build clean release soak bench-expiry

## test: everything CI checks: lint, unit and property tests, 100 simulator
## seeds, the determinism test, the end-to-end tests and one short chaos
## scenario against real processes (chaos/realcluster's TestSmoke).
test: lint unit

unit:
	$(GO) test -count=1 -timeout 20m ./...
	$(if $(filter-out 100,$(SEEDS)),$(GO) test -count=1 ./sim -run "TestSim$$$$" -seeds=$(SEEDS))

fuzz:
	for f in $(FUZZERS); do $(GO) test ./node -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) || exit 1; done

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

## chaos: sweep every chaos scenario (the eleven of the matrix and those beyond) and the swarm over SEEDS seeds
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

## bench: Seshat against etcd and redis-server in one run on this machine
## (a fresh 3-node cluster of seshat-node processes, a 3-member etcd, a
## redis-server with appendfsync always): ops/s, p50, p99, the ratios and
## the product's targets, failover over 10 leader kills, resident memory.
## Installs redis-server and etcd-server (Debian) if missing. The report is
## saved in bench-results/. BENCH_FLAGS passes flags (e.g. -d 2s -runs 1).
bench: build
	./scripts/bench-deps.sh
	$(GO) run ./cmd/seshat-bench -node bin/seshat-node $(BENCH_FLAGS)

## bench-go: the Go benchmarks, with allocation counts (hot paths, snapshot
## of 1 M keys, 1 GB restart, heap under load, Pebble read cost, ...).
bench-go:
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

## release: static seshat-node binaries for linux/amd64 and linux/arm64
## in dist/, the version (VERSION, default git describe) stamped in, with
## SHA-256 sums. seshat-node -version prints it.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
RELEASE_LDFLAGS := -s -w -X github.com/seshat-db/seshat/app.Version=$(VERSION)
release:
	rm -rf dist && mkdir -p dist
	for arch in amd64 arm64; do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags "$(RELEASE_LDFLAGS)" \
	    -o dist/seshat-node-$(VERSION)-linux-$$arch ./cmd/seshat-node || exit 1; \
	done
	cd dist && sha256sum seshat-node-* > SHA256SUMS

## soak: a 3-node cluster under mixed load for DURATION (default 1h), a
## table and a PNG of throughput, p99, RSS and disk over time in
## soak-out/, and every acknowledged write checked at the end.
DURATION ?= 1h
soak:
	$(GO) run ./cmd/seshat-soak -duration=$(DURATION) -out=soak-out

clean:
	rm -rf bin dist soak-out sim-failures chaos-real-failures
