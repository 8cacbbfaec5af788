// A sustained write load on one node over the real disk, measuring the
// heap: the in-memory raft log must stay a bounded cache over Pebble, and
// snapshots must keep the log itself bounded. The product asks for a
// 10-minute run: go test ./node -run '^$' -bench HeapUnderLoad -heapload=10m
package node

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/kv"
)

var heapLoad = flag.Duration("heapload", 10*time.Second, "how long BenchmarkHeapUnderLoad writes")

type benchEnv struct{ r *rand.Rand }

func (e benchEnv) Uint64() uint64     { return e.r.Uint64() }
func (benchEnv) Send(uint64, []byte)  {}
func (benchEnv) Debug(string, ...any) {}
func (benchEnv) Info(string, ...any)  {}
func (benchEnv) Warn(string, ...any)  {}
func (benchEnv) Error(string, ...any) {}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkHeapUnderLoad reports the heap at its largest during the load
// and its ratio to the heap of the same node open and idle before the
// load (the reference, measured in the same run).
func BenchmarkHeapUnderLoad(b *testing.B) {
	for range b.N {
		e := benchEnv{r: rand.New(rand.NewPCG(1, 2))}
		n, err := Open(Config{ID: 1, Peers: []uint64{1}, Dir: b.TempDir(), SnapshotEntries: 10000},
			env.Env{Rand: e, Transport: e, FS: vfs.Default, Log: e})
		if err != nil {
			b.Fatal(err)
		}
		for n.Status().Lead == 0 {
			n.Tick()
			_ = n.Process()
		}
		idle := heapInUse()
		peak := idle
		value := make([]byte, 100)
		start := time.Now()
		var ops, failed int
		for i := 0; time.Since(start) < *heapLoad; i++ {
			// A pipeline of 64 writes per synced batch, as a busy server
			// would group them.
			for j := range 64 {
				key := fmt.Appendf(nil, "key-%06d", (i*64+j)%100000)
				n.Submit([]kv.Op{{Kind: kv.Set, Keys: [][]byte{key}, Values: [][]byte{value}}}, func(r []kv.Result) {
					if r[0].Err != nil {
						failed++
					}
				})
			}
			if err := n.Process(); err != nil {
				b.Fatal(err)
			}
			ops += 64
			if i%10 == 0 {
				n.Tick()
			}
			if i%500 == 0 {
				peak = max(peak, heapInUse())
			}
		}
		elapsed := time.Since(start)
		st := n.Status()
		_ = n.Close()
		if failed > 0 {
			b.Fatalf("%d of %d writes failed", failed, ops)
		}
		if st.SnapshotsTaken == 0 {
			b.Fatalf("no snapshot was taken in %d writes", ops)
		}
		b.ReportMetric(float64(peak)/(1<<20), "heap-peak-MB")
		b.ReportMetric(float64(idle)/(1<<20), "heap-idle-MB")
		b.ReportMetric(float64(peak)/float64(idle), "x-idle-heap")
		b.ReportMetric(float64(ops)/elapsed.Seconds(), "writes/s")
		b.ReportMetric(float64(st.LogEntries), "log-entries-at-end")
	}
}
