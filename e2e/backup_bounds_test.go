package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// backupDirsBeside lists entries next to the data directories that are not
// the nodes' own data directories or logs: where /backup puts checkpoints.
func backupDirsBeside(t *testing.T, c *cluster) []string {
	t.Helper()
	parent := filepath.Dir(c.nodes[0].dataDir)
	ents, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".backup-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// the shipped deployments (Dockerfile, compose, StatefulSet) set
// node.data_dir=/data, a volume mounted at /data, and run as nonroot. The
// checkpoint is made at "<data_dir>.backup-N", i.e. /data.backup-N in "/":
// not writable by nonroot (GET /backup answers 503 "mkdir ... permission
// denied") and, where writable, outside the volume, so Pebble cannot
// hard-link and copies the whole database to the container's root layer.
// systemd's unit (ProtectSystem=strict, ReadWritePaths=/var/lib/seshat)
// has the same problem: /var/lib is read-only. The checkpoint must live
// inside the data directory (or a configured backup dir on the same volume).
func TestBackupCheckpointStaysInsideDataDir(t *testing.T) {
	bin := buildBinary(t)
	c := newCluster(t, bin)
	lead := c.nodes[c.startAll()]
	resp, err := http.Get("http://" + lead.admin + "/backup")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 512)
	_, _ = resp.Body.Read(buf) // the stream has begun: the checkpoint exists
	if dirs := backupDirsBeside(t, c); len(dirs) > 0 {
		t.Errorf("backup checkpoint %v was made outside the data directory %s (in Docker/Kubernetes: outside the volume, in an unwritable /)", dirs, lead.dataDir)
	}
}

// /backup has no bound on concurrent backups and the admin server
// no WriteTimeout: an unauthenticated client on the admin port opening N
// backups and never reading keeps N checkpoints (each pinning every sstable
// of its moment, so compactions free no disk) alive for as long as it likes.
func TestBackupsAreBounded(t *testing.T) {
	bin := buildBinary(t)
	c := newCluster(t, bin)
	lead := c.nodes[c.startAll()]
	// Enough data that a backup outgrows the sockets' buffers.
	r := client(lead)
	defer r.Close()
	val := strings.Repeat("x", 60000)
	for i := range 600 {
		if err := r.Set(context.Background(), fmt.Sprintf("k%d", i), val, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	const n = 4
	for range n {
		resp, err := http.Get("http://" + lead.admin + "/backup")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close() // never read
	}
	time.Sleep(2 * time.Second)
	// Checkpoints live beside or (after a fix) inside the data dir: count both.
	held := len(backupDirsBeside(t, c))
	if ents, err := os.ReadDir(filepath.Join(lead.dataDir, "backups")); err == nil {
		held += len(ents)
	}
	if held > 1 {
		t.Errorf("%d checkpoints held at once by clients that never read: /backup needs a concurrency bound and a deadline", held)
	}
}
