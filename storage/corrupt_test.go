// Corruption: a damaged file is detected by Pebble's checksums and the
// store refuses it with an error that names the file, rather than serving
// wrong data or crashing the process.
package storage

import (
	"github.com/seshat-db/seshat/kv"

	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// damage flips bytes in the middle of every file of dir whose name ends
// with suffix, and returns the names it damaged.
func damage(t *testing.T, fs vfs.FS, suffix string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var hit []string
	for _, name := range names {
		if !strings.HasSuffix(name, suffix) {
			continue
		}
		path := fs.PathJoin(dir, name)
		f, err := fs.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		data := make([]byte, st.Size())
		_, _ = f.ReadAt(data, 0)
		_ = f.Close()
		for i := len(data) / 3; i < len(data)/3+64 && i < len(data); i++ {
			data[i] ^= 0xff
		}
		w, err := fs.Create(path, vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data)
		_ = w.Sync()
		_ = w.Close()
		hit = append(hit, name)
	}
	return hit
}

type quietLog struct{}

func (quietLog) Debug(string, ...any) {}
func (quietLog) Info(string, ...any)  {}
func (quietLog) Warn(string, ...any)  {}
func (quietLog) Error(string, ...any) {}

func TestCorruptTableIsRefusedByName(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	commit(t, s, func(b *Batch) {
		for i := range 2000 {
			_ = b.Put(fmt.Appendf(nil, "key-%05d", i), kv.Item{Value: []byte(strings.Repeat("v", 100))}, nil)
		}
		b.SetApplied(1)
	})
	if err := pebbleOf(s).Flush(); err != nil { // the data into a table file
		t.Fatal(err)
	}
	_ = s.Close()
	hit := damage(t, fs, ".sst")
	if len(hit) == 0 {
		t.Fatal("no table file to damage")
	}
	s, err := Open(fs, dir, quietLog{}, Options{})
	if err == nil {
		err = s.ScanData(func(k, v []byte) {})
		_ = s.Close()
	}
	if err == nil {
		t.Fatal("a damaged table was read without complaint")
	}
	named := false
	for _, name := range hit {
		named = named || strings.Contains(err.Error(), name)
	}
	if !named {
		t.Fatalf("the error does not name the damaged file %v: %v", hit, err)
	}
	t.Logf("refused: %.200s", err)
}

// TestLogBehindCommitIsRefused: a log that lost entries the hard state
// says were committed (a damaged table, a truncated file) must not be
// handed to raft, which would forget what it acknowledged: the store
// refuses to open and says why.
func TestLogBehindCommitIsRefused(t *testing.T) {
	fs := vfs.NewMem()
	s := bootstrapped(t, fs)
	appendEntries(t, s, ents(2, 200, 2))
	commit(t, s, func(b *Batch) {
		b.SetHardState(&pb.HardState{Term: proto.Uint64(2), Commit: proto.Uint64(200)})
	})
	// The damage: entries 101 to 200 are gone.
	if err := pebbleOf(s).DeleteRange(logKey(101), logKey(201), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if s, err := Open(fs, dir, quietLog{}, Options{}); err == nil {
		_ = s.Close()
		t.Fatal("a store whose log lost committed entries opened")
	} else if !strings.Contains(err.Error(), "damaged or truncated") {
		t.Fatalf("unclear refusal: %v", err)
	} else {
		t.Logf("refused: %v", err)
	}
}
