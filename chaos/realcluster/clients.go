package realcluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"

	"github.com/seshat-db/seshat/chaos"
	"github.com/seshat-db/seshat/chaos/kvmodel"
)

// The workload: the simulator's single-key commands, with its weights.
var opCommands = []struct {
	name   string
	weight int
}{
	{"get", 30}, {"set", 20}, {"incr", 12}, {"del", 8}, {"append", 8},
	{"setnx", 6}, {"getdel", 4}, {"exists", 6}, {"strlen", 6},
}

const (
	workloadKeys  = 6                     // keys the background clients share
	thinkTimeMax  = 20 * time.Millisecond // a client's pause between commands
	clientTimeout = 40 * time.Second      // past the nodes' 30 s request timeout
	probeClientID = 9999
	scenarioID0   = 10000 // scenario commands via node i get client id scenarioID0+i
)

// clients runs the background clients and the scenario's commands, and
// keeps the history they record.
type clients struct {
	c      *Cluster
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	ops     []porcupine.Operation
	stats   chaos.ClientStats
	n       int
	stopped bool
}

func newClients(c *Cluster) *clients {
	ctx, cancel := context.WithCancel(c.ctx)
	return &clients{c: c, ctx: ctx, cancel: cancel}
}

// redisClient opens a client of one connection to a node: no retries (a
// retried INCR could apply twice), RESP2.
func redisClient(addr string, pool int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, Protocol: 2, DisableIdentity: true,
		MaxRetries: -1, PoolSize: pool, MinIdleConns: 0,
		DialTimeout: time.Second, ReadTimeout: clientTimeout, WriteTimeout: 5 * time.Second,
		ContextTimeoutEnabled: true,
	})
}

// StartClients implements chaos.Cluster.StartClients.
func (c *Cluster) StartClients(n int) {
	c.Logf("start %d clients", n)
	cs := c.clients
	for range n {
		cs.mu.Lock()
		cs.n++
		id := cs.n
		cs.mu.Unlock()
		seed := c.rng.Uint64()
		cs.wg.Add(1)
		go cs.run(id, rand.New(rand.NewPCG(seed, uint64(id))))
	}
}

// StopClients implements chaos.Cluster.StopClients.
func (c *Cluster) StopClients() {
	c.Logf("stop clients")
	c.clients.mu.Lock()
	c.clients.stopped = true
	c.clients.mu.Unlock()
}

// ClientStats implements chaos.Cluster.ClientStats.
func (c *Cluster) ClientStats() chaos.ClientStats {
	c.clients.mu.Lock()
	defer c.clients.mu.Unlock()
	return c.clients.stats
}

// run is one background client: a command at a time on one connection
// to one node, moving to another node when its node fails a command.
func (cs *clients) run(id int, rng *rand.Rand) {
	defer cs.wg.Done()
	nodes := len(cs.c.procs)
	at := rng.IntN(nodes)
	var rc *redis.Client
	defer func() {
		if rc != nil {
			rc.Close()
		}
	}()
	count := 0
	for {
		cs.mu.Lock()
		stopped := cs.stopped
		cs.mu.Unlock()
		if stopped || cs.ctx.Err() != nil {
			return
		}
		if rc == nil {
			rc = redisClient(cs.c.procs[at].client, 1)
		}
		count++
		in := kvmodel.Input{Cmd: pick(rng), Key: fmt.Sprintf("k%d", rng.IntN(workloadKeys))}
		if in.Cmd == "set" || in.Cmd == "append" || in.Cmd == "setnx" {
			in.Value = fmt.Sprintf("c%d.%d", id, count)
		}
		oc := cs.do(rc, id, chaos.ID(at+1), in, nil)
		if oc != kvmodel.Done {
			rc.Close()
			rc = nil
			at = rng.IntN(nodes)
		}
		select {
		case <-cs.ctx.Done():
			return
		case <-time.After(time.Duration(rng.Int64N(int64(thinkTimeMax)))):
		}
	}
}

func pick(rng *rand.Rand) string {
	total := 0
	for _, oc := range opCommands {
		total += oc.weight
	}
	r := rng.IntN(total)
	for _, oc := range opCommands {
		if r < oc.weight {
			return oc.name
		}
		r -= oc.weight
	}
	panic("unreachable")
}

// do sends one command, records it, and says how it went; finish, if
// set, gets the scenario's view of the reply.
func (cs *clients) do(rc *redis.Client, client int, via chaos.ID, in kvmodel.Input, finish func(chaos.Reply)) kvmodel.Outcome {
	c := cs.c
	in.Client = client
	args := []any{in.Cmd, in.Key}
	if in.Value != "" {
		args = append(args, in.Value)
	}
	call := c.Now()
	ctx, cancel := context.WithTimeout(cs.ctx, clientTimeout)
	val, err := rc.Do(ctx, args...).Result()
	cancel()
	ret := c.Now()
	reply, text, answered, refused := encodeReply(in.Cmd, val, err)
	var out kvmodel.Output
	oc := kvmodel.Unknown
	switch {
	case refused:
		oc = kvmodel.NotDone
	case answered:
		var perr error
		out, oc, perr = kvmodel.ParseOutput(in, reply)
		if perr != nil {
			c.fail(classSafety, "client %d: %s %s via n%d got %q: %v", client, in.Cmd, in.Key, via, text, perr)
			oc = kvmodel.Unknown
		}
	}
	cs.mu.Lock()
	switch oc {
	case kvmodel.Done:
		cs.add(client, in, out, call, ret)
	case kvmodel.Unknown:
		if kvmodel.IsWrite(in.Cmd) {
			cs.add(client, in, kvmodel.Output{Unknown: true}, call, -1)
		}
	}
	if finish == nil {
		switch oc {
		case kvmodel.Done:
			cs.stats.OK++
		case kvmodel.NotDone:
			cs.stats.Refused++
		default:
			cs.stats.Unknown++
		}
	}
	cs.mu.Unlock()
	if finish != nil {
		r := chaos.Reply{Text: text, Took: ret - call, Answered: answered, Nil: out.Nil, Value: out.Value, Int: out.Int}
		r.Outcome = map[kvmodel.Outcome]chaos.Outcome{kvmodel.Done: chaos.OK, kvmodel.NotDone: chaos.Refused, kvmodel.Unknown: chaos.Unknown}[oc]
		c.tracef("scenario via n%d: %s %s %s -> %s (%s)", via, in.Cmd, in.Key, in.Value, text, r.Took.Round(time.Millisecond))
		finish(r)
	}
	return oc
}

// add records an operation; ret < 0: it never returned. cs.mu is held.
func (cs *clients) add(client int, in kvmodel.Input, out kvmodel.Output, call, ret time.Duration) {
	r := int64(ret)
	if ret < 0 {
		r = math.MaxInt64
	}
	call = min(call, time.Duration(r))
	cs.ops = append(cs.ops, porcupine.Operation{ClientId: client, Input: in, Call: int64(call), Output: out, Return: r})
}

// encodeReply turns go-redis's answer back into the RESP reply it was,
// so that kvmodel.ParseOutput, the simulator's reading, reads it. A
// connection that could not be made (nothing listens: the process is
// down) is a refusal: the command was never sent. Any other error without
// a reply leaves the outcome unknown.
func encodeReply(cmd string, val any, err error) (reply []byte, text string, answered, refused bool) {
	var rerr redis.Error
	switch {
	case errors.Is(err, redis.Nil):
		return []byte("$-1\r\n"), "(nil)", true, false
	case errors.As(err, &rerr):
		msg := rerr.Error()
		return []byte("-" + msg + "\r\n"), msg, true, false
	case err != nil:
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, err.Error(), false, true
		}
		return nil, err.Error(), false, false
	}
	switch v := val.(type) {
	case string:
		if cmd == "set" && v == "OK" {
			return []byte("+OK\r\n"), "OK", true, false
		}
		return []byte("$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n"), strconv.Quote(v), true, false
	case int64:
		return []byte(":" + strconv.FormatInt(v, 10) + "\r\n"), "(integer) " + strconv.FormatInt(v, 10), true, false
	}
	return []byte(fmt.Sprintf("-ERR the runner cannot read a %T reply\r\n", val)), fmt.Sprintf("%v", val), true, false
}

// Send implements chaos.Cluster.Send: each command on a connection of its
// own, as the simulator's scenario commands.
func (c *Cluster) Send(id chaos.ID, args ...string) *chaos.Call {
	in := callInput(args)
	done := make(chan struct{})
	call := chaos.NewCall(id, args, c.Now(), func(call *chaos.Call) {
		for !call.Done() {
			c.runUntil(1<<62, done)
		}
	})
	p := c.node(id)
	cs := c.clients
	var mu sync.Mutex
	var reply chaos.Reply
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		rc := redisClient(p.client, 1)
		defer rc.Close()
		cs.do(rc, scenarioID0+int(id), id, in, func(r chaos.Reply) {
			mu.Lock()
			reply = r
			mu.Unlock()
		})
		close(done)
	}()
	// The call completes on the scenario's goroutine, when it next looks.
	c.pendingCalls = append(c.pendingCalls, pendingCall{call: call, done: done, reply: func() chaos.Reply {
		mu.Lock()
		defer mu.Unlock()
		return reply
	}})
	return call
}

// pendingCall is a scenario command whose reply the scenario has not
// seen yet.
type pendingCall struct {
	call  *chaos.Call
	done  chan struct{}
	reply func() chaos.Reply
}

// finishCalls completes the scenario's calls that have their replies.
// It runs on the scenario's goroutine, as every chaos.Call method does.
func (c *Cluster) finishCalls() {
	kept := c.pendingCalls[:0]
	for _, pc := range c.pendingCalls {
		select {
		case <-pc.done:
			pc.call.Finish(pc.reply())
		default:
			kept = append(kept, pc)
		}
	}
	c.pendingCalls = kept
}

// Do implements chaos.Cluster.Do.
func (c *Cluster) Do(id chaos.ID, args ...string) chaos.Reply {
	return c.Send(id, args...).Wait()
}

// callInput reads a scenario command as the model's input.
func callInput(args []string) kvmodel.Input {
	if len(args) < 2 {
		panic(fmt.Sprintf("realcluster: scenario command %q needs a key", args))
	}
	in := kvmodel.Input{Cmd: strings.ToLower(args[0]), Key: args[1]}
	known := false
	for _, oc := range opCommands {
		known = known || oc.name == in.Cmd
	}
	switch {
	case !known:
		panic(fmt.Sprintf("realcluster: scenario command %q is not one the model checks", args[0]))
	case in.Cmd == "set" || in.Cmd == "append" || in.Cmd == "setnx":
		if len(args) != 3 {
			panic(fmt.Sprintf("realcluster: scenario command %q takes a key and a value", args))
		}
		in.Value = args[2]
	case len(args) != 2:
		panic(fmt.Sprintf("realcluster: scenario command %q takes one key", args))
	}
	return in
}

// stop ends every client: those still waiting give up, and their writes
// stay in the history open-ended (do records them so).
func (cs *clients) stop() {
	cs.mu.Lock()
	cs.stopped = true
	cs.mu.Unlock()
	cs.cancel()
	cs.wg.Wait()
}

// history returns the operations recorded so far.
func (cs *clients) history() []porcupine.Operation {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]porcupine.Operation(nil), cs.ops...)
}

// ClusterNodes implements chaos.NodesTeller: node id's CLUSTER NODES, on
// a connection of its own.
func (c *Cluster) ClusterNodes(id chaos.ID) (string, error) {
	rc := redisClient(c.node(id).client, 1)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return rc.ClusterNodes(ctx).Result()
}
