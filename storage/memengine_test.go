package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"
)

// The in-memory twin must answer every read exactly as Pebble does, for
// any sequence of batches, commits, snapshots and reopens: the simulator
// runs most seeds on it, so a difference would be a blind spot there.
// TestMemEngineMatchesPebble drives both with the same random operations
// and compares every answer.

func openTwins(t *rapid.T, fs vfs.FS, disk *MemDisk) (engine, engine) {
	db, err := pebble.Open("/twin", &pebble.Options{FS: fs, Logger: quietPebble{}})
	if err != nil {
		t.Fatalf("open pebble: %v", err)
	}
	mem, err := openMem(disk)
	if err != nil {
		t.Fatalf("open mem: %v", err)
	}
	return pebbleEngine{db}, mem
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// twinKeys leaves out the empty key, which the store never writes and
// never uses as a bound: Pebble's answers for it are its own quirks.
var twinKeys = []string{"0", "a", "a\x00", "ab", "b", "ba", "c", "d", "dd", "e", "f"}

func drawKey(t *rapid.T, label string) []byte {
	return []byte(rapid.SampledFrom(twinKeys).Draw(t, label))
}

// drawBounds draws iterator bounds, either of which may be absent.
func drawBounds(t *rapid.T) *pebble.IterOptions {
	o := &pebble.IterOptions{}
	if rapid.Bool().Draw(t, "lower?") {
		o.LowerBound = drawKey(t, "lower")
	}
	if rapid.Bool().Draw(t, "upper?") {
		o.UpperBound = drawKey(t, "upper")
	}
	return o
}

// readAll lists what r's iterator yields within o's bounds, forwards, and
// its Last.
func readAll(t *rapid.T, r reader, o *pebble.IterOptions) string {
	it, err := r.NewIter(o)
	if err != nil {
		t.Fatalf("iter: %v", err)
	}
	var out bytes.Buffer
	for ok := it.First(); ok; ok = it.Next() {
		fmt.Fprintf(&out, "%q=%q ", it.Key(), it.Value())
	}
	if it.Last() {
		fmt.Fprintf(&out, "last %q", it.Key())
	}
	if err := it.Close(); err != nil {
		t.Fatalf("close iter: %v", err)
	}
	return out.String()
}

func getString(r reader, key []byte) string {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return "not found"
	}
	if err != nil {
		return "error " + err.Error()
	}
	s := fmt.Sprintf("%q", v)
	_ = closer.Close()
	return s
}

func TestMemEngineMatchesPebble(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fs, disk := vfs.NewMem(), NewMemDisk()
		pe, me := openTwins(t, fs, disk)
		var pb, mb engineBatch // the open batch, if any
		type snapPair struct{ p, m engineSnapshot }
		var snaps []snapPair
		type iterPair struct{ p, m iterator }
		var iters []iterPair // left open across commits
		var did []string     // the actions so far, for the failure message
		same := func(what, p, m string) {
			if p != m {
				mm := me.(*memEngine)
				t.Fatalf("%s: pebble says %s, the twin says %s (%d keys, %d unsynced batches), after %q", what, p, m, mm.disk.Keys(), mm.disk.Unsynced(), did)
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"write": func(t *rapid.T) {
				if pb == nil {
					pb, mb = pe.NewIndexedBatch(), me.NewIndexedBatch()
				}
				k := drawKey(t, "key")
				switch rapid.IntRange(0, 2).Draw(t, "op") {
				case 0:
					v := []byte(rapid.StringN(0, 3, 3).Draw(t, "value"))
					_, _ = pb.Set(k, v, nil), mb.Set(k, v, nil)
					did = append(did, fmt.Sprintf("set %q %q", k, v))
				case 1:
					_, _ = pb.Delete(k, nil), mb.Delete(k, nil)
					did = append(did, fmt.Sprintf("delete %q", k))
				case 2:
					end := drawKey(t, "end")
					if bytes.Compare(k, end) > 0 {
						k, end = end, k
					}
					_, _ = pb.DeleteRange(k, end, nil), mb.DeleteRange(k, end, nil)
					did = append(did, fmt.Sprintf("delete range %q %q", k, end))
				}
				same("batch emptiness", fmt.Sprint(pb.Empty()), fmt.Sprint(mb.Empty()))
				same("batch count", fmt.Sprint(pb.Count()), fmt.Sprint(mb.Count()))
			},
			"read batch": func(t *rapid.T) {
				if pb == nil {
					t.Skip("no batch open")
				}
				k := drawKey(t, "key")
				same("batch get "+string(k), getString(pb, k), getString(mb, k))
				o := drawBounds(t)
				same("batch scan", readAll(t, pb, o), readAll(t, mb, o))
			},
			"commit": func(t *rapid.T) {
				if pb == nil {
					t.Skip("no batch open")
				}
				opts := pebble.NoSync
				if rapid.Bool().Draw(t, "sync") {
					opts = pebble.Sync
				}
				if err := pb.Commit(opts); err != nil {
					t.Fatalf("pebble commit: %v", err)
				}
				if err := mb.Commit(opts); err != nil {
					t.Fatalf("twin commit: %v", err)
				}
				_, _ = pb.Close(), mb.Close()
				pb, mb = nil, nil
				did = append(did, fmt.Sprint("commit ", opts.Sync))
			},
			"read": func(t *rapid.T) {
				k := drawKey(t, "key")
				same("get "+string(k), getString(pe, k), getString(me, k))
				o := drawBounds(t)
				same("scan", readAll(t, pe, o), readAll(t, me, o))
			},
			"snapshot": func(t *rapid.T) {
				snaps = append(snaps, snapPair{pe.NewSnapshot(), me.NewSnapshot()})
				did = append(did, "snapshot")
			},
			"open iterator": func(t *rapid.T) {
				o := drawBounds(t)
				pi, _ := pe.NewIter(o)
				mi, _ := me.NewIter(o)
				iters = append(iters, iterPair{pi, mi})
				did = append(did, "open iterator")
			},
			"read iterator": func(t *rapid.T) {
				if len(iters) == 0 {
					t.Skip("no iterator")
				}
				it := iters[rapid.IntRange(0, len(iters)-1).Draw(t, "iterator")]
				walk := func(i iterator) string {
					var out bytes.Buffer
					for ok := i.First(); ok; ok = i.Next() {
						fmt.Fprintf(&out, "%q=%q ", i.Key(), i.Value())
					}
					return out.String()
				}
				same("open iterator", walk(it.p), walk(it.m))
			},
			"read snapshot": func(t *rapid.T) {
				if len(snaps) == 0 {
					t.Skip("no snapshot")
				}
				s := snaps[rapid.IntRange(0, len(snaps)-1).Draw(t, "snapshot")]
				k := drawKey(t, "key")
				same("snapshot get "+string(k), getString(s.p, k), getString(s.m, k))
				o := drawBounds(t)
				same("snapshot scan", readAll(t, s.p, o), readAll(t, s.m, o))
			},
			"reopen": func(t *rapid.T) {
				if pb != nil {
					_, _ = pb.Close(), mb.Close()
					pb, mb = nil, nil
				}
				for _, s := range snaps {
					_, _ = s.p.Close(), s.m.Close()
				}
				snaps = nil
				for _, it := range iters {
					_, _ = it.p.Close(), it.m.Close()
				}
				iters = nil
				if err := pe.Close(); err != nil {
					t.Fatalf("pebble close: %v", err)
				}
				if err := me.Close(); err != nil {
					t.Fatalf("twin close: %v", err)
				}
				pe, me = openTwins(t, fs, disk)
				did = append(did, "reopen")
			},
		})
		if pb != nil {
			_, _ = pb.Close(), mb.Close()
		}
		for _, s := range snaps {
			_, _ = s.p.Close(), s.m.Close()
		}
		for _, it := range iters {
			_, _ = it.p.Close(), it.m.Close()
		}
		_, _ = pe.Close(), me.Close()
	})
}

// TestMemEngineRefusesLeaksAndUseAfterClose: as Pebble, Close reports an
// iterator left open, and a closed engine panics on use.
func TestMemEngineRefusesLeaksAndUseAfterClose(t *testing.T) {
	e, err := openMem(NewMemDisk())
	if err != nil {
		t.Fatal(err)
	}
	it, _ := e.NewIter(nil)
	if err := e.Close(); err == nil {
		t.Fatal("Close with an iterator open reported no leak")
	}
	_ = it.Close()
	defer func() {
		if p := recover(); p == nil || !slices.Contains([]any{pebble.ErrClosed}, p) {
			t.Fatalf("Get after Close: recovered %v, want pebble.ErrClosed", p)
		}
	}()
	_, _, _ = e.Get([]byte("k"))
}
