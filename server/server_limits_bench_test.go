package server

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkNeverReadingClients measures the memory twenty clients that
// pipeline 64 KiB ECHOs (as large as GETs of the largest values) and never
// read take from the server: the heap and the
// process's resident set at their highest, with the default limits and
// with the limits out of the way (what the server did before them: only
// its 1024 reply slots per connection bounded it). Run:
//
//	go test ./resp -run '^$' -bench NeverReadingClients -benchtime 1x
func BenchmarkNeverReadingClients(b *testing.B) {
	cmd := echoOf(64 << 10)
	for _, tc := range []struct {
		name string
		lim  ClientLimits
	}{
		{"defaults", ClientLimits{}},
		{"unbounded", ClientLimits{OutputBytesHard: 1 << 40, OutputBytesSoft: 1 << 40, TotalBytesMax: 1 << 40, InputBytesMax: 1 << 40}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				base := heapInuse()
				srv, addr, _ := startLimitServer(&testing.T{}, tc.lim, &heldBackend{})
				stop := make(chan struct{})
				peaks := make(chan [2]uint64)
				go samplePeaks(stop, peaks)
				var wg sync.WaitGroup
				for range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						neverReaderOf(&testing.T{}, addr, 96<<20, cmd)
					}()
				}
				wg.Wait()
				close(stop)
				p := <-peaks
				st := srv.LimitStats()
				srv.Close()
				b.ReportMetric(float64(p[0]-base)/(1<<20), "heap-MiB")
				b.ReportMetric(float64(p[1])/(1<<20), "rss-MiB")
				b.ReportMetric(float64(st.BufferBytesHighest)/(1<<20), "buffered-MiB")
				b.Logf("%s: heap +%d MiB at most, RSS %d MiB at most, server buffers %d MiB at most; %d closed for output, %d evicted",
					tc.name, (p[0]-base)>>20, p[1]>>20, st.BufferBytesHighest>>20, st.OutputLimitClosed, st.Evicted)
			}
		})
	}
}

func heapInuse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// samplePeaks sends the highest heap in use and resident set seen until
// stop.
func samplePeaks(stop <-chan struct{}, out chan<- [2]uint64) {
	var p [2]uint64
	for {
		p[0] = max(p[0], heapInuse())
		p[1] = max(p[1], rss())
		select {
		case <-stop:
			out <- p
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rss reads the process's resident set from /proc (Linux); 0 elsewhere.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
