package storage

import (
	"github.com/seshat-db/seshat/kv"

	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// agedStore builds, on the real disk, a store that has run a while as a
// node's does: Readies that append raft entries under r/log/ and apply
// writes under d/ in the same batch, a log compaction (a range tombstone
// over r/log/) every few thousand entries, many flushes and compactions.
func agedStore(b *testing.B, o Options, keys, entries int) (*Store, string) {
	b.Helper()
	dir := b.TempDir()
	o.UnsafeNoSync = true // building only; reads are what is measured
	s, err := Open(vfs.Default, dir, testLog{b}, o)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Bootstrap([]uint64{1}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, 100)
	payload := make([]byte, 200)
	const perReady = 64
	index := s.LastIndexCached()
	for done := 0; done < entries; done += perReady {
		batch := s.NewBatch()
		var ents []*pb.Entry
		for range perReady {
			index++
			ents = append(ents, &pb.Entry{Index: proto.Uint64(index), Term: proto.Uint64(1), Data: payload})
			k := []byte(fmt.Sprintf("key:%08d", rng.IntN(keys)))
			old, found, err := batch.Get(k)
			if err == nil {
				err = batch.Put(k, kv.Item{Value: value}, oldIf(found, old))
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Append(ents); err != nil {
			b.Fatal(err)
		}
		batch.SetApplied(index)
		if err := batch.Commit(); err != nil {
			b.Fatal(err)
		}
		if index%8192 < perReady {
			if err := s.Compact(index - 1000); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s, dir
}

func benchGets(b *testing.B, s *Store, keys int) {
	rng := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := []byte(fmt.Sprintf("key:%08d", rng.IntN(keys)))
		if _, _, err := s.Get(k); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/get")
}

// BenchmarkGetAged measures a point read of a user key on a store that has
// run a while, and on the same store just reopened (issue 9: 80-240 us
// against 4.6 us).
func BenchmarkGetAged(b *testing.B) {
	const keys, entries = 200_000, 400_000
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"defaults", Options{BlockCacheBytes: -1, NoBloomFilters: true}},
		{"tuned", Options{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, dir := agedStore(b, tc.o, keys, entries)
			b.Run("running", func(b *testing.B) { benchGets(b, s, keys) })
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			s, err := Open(vfs.Default, dir, testLog{b}, tc.o)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.Run("reopened", func(b *testing.B) { benchGets(b, s, keys) })
		})
	}
}

// BenchmarkApplyManyKeys measures what an MSET of n keys costs on the
// event goroutine (read each key's existence, write it, commit with sync),
// on an aged store: the basis of resp's KeysPerWriteMax.
func BenchmarkApplyManyKeys(b *testing.B) {
	const keys = 200_000
	s, _ := agedStore(b, Options{}, keys, 100_000)
	defer s.Close()
	s.syncMode = pebble.Sync
	value := make([]byte, 100)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				batch := s.NewBatch()
				for range n {
					k := []byte(fmt.Sprintf("key:%08d", rng.IntN(2*keys)))
					old, found, err := batch.Get(k)
					if err == nil {
						err = batch.Put(k, kv.Item{Value: value}, oldIf(found, old))
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if err := batch.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/command")
		})
	}
}
