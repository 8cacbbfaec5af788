package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/storage"
)

// A backup whose bytes changed, or that lost a file or its manifest, is
// refused before anything is restored from it.
func TestBackupChecksumsRefuseDamage(t *testing.T) {
	src := t.TempDir()
	for name, data := range map[string]string{"000001.sst": strings.Repeat("table", 100), "MANIFEST-000001": "manifest", "000002.log": "wal"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := writeBackup(&buf, src, Manifest{Format: 1, ClusterID: "c", Applied: 7, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	m, err := readBackup(bytes.NewReader(good), filepath.Join(t.TempDir(), "ok"))
	if err != nil || m.Applied != 7 || len(m.Files) != 3 {
		t.Fatalf("a sound backup: %+v %v", m, err)
	}

	flipped := bytes.Clone(good)
	i := bytes.Index(flipped, []byte("tabletable"))
	flipped[i+3] ^= 1
	if _, err := readBackup(bytes.NewReader(flipped), filepath.Join(t.TempDir(), "f")); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("a flipped byte: %v, want a checksum error", err)
	}
	j := bytes.Index(good, []byte(manifestName))
	if _, err := readBackup(bytes.NewReader(good[:j-1]), filepath.Join(t.TempDir(), "t")); err == nil {
		t.Error("a backup cut before its manifest was accepted")
	}
}

// A restore that fails late, once the new member's store was opened (here
// the manifest's key count disagrees with the data), leaves no data
// directory behind: a node started on a half-restored one would make a
// cluster of its own.
func TestFailedRestoreLeavesNothing(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	st, err := storage.Open(vfs.Default, src, quietStoreLog{}, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b.backup")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeBackup(f, src, Manifest{Format: 1, ClusterID: "old", Keys: 5, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	dataDir := filepath.Join(parent, "member")
	if _, _, err := restore(file, dataDir, "new", []uint64{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "the manifest says 5") {
		t.Fatalf("restore with a wrong key count: %v, want refused", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Fatalf("a failed restore left %v in %s", entries, parent)
	}
}
