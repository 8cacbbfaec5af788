// This file tests the pieces of node that need no raft: the log entry
// codec, the session dedup window (against a plain set of seen numbers),
// and Config.Validate's naming of the bad field.
package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/env/envtest"
	"github.com/seshat-db/seshat/kv"
	"github.com/seshat-db/seshat/storage"
)

func TestEntryRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := session{origin: rapid.Uint64().Draw(t, "origin"), incarnation: rapid.Uint64().Draw(t, "incarnation")}
		seq := rapid.Uint64().Draw(t, "seq")
		ops := make([]kv.Op, rapid.IntRange(1, 5).Draw(t, "ops"))
		for i := range ops {
			ops[i] = kv.Op{Kind: kv.Set, Keys: [][]byte{[]byte(rapid.String().Draw(t, "key"))}, Values: [][]byte{[]byte(rapid.String().Draw(t, "value"))}, Delta: rapid.Int64().Draw(t, "delta")}
		}
		data := encodeEntry(s, seq, ops)
		if wantVersion := byte(entrySingle + min(len(ops)-1, 1)); data[0] != wantVersion {
			t.Fatalf("%d ops encoded as version %d, want %d", len(ops), data[0], wantVersion)
		}
		e, err := decodeEntry(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkEntry(data); err != nil {
			t.Fatalf("checkEntry refused what decodeEntry took: %v", err)
		}
		if e.session != s || e.seq != seq || len(e.ops) != len(ops) {
			t.Fatalf("round trip: %+v", e)
		}
		for i, op := range ops {
			got := e.ops[i]
			if got.Kind != op.Kind || string(got.Keys[0]) != string(op.Keys[0]) || string(got.Values[0]) != string(op.Values[0]) || got.Delta != op.Delta {
				t.Fatalf("round trip op %d: %+v, want %+v", i, got, op)
			}
		}
	})
}

func TestDecodeEntryRejects(t *testing.T) {
	get := kv.Op{Kind: kv.Get, Keys: [][]byte{[]byte("k")}}
	valid := encodeEntry(session{1, 2}, 3, []kv.Op{get})
	group := encodeEntry(session{1, 2}, 3, []kv.Op{get, get})
	for name, b := range map[string][]byte{
		"empty":       nil,
		"version 0":   append([]byte{0}, valid[1:]...),
		"version 2":   append([]byte{entryGroup}, valid[1:]...),
		"version 3":   append([]byte{3}, group[1:]...),
		"no fields":   {entrySingle},
		"cut in seq":  {entrySingle, 1, 2, 0x80},
		"group of 1":  append(append([]byte{}, group[:4]...), append([]byte{1}, group[5:5+1+int(group[5])]...)...),
		"group short": group[:len(group)-1],
		"group long":  append(append([]byte{}, group...), 0),
		"group huge":  append(append([]byte{}, group[:4]...), 0xff, 0xff, 0x03),
		"no op":       valid[:4],
		"bad op":      append(append([]byte{}, valid[:4]...), 9, 9, 9),
		"trailing op": append(append([]byte{}, valid...), 0),
	} {
		if e, err := decodeEntry(b); err == nil {
			t.Errorf("%s: decodeEntry(%x) = %+v, want an error", name, b, e)
		}
		if err := checkEntry(b); err == nil {
			t.Errorf("%s: checkEntry(%x) took it", name, b)
		}
	}
}

func newBatch(t *testing.T) (*storage.Store, *storage.Batch) {
	t.Helper()
	s, err := storage.Open(vfs.NewMem(), "/d", envtest.QuietLog{T: t}, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Bootstrap([]uint64{1}); err != nil {
		t.Fatal(err)
	}
	return s, s.NewBatch()
}

func TestAdmitOnce(t *testing.T) {
	const w = dedupWindow
	a, b := session{1, 1}, session{1, 2}
	type step struct {
		s    session
		seq  uint64
		want bool
	}
	cases := map[string][]step{
		"first and repeat":       {{a, 1, true}, {a, 1, false}, {a, 2, true}, {a, 2, false}, {a, 1, false}},
		"out of order":           {{a, 5, true}, {a, 3, true}, {a, 4, true}, {a, 3, false}, {a, 5, false}, {a, 6, true}},
		"sessions are separate":  {{a, 7, true}, {b, 7, true}, {b, 7, false}, {a, 7, false}},
		"far ahead":              {{a, 1, true}, {a, 1 + 10*w, true}, {a, 1, false}, {a, 1 + 10*w, false}},
		"far behind":             {{a, 5 * w, true}, {a, 1, false}, {a, 4*w - 1, false}},
		"window edge, inside":    {{a, 2 * w, true}, {a, w + 1, true}, {a, w + 1, false}},
		"window edge, outside":   {{a, 2 * w, true}, {a, w, false}},
		"shift keeps the edge":   {{a, 10, true}, {a, 10 + w - 1, true}, {a, 10, false}, {a, 11, true}, {a, 9, false}},
		"shift drops past edge":  {{a, 10, true}, {a, 10 + w, true}, {a, 10, false}, {a, 11, true}},
		"shift by one each time": {{a, 1, true}, {a, 2, true}, {a, 3, true}, {a, 1, false}, {a, 2, false}, {a, 3, false}},
		"zero seq":               {{a, 0, true}, {a, 0, false}, {a, 1, true}},
		"max seq":                {{a, ^uint64(0), true}, {a, ^uint64(0), false}, {a, ^uint64(0) - w + 1, true}, {a, ^uint64(0) - w, false}},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			_, batch := newBatch(t)
			for i, st := range steps {
				got, err := admitOnce(batch, st.s, st.seq)
				if err != nil {
					t.Fatal(err)
				}
				if got != st.want {
					t.Fatalf("step %d: admitOnce(%v, %d) = %v, want %v", i, st.s, st.seq, got, st.want)
				}
			}
		})
	}
}

// TestAdmitOnceMatchesModel: admitOnce admits a number exactly when it
// was never admitted and is within the window below the highest admitted
// (or seen) so far; the state survives committing the batch.
func TestAdmitOnceMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s, batch := newBatch(t)
		seen := map[uint64]bool{}
		var high uint64
		base := rapid.Uint64Range(0, 1<<40).Draw(rt, "base")
		for i := range rapid.IntRange(1, 200).Draw(rt, "n") {
			seq := base + rapid.OneOf(rapid.Uint64Range(0, 40), rapid.Uint64Range(0, 3*dedupWindow)).Draw(rt, "seq")
			want := !seen[seq] && (seq > high || high-seq < dedupWindow)
			got, err := admitOnce(batch, session{3, 4}, seq)
			if err != nil {
				rt.Fatal(err)
			}
			if got != want {
				rt.Fatalf("step %d: admitOnce(%d) = %v, want %v (high %d)", i, seq, got, want, high)
			}
			if got {
				seen[seq] = true
			}
			high = max(high, seq)
			if rapid.IntRange(0, 9).Draw(rt, "commit") == 0 {
				batch.SetApplied(batch.Applied())
				if err := batch.Commit(); err != nil {
					rt.Fatal(err)
				}
				batch = s.NewBatch()
			}
		}
	})
}

func TestAdmitOnceCorruptState(t *testing.T) {
	_, batch := newBatch(t)
	s := session{1, 1}
	key := s.key()
	if err := batch.PutSession(key[:], []byte("short")); err != nil {
		t.Fatal(err)
	}
	if _, err := admitOnce(batch, s, 1); !errors.Is(err, errCorruptEntry) {
		t.Fatalf("corrupt session state: %v", err)
	}
}

func TestShiftWindow(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		bits := rapid.SliceOfN(rapid.Byte(), dedupWindow/8, dedupWindow/8).Draw(t, "bits")
		n := rapid.OneOf(rapid.Uint64Range(0, 20), rapid.Uint64Range(0, dedupWindow+10), rapid.Uint64()).Draw(t, "n")
		bit := func(b []byte, i uint64) bool { return b[i/8]&(1<<(i%8)) != 0 }
		got := append([]byte{}, bits...)
		shiftWindow(got, n)
		for i := uint64(0); i < dedupWindow; i++ {
			want := i >= n && bit(bits, i-n)
			if bit(got, i) != want {
				t.Fatalf("shift by %d: bit %d = %v, want %v", n, i, bit(got, i), want)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	base := Config{ID: 1, Peers: []uint64{1, 2, 3}, Dir: "/d"}.Defaults()
	if err := base.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if err := (Config{ID: 1, Dir: "/d"}.Defaults()).Validate(); err != nil {
		t.Fatalf("no peers (a restart): %v", err)
	}
	cases := []struct {
		name   string
		change func(*Config)
		want   string // the error must name the field
	}{
		{"id 0", func(c *Config) { c.ID = 0 }, "id"},
		{"no dir", func(c *Config) { c.Dir = "" }, "dir"},
		{"heartbeat 0", func(c *Config) { c.HeartbeatTicks = 0 }, "heartbeat ticks"},
		{"heartbeat negative", func(c *Config) { c.HeartbeatTicks = -1 }, "heartbeat ticks"},
		{"election = heartbeat", func(c *Config) { c.ElectionTicks, c.HeartbeatTicks = 3, 3 }, "election ticks"},
		{"election < heartbeat", func(c *Config) { c.ElectionTicks, c.HeartbeatTicks = 2, 3 }, "election ticks"},
		{"request timeout", func(c *Config) { c.RequestTimeoutTicks = -1 }, "request timeout"},
		{"read retry", func(c *Config) { c.ReadRetryTicks = -1 }, "read retry"},
		{"inflight", func(c *Config) { c.RequestsInflightMax = -1 }, "inflight"},
		{"peers without self", func(c *Config) { c.Peers = []uint64{2, 3} }, "peers"},
		{"duplicate peer", func(c *Config) { c.Peers = []uint64{1, 2, 2} }, "duplicate"},
		{"peer 0", func(c *Config) { c.Peers = []uint64{0, 1} }, "peer id 0"},
	}
	for _, c := range cases {
		cfg := base
		cfg.Peers = append([]uint64{}, base.Peers...)
		c.change(&cfg)
		err := cfg.Validate()
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name %q", c.name, err, c.want)
		}
	}
}

func TestOpenRefusesBadConfigAndEmptyDirWithoutPeers(t *testing.T) {
	e := func(fs vfs.FS) envForTest { return envForTest{fs: fs, t: t} }
	if _, err := Open(Config{ID: 0, Dir: "/d"}, e(vfs.NewMem()).env()); err == nil || !strings.Contains(err.Error(), "id") {
		t.Errorf("Open with id 0: %v", err)
	}
	if _, err := Open(Config{ID: 1, Dir: "/d"}, e(vfs.NewMem()).env()); err == nil || !strings.Contains(err.Error(), "no peers") {
		t.Errorf("Open of an empty dir without peers: %v", err)
	}
}

type envForTest struct {
	fs vfs.FS
	t  *testing.T
}

func (e envForTest) env() env.Env {
	var q envtest.Queue
	return env.Env{Rand: envtest.NewRand(1, 1), Transport: q.From(1), FS: e.fs, Log: envtest.QuietLog{T: e.t}}
}
