package storage

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/kv"
)

// walLayout writes the same batches to a new store and returns, after
// each, how many WAL files were started so far and the newest one's size.
func walLayout(t *testing.T, o Options) []string {
	fs := vfs.NewMem()
	s, err := Open(fs, dir, testLog{t}, o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if err := s.Bootstrap([]uint64{1}); err != nil {
		t.Fatal(err)
	}
	var layout []string
	started := map[string]bool{}
	for i := range 3000 {
		commit(t, s, func(b *Batch) {
			for j := range 1 + i%7 {
				key := []byte(fmt.Sprintf("key-%d", (i*7+j)%500))
				if err := b.Put(key, kv.Item{Value: []byte(strings.Repeat("v", i%200))}, &kv.Item{}); err != nil {
					t.Fatal(err)
				}
			}
		})
		names, err := fs.List(dir)
		if err != nil {
			t.Fatal(err)
		}
		var logs []string
		for _, n := range names {
			if strings.HasSuffix(n, ".log") {
				logs = append(logs, n)
				started[n] = true
			}
		}
		slices.Sort(logs)
		st, err := fs.Stat(fs.PathJoin(dir, logs[len(logs)-1]))
		if err != nil {
			t.Fatal(err)
		}
		layout = append(layout, fmt.Sprintf("%d wals, newest %d bytes", len(started), st.Size()))
	}
	return layout
}

// TestDeterministicFlushFixesWALLayout: with the store rotating itself,
// the same writes start new WALs at the same points in every run; with
// Pebble deciding, its random skiplist heights move them (the test shows
// that too, so it cannot pass for want of rotations).
func TestDeterministicFlushFixesWALLayout(t *testing.T) {
	diverges := func(o Options) (int, int) {
		a, b := walLayout(t, o), walLayout(t, o)
		for i := range a {
			if a[i] != b[i] {
				return i, len(a)
			}
		}
		return -1, len(a)
	}
	own := Options{MemTableBytes: 64 << 10, DeterministicFlush: true}
	if at, _ := diverges(own); at >= 0 {
		t.Fatalf("with DeterministicFlush the WAL layout differs between two runs of the same writes at batch %d", at)
	}
	if l := walLayout(t, own); !strings.HasPrefix(l[len(l)-1], "1 wals") {
		t.Logf("with DeterministicFlush: %s after the last batch", l[len(l)-1])
	} else {
		t.Fatal("the store never rotated its WAL: the test shows nothing")
	}
	pebbles := Options{MemTableBytes: 64 << 10}
	for range 5 {
		if at, _ := diverges(pebbles); at >= 0 {
			return
		}
	}
	t.Fatal("Pebble's own rotation gave the same layout five times over: the test would not see a nondeterministic one")
}
