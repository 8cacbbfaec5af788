package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackupUnderLoadRestores backs a node up while four writers write,
// each its own keys in sequence, restores the backup as a new cluster
// (new cluster id, new members) and finds, for each writer, exactly a
// prefix of its keys: every write acknowledged before the backup began,
// nothing issued after it ended, and no gap, which a copy of the data at
// other than one applied index would show. The backup is taken of a
// follower, which may lag the leader: the node confirms with a quorum
// before its checkpoint, so it still holds every acknowledged write.
func TestBackupUnderLoadRestores(t *testing.T) {
	bin := buildBinary(t)
	c := newCluster(t, bin)
	lead := c.nodes[c.startAll()]
	follower := c.without(lead)[0]

	const writers = 4
	var acked, issued [writers]atomic.Int64 // next seq to issue; highest acked + 1
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := client(lead)
			defer r.Close()
			for seq := int64(0); !stop.Load(); seq++ {
				issued[w].Store(seq + 1)
				if err := r.Set(context.Background(), fmt.Sprintf("w%d:%06d", w, seq), seq, 0).Err(); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				acked[w].Store(seq + 1)
			}
		}()
	}
	time.Sleep(time.Second)
	var before, after [writers]int64
	for w := range writers {
		before[w] = acked[w].Load()
	}
	file := filepath.Join(t.TempDir(), "seshat.backup")
	out, err := exec.Command(bin, "backup", "-admin", follower.admin, "-out", file).CombinedOutput()
	for w := range writers {
		after[w] = issued[w].Load()
	}
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(string(out), "every write acknowledged before the backup began") {
		t.Errorf("the backup does not say it holds every acknowledged write:\n%s", out)
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	for _, p := range c.nodes {
		p.stop(t)
	}

	// A new cluster: new ports, new data directories, a new id.
	nc := newCluster(t, bin)
	nc.args = []string{"-cluster.cluster_id", "restored"}
	for _, p := range nc.nodes {
		out, err := exec.Command(bin, "restore", "-backup", file, "-node.id", strconv.Itoa(p.id),
			"-node.data_dir", p.dataDir, "-cluster.initial_members", p.configArg, "-cluster.cluster_id", "restored").CombinedOutput()
		if err != nil {
			t.Fatalf("restore node %d: %v\n%s", p.id, err, out)
		}
	}
	out, err = exec.Command(bin, "restore", "-backup", file, "-node.id", "1", "-node.data_dir", t.TempDir(),
		"-cluster.initial_members", nc.nodes[0].configArg, "-cluster.cluster_id", "e2e").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the backup's own cluster") {
		t.Errorf("restore under the backup's own cluster id: %v %s, want refused", err, out)
	}
	// A restore that fails leaves no data directory to start a node on.
	damaged := filepath.Join(t.TempDir(), "damaged.backup")
	if err := os.WriteFile(damaged, mustRead(t, file)[:1<<10], 0o600); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(t.TempDir(), "member")
	out, err = exec.Command(bin, "restore", "-backup", damaged, "-node.id", "1", "-node.data_dir", left,
		"-cluster.initial_members", nc.nodes[0].configArg, "-cluster.cluster_id", "other").CombinedOutput()
	if err == nil {
		t.Errorf("restore of a cut-short backup succeeded:\n%s", out)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("a failed restore left %s behind (stat: %v)", left, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(left))
	if len(entries) != 0 {
		t.Errorf("a failed restore left %d entries beside the data directory", len(entries))
	}
	nlead := nc.nodes[nc.startAll()]
	r := client(nlead)
	defer r.Close()
	ctx := context.Background()
	var total int64
	for w := range writers {
		var present int64 = -1
		for seq := int64(0); seq < issued[w].Load(); seq++ {
			v, err := r.Get(ctx, fmt.Sprintf("w%d:%06d", w, seq)).Result()
			switch {
			case err == nil && present >= 0:
				t.Fatalf("writer %d: key %d restored after key %d was missing: not one point in time", w, seq, present)
			case err == nil && v != strconv.FormatInt(seq, 10):
				t.Fatalf("writer %d: key %d = %q", w, seq, v)
			case err != nil && present < 0:
				present = seq
			}
		}
		if present < 0 {
			present = issued[w].Load()
		}
		t.Logf("writer %d: %d keys restored; %d acknowledged before the backup, %d issued by its end", w, present, before[w], after[w])
		if present < before[w] {
			t.Errorf("writer %d: %d keys restored, but %d were acknowledged before the backup began", w, present, before[w])
		}
		if present > after[w] {
			t.Errorf("writer %d: %d keys restored, but only %d were issued before the backup ended", w, present, after[w])
		}
		total += present
	}
	if n, err := r.DBSize(ctx).Result(); err != nil || n != total {
		t.Errorf("DBSIZE %d (%v), want %d: keys other than the writers' prefixes", n, err, total)
	}
	// The new cluster takes writes.
	if err := r.Set(ctx, "after-restore", "1", 0).Err(); err != nil {
		t.Errorf("write to the restored cluster: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
