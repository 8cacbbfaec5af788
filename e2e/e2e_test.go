// Package e2e runs real seshat-node processes on loopback and talks to
// them the way users do: go-redis, redis-cli and raw sockets.
//
// Goal: prove the production binary end to end, beyond what the
// simulator covers: real TCP between peers, real fsync, process crashes
// (kill -9), restarts from disk, and a snapshot streamed to a follower
// that fell behind the leader's compacted log. Method: build the binary
// into a temp dir, start three processes on free ports with temp data
// dirs, and run the steps of TestCluster in order against that one
// cluster; TestSnapshotCatchUp starts a cluster of its own that compacts
// its log often. Every process is killed (its whole process group) when
// the test ends.
//
// redis-cli is required; the test is skipped without it only outside CI
// (CI installs redis-tools in .ci/run).
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seshat-db/seshat/internal/ports"
)

type proc struct {
	id                          int
	client, internal, admin     string
	dataDir, logPath, configArg string
	cmd                         *exec.Cmd
}

type cluster struct {
	t     *testing.T
	bin   string
	nodes []*proc
	args  []string // more flags for every node
	// nodeArgs, if set, gives more flags for one node (its certificate).
	nodeArgs func(p *proc) []string
}

// freePort is a free loopback address (internal/ports: below the
// kernel's ephemeral range, so no outbound connection takes it first).
func freePort(t *testing.T) string {
	t.Helper()
	addr, err := ports.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// binDir holds the seshat-node binary, built once for all the tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seshat-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce struct {
	sync.Once
	out []byte
	err error
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "seshat-node")
	buildOnce.Do(func() {
		buildOnce.out, buildOnce.err = exec.Command("go", "build", "-o", bin, "../cmd/seshat-node").CombinedOutput()
	})
	if buildOnce.err != nil {
		t.Fatalf("go build: %v\n%s", buildOnce.err, buildOnce.out)
	}
	return bin
}

func newCluster(t *testing.T, bin string) *cluster {
	dir := t.TempDir()
	c := &cluster{t: t, bin: bin}
	var members []string
	for i := 1; i <= 3; i++ {
		p := &proc{
			id: i, client: freePort(t), internal: freePort(t), admin: freePort(t),
			dataDir: filepath.Join(dir, fmt.Sprintf("n%d", i)),
			logPath: filepath.Join(dir, fmt.Sprintf("n%d.log", i)),
		}
		members = append(members, fmt.Sprintf("%d=%s", i, p.internal))
		c.nodes = append(c.nodes, p)
	}
	for _, p := range c.nodes {
		p.configArg = strings.Join(members, ",")
	}
	t.Cleanup(func() {
		for _, p := range c.nodes {
			p.kill()
		}
		if t.Failed() {
			for _, p := range c.nodes {
				b, _ := os.ReadFile(p.logPath)
				lines := strings.Split(string(b), "\n")
				t.Logf("--- node %d log (last 30 lines) ---\n%s", p.id, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
	})
	return c
}

func (c *cluster) start(p *proc) {
	c.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	p.cmd = exec.Command(c.bin,
		"-node.id", strconv.Itoa(p.id),
		"-node.client_addr", p.client,
		"-node.internal_addr", p.internal,
		"-node.admin_addr", p.admin,
		"-node.data_dir", p.dataDir,
		"-cluster.cluster_id", "e2e",
		"-raft.heartbeat_interval_ms", "50",
		"-raft.election_timeout_min_ms", "300",
		"-raft.election_timeout_max_ms", "600",
		"-limits.request_timeout_secs", "5",
		"-log.level", "debug",
	)
	if p.configArg != "" { // "": the node joins (-join) without a member list
		p.cmd.Args = append(p.cmd.Args, "-cluster.initial_members", p.configArg)
	}
	p.cmd.Args = append(p.cmd.Args, c.args...)
	if c.nodeArgs != nil {
		p.cmd.Args = append(p.cmd.Args, c.nodeArgs(p)...)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	// A process group of its own, so cleanup kills everything it started.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); logf.Close() }()
}

// startAll starts every node and waits until they agree on a leader; it
// returns that leader's index in c.nodes.
func (c *cluster) startAll() int {
	c.t.Helper()
	for _, p := range c.nodes {
		c.start(p)
	}
	return c.waitReady(c.nodes...)
}

// without returns every node but skip.
func (c *cluster) without(skip *proc) []*proc {
	var out []*proc
	for _, p := range c.nodes {
		if p != skip {
			out = append(out, p)
		}
	}
	return out
}

func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		p.cmd = nil
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	cmd := p.cmd
	_ = cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil || syscall.Kill(cmd.Process.Pid, 0) != nil {
			p.cmd = nil
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("node %d did not stop within 10s of SIGTERM", p.id)
}

type status struct {
	ID       uint64 `json:"id"`
	Leader   uint64 `json:"leader"`
	IsLeader bool   `json:"is_leader"`
	Ready    bool   `json:"ready"`
	Commit   uint64 `json:"commit"`
	Applied  uint64 `json:"applied"`

	SnapshotIndex      uint64 `json:"snapshot_index"`
	SnapshotsTaken     int    `json:"snapshots_taken"`
	SnapshotsInstalled int    `json:"snapshots_installed"`

	Role     string   `json:"role"`
	Identity string   `json:"identity"`
	Voters   []uint64 `json:"voters"`
	Learners []uint64 `json:"learners"`
}

func (p *proc) status() (status, error) {
	var st status
	resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + p.admin + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitReady waits until every given node is ready and they agree on a
// leader; it returns that leader's index in c.nodes.
func (c *cluster) waitReady(nodes ...*proc) int {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		lead, agree := uint64(0), true
		for _, p := range nodes {
			st, err := p.status()
			if err != nil || !st.Ready || (lead != 0 && st.Leader != lead) {
				agree = false
				break
			}
			lead = st.Leader
		}
		if agree && lead != 0 {
			return int(lead) - 1
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("cluster not ready within 15s")
	return -1
}

func client(p *proc) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: p.client, Protocol: 2, DisableIdentity: true,
		MaxRetries: -1, ReadTimeout: 10 * time.Second,
	})
}

func redisCLI(t *testing.T, p *proc, args ...string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(p.client)
	out, err := exec.Command("redis-cli", append([]string{"-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// setRetry writes until the cluster acknowledges it or the deadline
// passes; it reports whether the write was acknowledged.
func setRetry(ctx context.Context, cs []*redis.Client, key, val string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := cs[i%len(cs)].Set(ctx, key, val, 0).Err(); err == nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func TestCluster(t *testing.T) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-cli is required in CI (.ci/run installs redis-tools)")
		}
		t.Skip("redis-cli not installed; apt-get install redis-tools")
	}
	ctx := context.Background()
	c := newCluster(t, buildBinary(t))
	c.startAll()
	clients := make([]*redis.Client, 3)
	for i, p := range c.nodes {
		clients[i] = client(p)
		defer clients[i].Close()
	}

	t.Run("pipelines run in order on the leader and a follower", func(t *testing.T) {
		lead := c.waitReady(c.nodes...)
		for _, i := range []int{lead, (lead + 1) % 3} {
			checkPipelineOrder(ctx, t, clients[i], fmt.Sprintf("order:%d", i))
		}
	})

	t.Run("every command on every node", func(t *testing.T) {
		for i, r := range clients {
			k := func(s string) string { return fmt.Sprintf("%s:%d", s, i) }
			must := func(got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("node %d: got %v, want %v", i+1, got, want)
				}
			}
			must(r.Ping(ctx).Val(), "PONG")
			must(r.Echo(ctx, "hi").Val(), "hi")
			must(r.Set(ctx, k("s"), "v", 0).Val(), "OK")
			must(r.Get(ctx, k("s")).Val(), "v")
			must(r.Exists(ctx, k("s"), k("none")).Val(), 1)
			must(r.Append(ctx, k("s"), "w").Val(), 2)
			must(r.StrLen(ctx, k("s")).Val(), 2)
			must(r.SetNX(ctx, k("s"), "x", 0).Val(), false)
			must(r.Incr(ctx, k("n")).Val(), 1)
			must(r.IncrBy(ctx, k("n"), 10).Val(), 11)
			must(r.Decr(ctx, k("n")).Val(), 10)
			must(r.DecrBy(ctx, k("n"), 3).Val(), 7)
			must(r.MSet(ctx, k("a"), "1", k("b"), "2").Val(), "OK")
			must(r.MGet(ctx, k("a"), k("b"), k("none")).Val(), []any{"1", "2", nil})
			must(r.SetArgs(ctx, k("a"), "9", redis.SetArgs{Mode: "XX", Get: true}).Val(), "1")
			must(r.SetArgs(ctx, k("fresh"), "1", redis.SetArgs{Mode: "NX"}).Val(), "OK")
			must(r.GetDel(ctx, k("fresh")).Val(), "1")
			must(r.Del(ctx, k("a"), k("b"), k("none")).Val(), 2)
			must(r.Do(ctx, "SELECT", "0").Val(), "OK")
			if r.DBSize(ctx).Err() != nil || r.Info(ctx).Err() != nil || r.Do(ctx, "CONFIG", "GET", "save").Err() != nil ||
				r.Do(ctx, "COMMAND", "COUNT").Err() != nil || r.Do(ctx, "CLIENT", "SETNAME", "e2e").Err() != nil {
				t.Fatalf("node %d: an admin command failed", i+1)
			}
			must(r.Do(ctx, "NOSUCH").Err(), "ERR unknown command 'NOSUCH', with args beginning with: ")
		}
	})

	t.Run("write on one node, read on another", func(t *testing.T) {
		if err := clients[0].Set(ctx, "a", "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if got := clients[1].Get(ctx, "a").Val(); got != "1" {
			t.Fatalf("GET a on node 2 = %q, want 1", got)
		}
		if got := redisCLI(t, c.nodes[2], "GET", "a"); got != "1" {
			t.Fatalf("redis-cli GET a on node 3 = %q, want 1", got)
		}
		redisCLI(t, c.nodes[2], "SET", "b", "from-cli")
		if got := clients[0].Get(ctx, "b").Val(); got != "from-cli" {
			t.Fatalf("GET b on node 1 = %q", got)
		}
	})

	t.Run("malformed and oversized input get errors, not crashes", func(t *testing.T) {
		for _, tc := range []struct{ send, want string }{
			{"*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length"},
			{"*1\r\n$9223372036854775807\r\n", "-ERR Protocol error: invalid bulk length"},
			{"*99999999999\r\n", "-ERR Protocol error: invalid multibulk length"},
			{"*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'"},
			{"SET \"unbalanced x\r\n", "-ERR Protocol error: unbalanced quotes in request"},
			{strings.Repeat("x", 200<<10), "-ERR Protocol error: too big inline request"},
		} {
			conn, err := net.Dial("tcp", c.nodes[0].client)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = conn.Write([]byte(tc.send))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			if strings.TrimSpace(line) != tc.want {
				t.Errorf("sent %.40q: got %q, want %q", tc.send, line, tc.want)
			}
			// Then the server hangs up (with a reset when it left input
			// unread, as Redis does).
			if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("sent %.40q: connection not closed: %v", tc.send, err)
			}
			conn.Close()
		}
		big := strings.Repeat("v", 70000)
		if err := clients[0].Set(ctx, "big", big, 0).Err(); err == nil || err.Error() != "ERR value too large" {
			t.Errorf("SET of a 70000-byte value: %v, want ERR value too large", err)
		}
		if err := clients[0].Set(ctx, strings.Repeat("k", 300), "v", 0).Err(); err == nil || err.Error() != "ERR key too large" {
			t.Errorf("SET of a 300-byte key: %v, want ERR key too large", err)
		}
		for i, r := range clients {
			if r.Ping(ctx).Val() != "PONG" {
				t.Fatalf("node %d does not answer after bad input", i+1)
			}
		}
	})

	acked := map[string]string{"a": "1", "b": "from-cli"}
	t.Run("kill -9 the leader and keep writing", func(t *testing.T) {
		lead := c.waitReady(c.nodes...)
		c.nodes[lead].kill()
		var others []*redis.Client
		var live []*proc
		for i := range c.nodes {
			if i != lead {
				others = append(others, clients[i])
				live = append(live, c.nodes[i])
			}
		}
		start := time.Now()
		for i := range 50 {
			key, val := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
			if !setRetry(ctx, others, key, val) {
				t.Fatalf("write %s not acknowledged after the leader died", key)
			}
			acked[key] = val
		}
		c.waitReady(live...)
		t.Logf("50 writes through the survivors took %v (including the election)", time.Since(start))

		c.start(c.nodes[lead])
		c.waitReady(c.nodes...)
		for k, v := range acked {
			if got, err := clients[lead].Get(ctx, k).Result(); err != nil || got != v {
				t.Fatalf("restarted node: GET %s = %q, %v; want %q", k, got, err, v)
			}
		}
	})

	t.Run("full restart keeps every write", func(t *testing.T) {
		for _, p := range c.nodes {
			p.stop(t)
		}
		for _, p := range c.nodes {
			c.start(p)
		}
		c.waitReady(c.nodes...)
		for i, r := range clients {
			for k, v := range acked {
				if got, err := r.Get(ctx, k).Result(); err != nil || got != v {
					t.Fatalf("node %d after restart: GET %s = %q, %v; want %q", i+1, k, got, err, v)
				}
			}
		}
	})
}

// TestSnapshotCatchUp: a follower that was down while the others wrote
// past, and compacted away, the log it still needs catches up from a
// snapshot streamed over real TCP, and then serves every key.
func TestSnapshotCatchUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	conf := filepath.Join(dir, "seshat.toml")
	// Compact every 50 entries, keeping 12 behind for followers close behind.
	if err := os.WriteFile(conf, []byte("[raft]\nsnapshot_interval_entries = 50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, buildBinary(t))
	c.args = []string{"-config", conf}
	lead := c.startAll()
	follower := c.nodes[(lead+1)%3]
	live := c.without(follower)
	before, err := c.nodes[lead].status()
	if err != nil {
		t.Fatal(err)
	}
	follower.stop(t)

	const keys = 500
	r := client(live[0])
	defer r.Close()
	// One SET at a time: a pipeline's writes would share raft entries
	// (one per group), and the log must grow past the compaction point.
	for i := 0; i < keys; i++ {
		if err := r.Set(ctx, fmt.Sprintf("snap:%d", i), fmt.Sprintf("v%d", i), 0).Err(); err != nil {
			t.Fatalf("writing key %d: %v", i, err)
		}
	}
	// Both live nodes compacted past everything the follower has, so
	// the leader cannot send it entries: only a snapshot will do.
	var after status
	waitFor(t, "the live nodes to compact past the follower's log", func() bool {
		for _, p := range live {
			st, err := p.status()
			if err != nil || st.SnapshotIndex <= before.Commit+keys/2 {
				return false
			}
			after = st
		}
		return true
	})

	c.start(follower)
	var st status
	waitFor(t, "the restarted follower to install a snapshot and apply every write", func() bool {
		st, err = follower.status()
		return err == nil && st.SnapshotsInstalled >= 1 && st.Applied >= after.Commit
	})
	if st.SnapshotIndex <= before.Commit {
		t.Fatalf("follower's snapshot index %d, want past %d, the commit index when it stopped", st.SnapshotIndex, before.Commit)
	}
	rf := client(follower)
	defer rf.Close()
	for batch := 0; batch < keys; batch += 100 {
		var names []string
		for i := batch; i < batch+100; i++ {
			names = append(names, fmt.Sprintf("snap:%d", i))
		}
		vals, err := rf.MGet(ctx, names...).Result()
		if err != nil {
			t.Fatalf("MGET through the restarted follower: %v", err)
		}
		for j, v := range vals {
			if want := fmt.Sprintf("v%d", batch+j); v != want {
				t.Fatalf("restarted follower: GET %s = %v, want %s", names[j], v, want)
			}
		}
	}
	t.Logf("follower %d: stopped at commit %d, installed %d snapshot(s), now at snapshot index %d, applied %d",
		follower.id, before.Commit, st.SnapshotsInstalled, st.SnapshotIndex, st.Applied)
}

// waitFor polls cond every 50ms for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWipedNodeRejoins: a follower killed with kill -9 whose data
// directory is then deleted comes back empty. It must not bootstrap a
// second cluster: it asks its peers, rejoins under a new identity,
// receives a snapshot over TCP, becomes a voter again, and serves every
// write made before and while it was gone.
func TestWipedNodeRejoins(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, buildBinary(t))
	lead := c.startAll()
	victim := c.nodes[(lead+1)%3]
	live := c.without(victim)
	r := client(live[0])
	defer r.Close()
	for i := range 100 {
		if err := r.Set(ctx, fmt.Sprintf("wipe:%d", i), fmt.Sprintf("before-%d", i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	old, err := victim.status()
	if err != nil || old.Role != "voter" || old.Identity != "0000000000000000" {
		t.Fatalf("victim before the wipe: %+v (%v), want a voter of the first configuration", old, err)
	}
	victim.kill()
	if err := os.RemoveAll(victim.dataDir); err != nil {
		t.Fatal(err)
	}
	for i := 100; i < 200; i++ {
		if err := r.Set(ctx, fmt.Sprintf("wipe:%d", i), fmt.Sprintf("while-%d", i), 0).Err(); err != nil {
			t.Fatalf("write with the victim gone: %v", err)
		}
	}
	c.start(victim)
	restarted := time.Now()
	var st status
	waitFor(t, "the wiped node to rejoin as a voter", func() bool {
		st, err = victim.status()
		return err == nil && st.Role == "voter" && st.Ready
	})
	rejoined := time.Since(restarted)
	if st.Identity == old.Identity || st.SnapshotsInstalled < 1 || len(st.Voters) != 3 || len(st.Learners) != 0 {
		t.Fatalf("rejoined node: %+v, want a new identity, a snapshot installed, three voters", st)
	}
	rv := client(victim)
	defer rv.Close()
	for i := range 200 {
		want := fmt.Sprintf("before-%d", i)
		if i >= 100 {
			want = fmt.Sprintf("while-%d", i)
		}
		if got, err := rv.Get(ctx, fmt.Sprintf("wipe:%d", i)).Result(); err != nil || got != want {
			t.Fatalf("GET wipe:%d on the rejoined node = %q, %v; want %q", i, got, err, want)
		}
	}
	// It proposes again, under sessions of its own.
	if n, err := rv.Incr(ctx, "wipe:counter").Result(); err != nil || n != 1 {
		t.Fatalf("INCR on the rejoined node = %d, %v", n, err)
	}
	logText, _ := os.ReadFile(victim.logPath)
	if !strings.Contains(string(logText), "rejoining under a new identity") {
		t.Errorf("the victim's log does not say it rejoined")
	}
	t.Logf("node %d rejoined as a voter %s after its restart: identity %s, %d snapshot(s) installed, voters %v",
		victim.id, rejoined.Round(time.Millisecond), st.Identity, st.SnapshotsInstalled, st.Voters)
}

// checkPipelineOrder sends, a few hundred times each, two pipelines whose
// replies show whether a command saw the effects of the ones sent before
// it, and none of those sent after it, on its connection.
func checkPipelineOrder(ctx context.Context, t *testing.T, r *redis.Client, k string) {
	t.Helper()
	for round := range 300 {
		p := r.Pipeline()
		set, incr, get, del, getAfter := p.Set(ctx, k, "1", 0), p.Incr(ctx, k), p.Get(ctx, k), p.Del(ctx, k), p.Get(ctx, k)
		set2, getMid, set3 := p.Set(ctx, k, "1", 0), p.Get(ctx, k), p.Set(ctx, k, "2", 0)
		_, _ = p.Exec(ctx)
		got := fmt.Sprintf("%s %d %s %d %v | %s %s %s", set.Val(), incr.Val(), get.Val(), del.Val(), getAfter.Err(), set2.Val(), getMid.Val(), set3.Val())
		if want := "OK 2 2 1 redis: nil | OK 1 OK"; got != want {
			t.Fatalf("round %d on %s: replies %q, want %q (Redis's)", round, r.Options().Addr, got, want)
		}
	}
}
