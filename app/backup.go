package app

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/seshat-db/seshat/node"
	"github.com/seshat-db/seshat/realenv"
	"github.com/seshat-db/seshat/storage"
)

// A backup is a tar stream: the files of a Pebble checkpoint of one node's
// store, then manifestName, which records the applied index the data is
// the state after, the membership then, and each file's SHA-256.

const manifestName = "seshat-backup.json"

// Manifest describes a backup.
type Manifest struct {
	Format    int       `json:"format"` // 1
	ClusterID string    `json:"cluster_id"`
	NodeID    uint64    `json:"node_id"`
	Version   string    `json:"seshat_version"`
	Created   time.Time `json:"created"`
	Applied   uint64    `json:"applied_index"`
	Voters    []uint64  `json:"voters"`
	Learners  []uint64  `json:"learners"`
	Keys      int64     `json:"keys"`
	// Linearizable: the node confirmed with a quorum before the
	// checkpoint, so the backup holds every write acknowledged (by any
	// node) before it began. False only for a backup asked with
	// ?stale=1 of a node that could not reach a majority: it holds what
	// that node had applied, which may be behind.
	Linearizable bool           `json:"linearizable"`
	Files        []ManifestFile `json:"files"`
}

// ManifestFile is one file of a backup.
type ManifestFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// backupsDir holds the checkpoints of backups being streamed: inside the
// data directory, so on the same file system and volume (Pebble
// hard-links its tables rather than copying them) and writable wherever
// the data is (a container's volume, systemd's ReadWritePaths). A node
// removes it at start.
func backupsDir(cfg Config) string { return filepath.Join(cfg.Node.DataDir, "backups") }

// checkpoint has the node's goroutine write a checkpoint into a new
// folder of backupsDir.
func checkpoint(ctx context.Context, h *realenv.Host, cfg Config) (dir string, info storage.CheckpointInfo, err error) {
	if err := os.MkdirAll(backupsDir(cfg), 0o700); err != nil {
		return "", info, err
	}
	dir = filepath.Join(backupsDir(cfg), fmt.Sprintf("backup-%d", time.Now().UnixNano()))
	var cpErr error
	if err := h.Call(ctx, func(n *node.Node) { info, cpErr = n.Checkpoint(dir) }); err != nil {
		return "", info, err
	}
	if cpErr != nil {
		_ = os.RemoveAll(dir)
		return "", info, cpErr
	}
	return dir, info, nil
}

// writeBackup streams the checkpoint in dir as a backup to w.
func writeBackup(w io.Writer, dir string, m Manifest) error {
	tw := tar.NewWriter(w)
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			names = append(names, rel)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg})
		}
		sum := sha256.New()
		if err == nil {
			_, err = io.Copy(io.MultiWriter(tw, sum), f)
		}
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
		m.Files = append(m.Files, ManifestFile{Name: name, Bytes: st.Size(), SHA256: hex.EncodeToString(sum.Sum(nil))})
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o644, Size: int64(len(data)), ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	return tw.Close()
}

// backupHandler serves GET /backup: an online backup of this node,
// streamed as it is read. The headers carry the applied index; a
// backup whose stream breaks has no manifest, and readBackup refuses it.
//
// One backup at a time, and a client that stops reading for
// backupStallTimeout loses its stream: each open backup pins every table
// of its checkpoint, which compaction could otherwise free.
func backupHandler(h *realenv.Host, cfg Config) http.HandlerFunc {
	busy := make(chan struct{}, 1)
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case busy <- struct{}{}:
			defer func() { <-busy }()
		default:
			http.Error(w, "backup: another backup is being taken; try again when it ends", http.StatusTooManyRequests)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		// A quorum read first: once it is served, this node has applied
		// every write acknowledged before it, so the checkpoint (taken
		// later, at a higher or equal applied index) holds them all. A
		// follower that lags would otherwise back up a past state.
		linearizable := true
		if err := quorumRead(ctx, h, healthTimeout(cfg)); err != nil {
			if r.URL.Query().Get("stale") != "1" {
				http.Error(w, "backup: "+err.Error()+" (a backup then might miss acknowledged writes; ask another node, or add ?stale=1 (seshat-node backup -allow-stale) to take what this node has)", http.StatusServiceUnavailable)
				return
			}
			linearizable = false
		}
		dir, info, err := checkpoint(ctx, h, cfg)
		if err != nil {
			http.Error(w, "backup: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer os.RemoveAll(dir)
		m := Manifest{Format: 1, ClusterID: cfg.Cluster.ClusterID, NodeID: cfg.Node.ID, Version: Version,
			Created: time.Now().UTC(), Applied: info.Applied, Voters: info.Voters, Learners: info.Learners, Keys: info.Keys, Linearizable: linearizable}
		w.Header().Set("Content-Type", "application/x-tar")
		w.Header().Set("X-Seshat-Applied-Index", strconv.FormatUint(info.Applied, 10))
		if err := writeBackup(stallBound{w: w, rc: http.NewResponseController(w)}, dir, m); err != nil {
			// Headers are gone: breaking the stream is how to say it.
			panic(http.ErrAbortHandler)
		}
	}
}

// readBackup unpacks a backup into dir (which must not exist) and
// checks every file against the manifest: a missing, extra, short or
// changed file refuses the backup.
func readBackup(r io.Reader, dir string) (Manifest, error) {
	var m Manifest
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	tr := tar.NewReader(r)
	sums := map[string]string{}
	sizes := map[string]int64{}
	var manifest []byte
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("backup: not a complete backup: %w", err)
		}
		if hdr.Name == manifestName {
			if manifest, err = io.ReadAll(tr); err != nil {
				return m, err
			}
			continue
		}
		if !filepath.IsLocal(hdr.Name) || hdr.Typeflag != tar.TypeReg {
			return m, fmt.Errorf("backup: entry %q is not a file inside the backup", hdr.Name)
		}
		path := filepath.Join(dir, hdr.Name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return m, err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return m, err
		}
		var sum hash.Hash = sha256.New()
		n, err := io.Copy(io.MultiWriter(f, sum), tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return m, fmt.Errorf("backup: %s: %w", hdr.Name, err)
		}
		sums[hdr.Name], sizes[hdr.Name] = hex.EncodeToString(sum.Sum(nil)), n
	}
	if manifest == nil {
		return m, fmt.Errorf("backup: no %s: the backup is incomplete", manifestName)
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return m, fmt.Errorf("backup: %s: %w", manifestName, err)
	}
	if m.Format != 1 {
		return m, fmt.Errorf("backup: format %d, this seshat-node reads format 1", m.Format)
	}
	for _, f := range m.Files {
		got, ok := sums[f.Name]
		switch {
		case !ok:
			return m, fmt.Errorf("backup: %s is missing", f.Name)
		case got != f.SHA256 || sizes[f.Name] != f.Bytes:
			return m, fmt.Errorf("backup: %s does not match its checksum: damaged", f.Name)
		}
		delete(sums, f.Name)
	}
	if extra := sortedKeys(sums); len(extra) > 0 {
		return m, fmt.Errorf("backup: %s is not in the manifest", extra[0])
	}
	return m, nil
}

// backupStallTimeout: how long a backup's client may leave the stream
// unread before the node gives up on it.
const backupStallTimeout = 30 * time.Second

// stallBound gives each write to a backup's client backupStallTimeout.
type stallBound struct {
	w  io.Writer
	rc *http.ResponseController
}

func (s stallBound) Write(p []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(backupStallTimeout))
	return s.w.Write(p)
}
