package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
