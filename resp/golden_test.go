// This file's goal: prove that the Executor's replies are byte for byte
// Redis 7.0's. Method: datadriven scripts in testdata/redis hold commands
// and the exact replies a real Redis 7.0.15 sent for them. They were
// written by running the same scripts against redis-server:
//
//	redis-server --port 16379 --save '' --appendonly no &
//	go test -tags redisgolden ./resp -run TestRedisGolden -redis-addr=127.0.0.1:16379 -rewrite
//
// and are checked here against the Executor over an in-memory Backend, so
// the test needs no Redis. Where Seshat deliberately differs (its own
// limits and errors, HELLO, INFO, COMMAND, SELECT of another database,
// CLIENT SETINFO), the scripts live in testdata/seshat and their expected
// output is the Executor's own, reviewed by hand.
//
// Script syntax:
//
//	run                   one command per line; each reply, Go-quoted, per line
//	SET k "a b" <x*300>   words split on spaces; "..." is a Go string; <c*N> is N copies of c
//	----
//	"+OK\r\n"
//
//	raw                   the input is one Go-quoted byte string sent as is
//	"*1\r\n$4\r\nPING\r\n"
//	----
//	"+PONG\r\n"
//
// A protocol error ends a raw script's replies, as it ends the connection.
package resp

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/seshat-db/seshat/kv"
)

// goldenConn is where a script's commands go: the Executor here, or a
// real Redis under the redisgolden build tag.
type goldenConn interface {
	// Do sends one command and returns its reply.
	Do(t testing.TB, args [][]byte) []byte
	// Raw sends b and returns every reply to it.
	Raw(t testing.TB, b []byte) []byte
	Close()
}

// dialRedis is set by redis_capture_test.go; nil means "use the Executor".
var dialRedis func(t testing.TB) goldenConn

func TestRedisGolden(t *testing.T) {
	if dialRedis == nil {
		if f := flag.Lookup("rewrite"); f != nil && f.Value.String() == "true" {
			t.Fatal("testdata/redis holds real Redis replies: rewrite it with -tags redisgolden against redis-server")
		}
	}
	datadriven.Walk(t, "testdata/redis", func(t *testing.T, path string) {
		var c goldenConn
		if dialRedis != nil {
			c = dialRedis(t)
		} else {
			c = newExecConn(1)
		}
		defer c.Close()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "configurable" {
				// configurable: from here on the connection's server lets
				// CONFIG SET change maxclients, as Redis's always does.
				if ec, ok := c.(*execConn); ok {
					ec.exec = NewExecutor(ec.backend, Limits{}, &settableInfo{maxclients: 10000})
				}
				return ""
			}
			return runScript(t, c, d)
		})
	})
}

// settableInfo is a server whose maxclients CONFIG SET changes.
type settableInfo struct{ maxclients int64 }

func (*settableInfo) InfoSections() []InfoSection { return nil }

func (s *settableInfo) ConfigValue(name string) (string, bool) {
	if name == "maxclients" {
		return strconv.FormatInt(s.maxclients, 10), true
	}
	return "", false
}

func (s *settableInfo) SetConfig(name string, value int64) {
	if name == "maxclients" {
		s.maxclients = value
	}
}

func TestSeshatGolden(t *testing.T) {
	datadriven.Walk(t, "testdata/seshat", func(t *testing.T, path string) {
		c := newExecConn(7)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "limits" {
				// limits key=N value=N: a new connection with these Limits.
				var k, v int
				d.ScanArgs(t, "key", &k)
				d.ScanArgs(t, "value", &v)
				c.exec = NewExecutor(c.backend, Limits{KeyBytesMax: k, ValueBytesMax: v}, nil)
				return ""
			}
			if d.Cmd == "info" {
				// info: a new connection whose ServerInfo has two sections.
				c.exec = NewExecutor(c.backend, Limits{}, fakeInfo{})
				return ""
			}
			if d.Cmd == "fail" {
				// fail err=NAME: the Backend refuses every later operation
				// with the kv error NAME (backendErrorsByName).
				var name string
				d.ScanArgs(t, "err", &name)
				err, ok := backendErrorsByName[name]
				if !ok {
					d.Fatalf(t, "no backend error named %q", name)
				}
				c.backend.fail = err
				return ""
			}
			return runScript(t, c, d)
		})
	})
}

// backendErrorsByName names every error a Backend may answer with, for
// the scripts.
var backendErrorsByName = map[string]error{
	"noquorum":      kv.ErrNoQuorum,
	"readtimeout":   kv.ErrReadTimeout,
	"unknown":       kv.ErrOutcomeUnknown,
	"busy":          kv.ErrBusy,
	"uncommitted":   kv.ErrUncommittedFull,
	"joining":       kv.ErrJoining,
	"nospace":       kv.ErrNoSpace,
	"stopped":       kv.ErrStopped,
	"readfailed":    kv.ErrReadFailed,
	"replytoolarge": kv.ErrReplyTooLarge,
	"longreadsbusy": kv.ErrLongReadsBusy,
	"shuttingdown":  kv.ErrShuttingDown,
	"toolarge":      fmt.Errorf("wrapped: %w", &kv.WriteTooLargeError{Bytes: 70000000, Max: 67108864}),
	"notinteger":    kv.ErrNotInteger,
	"overflow":      kv.ErrOverflow,
	"valuetoolarge": kv.ErrValueTooLarge,
	"stranger":      errors.New("something no table names"),
}

type fakeInfo struct{}

// Replication speaks as a follower of a leader at 10.0.0.1:6379.
func (fakeInfo) Replication() Replication {
	return Replication{MasterHost: "10.0.0.1", MasterPort: 6379, Offset: 42, Replicas: 1, NowMicros: 1700000000123456, StartedUnix: 1699999000}
}

func (fakeInfo) InfoSections() []InfoSection {
	return []InfoSection{
		{Name: "Clients", Fields: [][2]string{{"connected_clients", "3"}}},
		{Name: "Raft", Fields: [][2]string{{"raft_term", "5"}, {"raft_role", "leader\r\nx"}}},
	}
}

func runScript(t *testing.T, c goldenConn, d *datadriven.TestData) string {
	var out strings.Builder
	switch d.Cmd {
	case "run":
		for _, l := range strings.Split(d.Input, "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			args, err := splitScriptLine(l)
			if err != nil {
				t.Fatalf("%s: %s: %v", d.Pos, l, err)
			}
			out.WriteString(strconv.Quote(string(c.Do(t, args))))
			out.WriteByte('\n')
		}
	case "raw":
		in, err := strconv.Unquote(strings.TrimSpace(d.Input))
		if err != nil {
			t.Fatalf("%s: %v", d.Pos, err)
		}
		b := c.Raw(t, []byte(in))
		for len(b) > 0 {
			_, rest, err := ParseReply(b)
			if err != nil {
				rest = nil
			}
			out.WriteString(strconv.Quote(string(b[:len(b)-len(rest)])))
			out.WriteByte('\n')
			b = rest
		}
	case "reconnect":
		// reconnect: the later scripts run on a new connection to the
		// same server, which starts unauthenticated.
		c.(reconnecter).Reconnect(t)
	default:
		t.Fatalf("%s: unknown directive %q", d.Pos, d.Cmd)
	}
	return out.String()
}

// splitScriptLine splits a script line into a command's arguments.
func splitScriptLine(l string) ([][]byte, error) {
	var args [][]byte
	for {
		l = strings.TrimLeft(l, " ")
		if l == "" {
			return args, nil
		}
		switch l[0] {
		case '"':
			q, err := strconv.QuotedPrefix(l)
			if err != nil {
				return nil, err
			}
			s, _ := strconv.Unquote(q)
			args = append(args, []byte(s))
			l = l[len(q):]
		case '<':
			end := strings.IndexByte(l, '>')
			c, n, ok := strings.Cut(l[1:max(end, 1)], "*")
			count, err := strconv.Atoi(n)
			if end < 0 || !ok || err != nil {
				return nil, fmt.Errorf("bad repeat %q", l)
			}
			args = append(args, []byte(strings.Repeat(c, count)))
			l = l[end+1:]
		default:
			w, rest, _ := strings.Cut(l, " ")
			args = append(args, []byte(w))
			l = rest
		}
	}
}

// execConn runs scripts on an Executor over a memBackend.
type execConn struct {
	backend *memBackend
	exec    *Executor
}

func newExecConn(id int64) *execConn {
	b := &memBackend{store: memStore{}}
	e := NewExecutor(b, Limits{}, nil)
	e.ClientID = id
	return &execConn{backend: b, exec: e}
}

func (c *execConn) Do(t testing.TB, args [][]byte) []byte {
	var got []byte
	calls := 0
	c.exec.Execute(args, func(b []byte) { got = b; calls++ })
	c.exec.Flush()
	if calls != 1 {
		t.Fatalf("reply called %d times for %q", calls, args)
	}
	return got
}

func (c *execConn) Raw(t testing.TB, b []byte) []byte {
	var out []byte
	for {
		args, rest, err := ParseCommand(b)
		if err == ErrIncomplete {
			return out
		}
		if err != nil {
			return AppendError(out, err.Error())
		}
		out = append(out, c.Do(t, args)...)
		if IsQuit(args) {
			return out
		}
		b = rest
	}
}

func (c *execConn) Close() {}

// memBackend applies each operation synchronously to an in-memory store,
// as a single-node cluster would, or refuses it with fail.
type memBackend struct {
	store memStore
	fail  error
	// The versions WATCH needs, as storage keeps them (one bucket per key).
	applied  uint64
	vanished map[string]uint64
	users    map[string][]byte // the ACL's stored users (auth_golden_test.go)
}

// versionedMem is the memBackend's store as kv.Versions sees it.
type versionedMem struct {
	memStore
	b *memBackend
}

func (v versionedMem) Put(key []byte, item kv.Item, old *kv.Item) error {
	item.Version = v.b.applied + 1
	return v.memStore.Put(key, item, old)
}

func (v versionedMem) Delete(key []byte, old kv.Item) error {
	if v.b.vanished == nil {
		v.b.vanished = map[string]uint64{}
	}
	if at := kv.TombstoneIndex(old, v.Now(), v.b.applied+1); at > v.b.vanished[string(key)] {
		v.b.vanished[string(key)] = at
	}
	return v.memStore.Delete(key, old)
}

func (v versionedMem) Applied() uint64                     { return v.b.applied }
func (v versionedMem) Vanished(key []byte) (uint64, error) { return v.b.vanished[string(key)], nil }

func (b *memBackend) Submit(ops []kv.Op, done func([]kv.Result)) {
	res := make([]kv.Result, len(ops))
	for i, op := range ops {
		if b.fail != nil {
			res[i].Err = b.fail
			continue
		}
		var err error
		if res[i], err = kv.Apply(b.kvStore(), op); err != nil {
			panic(err) // memStore never fails
		}
		if !op.Kind.IsRead() {
			b.applied++ // each write is an entry of its own here
		}
	}
	done(res)
}

// memStore is a kv.Store over a map. Its cluster time is the wall
// clock, as Redis's is, so that TTL replies match a real Redis's.
type memStore map[string]kv.Item

func (s memStore) Get(key []byte) (kv.Item, bool, error) {
	v, ok := s[string(key)]
	return v, ok, nil
}

func (s memStore) Put(key []byte, item kv.Item, _ *kv.Item) error {
	s[string(key)] = kv.Item{Value: append([]byte{}, item.Value...), Deadline: item.Deadline, Version: item.Version}
	return nil
}

func (s memStore) Delete(key []byte, _ kv.Item) error {
	delete(s, string(key))
	return nil
}

func (s memStore) Len() (int64, error) { return int64(len(s)), nil }

func (s memStore) Now() int64 { return time.Now().UnixMilli() }

func (s memStore) Range(fn func(key []byte, item kv.Item) bool) error {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn([]byte(k), s[k]) {
			break
		}
	}
	return nil
}

func (s memStore) Clear() error {
	clear(s)
	return nil
}

func (s memStore) RangeHash(from uint64, fn func(hash uint64, key []byte, item kv.Item) bool) error {
	return kv.RangeHashBySorting(s, from, fn)
}
