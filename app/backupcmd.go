package app

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/seshat-db/seshat/storage"
)

// BackupCommand is `seshat-node backup`: it asks a running node's admin
// endpoint for an online backup and writes it to a file, checked against
// its manifest before it takes the file's name. It returns the exit code.
func BackupCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("seshat-node backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", "127.0.0.1:8379", "`host:port` of the node's admin endpoint (node.admin_addr)")
	out := fs.String("out", "", "`file` to write the backup to (required; a tar with a checksum manifest)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	allowStale := fs.Bool("allow-stale", false, "back up what the node has even if it cannot reach a majority (the backup may then miss acknowledged writes, and says so)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: seshat-node backup -admin host:port -out FILE\n\nTakes an online, consistent backup of one running node: a Pebble checkpoint\nat its applied index, with the membership and a checksum per file.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "seshat-node backup: -out must be set (the file to write)")
		return 2
	}
	m, err := fetchBackup(*admin, *out, *timeout, *allowStale)
	if err != nil {
		fmt.Fprintln(stderr, "seshat-node backup:", err)
		return 1
	}
	fmt.Fprintf(stdout, "backup of node %d of cluster %q at applied index %d: %d keys, voters %v, %d files, in %s\n",
		m.NodeID, m.ClusterID, m.Applied, m.Keys, m.Voters, len(m.Files), *out)
	if m.Linearizable {
		fmt.Fprintln(stdout, "it holds every write acknowledged before the backup began (the node confirmed with a quorum first)")
	} else {
		fmt.Fprintln(stdout, "STALE: the node could not reach a majority; the backup holds what it had applied, and may miss acknowledged writes")
	}
	return 0
}

func fetchBackup(admin, out string, timeout time.Duration, allowStale bool) (Manifest, error) {
	url := "http://" + admin + "/backup"
	if allowStale {
		url += "?stale=1"
	}
	resp, err := (&http.Client{Timeout: timeout}).Get(url)
	if err != nil {
		return Manifest{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return Manifest{}, fmt.Errorf("%s answered %s: %s", admin, resp.Status, msg)
	}
	tmp := out + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return Manifest{}, err
	}
	defer os.Remove(tmp)
	_, err = io.Copy(f, resp.Body)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("receiving the backup: %w", err)
	}
	m, err := verifyBackupFile(tmp)
	if err != nil {
		return m, err
	}
	return m, os.Rename(tmp, out)
}

// verifyBackupFile unpacks a backup file into a scratch folder to check
// it, and removes the folder.
func verifyBackupFile(path string) (Manifest, error) {
	scratch, err := os.MkdirTemp("", "seshat-verify-")
	if err != nil {
		return Manifest{}, err
	}
	defer os.RemoveAll(scratch)
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	return readBackup(f, filepath.Join(scratch, "b"))
}

// RestoreCommand is `seshat-node restore`: it makes one member's data
// directory of a NEW cluster from a backup, as etcdutl snapshot restore
// does. Run it once per member, each with its own -node.id and
// -node.data_dir and the same -cluster.initial_members and
// -cluster.cluster_id, then start every member with those settings.
func RestoreCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("seshat-node restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backup := fs.String("backup", "", "backup `file` written by seshat-node backup (required)")
	id := fs.Uint64("node.id", 0, "this member's id in the new cluster (required)")
	dataDir := fs.String("node.data_dir", "", "data `directory` to create; must not exist or be empty (required)")
	members := fs.String("cluster.initial_members", "", "the new cluster's members, `id=host:port,...` (required)")
	clusterID := fs.String("cluster.cluster_id", "", "the new cluster's `name`; must differ from the backup's (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: seshat-node restore -backup FILE -node.id N -node.data_dir DIR \\\n         -cluster.initial_members 1=h1:7379,2=h2:7379,3=h3:7379 -cluster.cluster_id NEW\n\nBuilds one member of a new cluster (new id, new membership) holding the\nbackup's data. Run it for every member, then start them with the same settings.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var errs []string
	ms, err := ParseMembers(*members)
	switch {
	case err != nil:
		errs = append(errs, "-cluster.initial_members: expected id=host:port,... ("+err.Error()+")")
	case len(ms) == 0:
		errs = append(errs, "-cluster.initial_members must be set")
	}
	var ids []uint64
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	if *id == 0 || (len(ids) > 0 && !slices.Contains(ids, *id)) {
		errs = append(errs, "-node.id must be set, to one of the ids of -cluster.initial_members")
	}
	if *backup == "" {
		errs = append(errs, "-backup must be set")
	}
	if *dataDir == "" {
		errs = append(errs, "-node.data_dir must be set")
	}
	if *clusterID == "" {
		errs = append(errs, "-cluster.cluster_id must be set (the new cluster's name)")
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, "seshat-node restore:", e)
		}
		return 2
	}
	m, keys, err := restore(*backup, *dataDir, *clusterID, ids)
	if err != nil {
		fmt.Fprintln(stderr, "seshat-node restore:", err)
		return 1
	}
	abs, _ := filepath.Abs(*dataDir)
	fmt.Fprintf(stdout, "restored %d keys of cluster %q at index %d into %s: member %d of new cluster %q, voters %v\n"+
		"start it with -node.id=%d -node.data_dir=%s -cluster.cluster_id=%s -cluster.initial_members=%s\n",
		keys, m.ClusterID, m.Applied, abs, *id, *clusterID, ids, *id, abs, *clusterID, Members(ms).String())
	return 0
}

// restore builds the member in a scratch folder beside dataDir and moves
// it into place only once it is whole, so a restore that fails (a
// damaged backup, a full disk, the wrong cluster id) leaves no data
// directory behind: a node started on a half-restored one would form a
// cluster of its own.
func restore(backup, dataDir, clusterID string, voters []uint64) (Manifest, int64, error) {
	if !isEmptyDir(dataDir) {
		return Manifest{}, 0, fmt.Errorf("%s is not empty: restore makes a new member and never overwrites data", dataDir)
	}
	scratch, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dataDir)), ".seshat-restore-")
	if err != nil {
		return Manifest{}, 0, err
	}
	defer os.RemoveAll(scratch)
	m, keys, err := restoreIn(scratch, backup, clusterID, voters)
	if err != nil {
		return m, keys, err
	}
	// dataDir is missing or empty (checked above); an empty one goes,
	// so the rename can take its name.
	if err := os.Remove(dataDir); err != nil && !os.IsNotExist(err) {
		return m, keys, err
	}
	if err := os.Rename(filepath.Join(scratch, "member"), dataDir); err != nil {
		return m, keys, fmt.Errorf("moving the restored member into %s: %w", dataDir, err)
	}
	return m, keys, nil
}

func restoreIn(scratch, backup, clusterID string, voters []uint64) (Manifest, int64, error) {
	f, err := os.Open(backup)
	if err != nil {
		return Manifest{}, 0, err
	}
	m, err := readBackup(f, filepath.Join(scratch, "checkpoint"))
	_ = f.Close()
	if err != nil {
		return m, 0, err
	}
	if m.ClusterID == clusterID {
		return m, 0, fmt.Errorf("-cluster.cluster_id %q is the backup's own cluster: a restore makes a new cluster, and its nodes must not take the old one's for theirs; pick another name", clusterID)
	}
	log := quietStoreLog{}
	src, err := storage.Open(vfs.Default, filepath.Join(scratch, "checkpoint"), log, storage.Options{})
	if err != nil {
		return m, 0, fmt.Errorf("opening the backup: %w", err)
	}
	defer src.Close()
	if src.Applied() != m.Applied {
		return m, 0, fmt.Errorf("the backup's data is at index %d but its manifest says %d", src.Applied(), m.Applied)
	}
	dst, err := storage.Open(vfs.Default, filepath.Join(scratch, "member"), log, storage.Options{})
	if err != nil {
		return m, 0, err
	}
	keys, err := storage.RestoreInto(dst, src, voters)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil && keys != m.Keys {
		err = fmt.Errorf("restored %d keys, the manifest says %d", keys, m.Keys)
	}
	return m, keys, err
}

// quietStoreLog drops the store's routine lines during a restore; errors
// come back as errors.
type quietStoreLog struct{}

func (quietStoreLog) Debug(string, ...any) {}
func (quietStoreLog) Info(string, ...any)  {}
func (quietStoreLog) Warn(string, ...any)  {}
func (quietStoreLog) Error(string, ...any) {}
