package realcluster

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seshat-db/seshat/chaos/kvmodel"
)

// TestSmoke runs the short real-process scenario: three seshat-node
// processes, the leader killed, then a node cut off for 10 s; the
// history is judged like the simulator's. A failure keeps the logs, data
// directories, trace and report, and names the folder.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes for about 30 s")
	}
	bin, err := Build(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "seshat-smoke-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := Run(ctx, Options{Bin: bin, Dir: dir, Seed: uint64(time.Now().UnixNano())}, Smoke)
	t.Logf("%s: new leader after %s, healed after %s, clients %+v, %d operations judged, took %s",
		res.Scenario, res.NewLeader, res.Heal, res.Clients, res.History, res.Took)
	if res.Failure != nil {
		t.Fatalf("%v\nlogs, data, trace and report: %s", res.Failure, res.Dir)
	}
	if len(res.Elections) == 0 {
		t.Errorf("no election was timed after the leader was killed")
	}
	if res.Clients.OK == 0 || res.History == 0 {
		t.Errorf("the clients got nothing done: %+v, %d operations", res.Clients, res.History)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a passing run left %s behind", dir)
	}
}

// TestRepliesReadAsTheSimulatorReadsThem: go-redis's answers, encoded
// back, get the outcomes the product promises.
func TestRepliesReadAsTheSimulatorReadsThem(t *testing.T) {
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	readErr := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	cases := []struct {
		cmd  string
		val  any
		err  error
		want kvmodel.Outcome
		out  kvmodel.Output
	}{
		{"set", "OK", nil, kvmodel.Done, kvmodel.Output{}},
		{"get", "OK", nil, kvmodel.Done, kvmodel.Output{Value: "OK"}},
		{"get", nil, redis.Nil, kvmodel.Done, kvmodel.Output{Nil: true}},
		{"incr", int64(7), nil, kvmodel.Done, kvmodel.Output{Int: 7}},
		{"set", nil, srvErr("NOQUORUM no leader known"), kvmodel.NotDone, kvmodel.Output{}},
		{"set", nil, srvErr("TRYAGAIN too many requests in flight"), kvmodel.NotDone, kvmodel.Output{}},
		{"get", nil, srvErr("LOADING rejoining"), kvmodel.NotDone, kvmodel.Output{}},
		{"set", nil, srvErr("UNKNOWN the write may or may not have happened"), kvmodel.Unknown, kvmodel.Output{Unknown: true}},
		{"set", nil, dialErr, kvmodel.NotDone, kvmodel.Output{}},
		{"set", nil, readErr, kvmodel.Unknown, kvmodel.Output{}},
		{"set", nil, context.DeadlineExceeded, kvmodel.Unknown, kvmodel.Output{}},
	}
	for _, tc := range cases {
		reply, text, answered, refused := encodeReply(tc.cmd, tc.val, tc.err)
		got := kvmodel.Unknown
		var out kvmodel.Output
		switch {
		case refused:
			got = kvmodel.NotDone
		case answered:
			var err error
			out, got, err = kvmodel.ParseOutput(kvmodel.Input{Cmd: tc.cmd, Key: "k"}, reply)
			if err != nil {
				t.Errorf("%s %v %v: %q: %v", tc.cmd, tc.val, tc.err, reply, err)
			}
		}
		if got != tc.want || out != tc.out {
			t.Errorf("%s %v %v (%s): outcome %v %+v, want %v %+v", tc.cmd, tc.val, tc.err, text, got, out, tc.want, tc.out)
		}
	}
}

// srvErr is an error reply, as go-redis hands one over.
type srvErr string

func (e srvErr) Error() string { return string(e) }
func (srvErr) RedisError()     {}
