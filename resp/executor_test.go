// This file's goal: the Executor keeps its contract with the server
// (reply exactly once, possibly later; nothing of args kept), and package
// resp's command layer stays free of I/O, clocks, randomness and
// goroutines. Method: a Backend that completes operations only when told,
// a rapid property over random commands, and a tidy test that reads the
// package's source.
package resp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/kv"
	"pgregory.net/rapid"
)

// laterBackend holds operations until complete is called, as a raft node
// holds them until they commit.
type laterBackend struct {
	store   memStore
	pending []func()
}

func (b *laterBackend) Submit(ops []kv.Op, done func([]kv.Result)) {
	b.pending = append(b.pending, func() {
		res := make([]kv.Result, len(ops))
		for i, op := range ops {
			res[i], _ = kv.Apply(b.store, op)
		}
		done(res)
	})
}

func (b *laterBackend) complete() {
	for _, f := range b.pending {
		f()
	}
	b.pending = nil
}

func TestReplyLaterAndArgsNotKept(t *testing.T) {
	b := &laterBackend{store: memStore{}}
	e := NewExecutor(b, Limits{}, nil)
	var replies []string
	rec := func(r []byte) { replies = append(replies, string(r)) }

	// The server reuses its read buffer once Execute returns.
	buf := []byte("SETkeyvalue")
	e.Execute([][]byte{buf[0:3], buf[3:6], buf[6:11]}, rec)
	e.Execute([][]byte{[]byte("PING")}, rec)
	e.Flush()
	copy(buf, "XXXXXXXXXXX")
	if len(replies) != 1 || replies[0] != "+PONG\r\n" {
		t.Fatalf("before commit: %q", replies)
	}
	b.complete()
	if len(replies) != 2 || replies[1] != "+OK\r\n" {
		t.Fatalf("after commit: %q", replies)
	}
	if v := string(b.store["key"].Value); v != "value" {
		t.Fatalf("stored %q: the op aliased the caller's buffer", v)
	}
}

func TestEmptyCommandAndIsQuit(t *testing.T) {
	e := NewExecutor(&memBackend{store: memStore{}}, Limits{}, nil)
	calls := 0
	e.Execute(nil, func(r []byte) {
		calls++
		if len(r) != 0 {
			t.Errorf("empty command: reply %q", r)
		}
	})
	if calls != 1 {
		t.Errorf("empty command: %d replies", calls)
	}
	for _, tc := range []struct {
		in   string
		want bool
	}{{"QUIT", true}, {"quit", true}, {"QuIt x", true}, {"QUITS", false}, {"GET", false}, {"", false}} {
		if got := IsQuit(bytesArgs(tc.in)); got != tc.want {
			t.Errorf("IsQuit(%q) = %v", tc.in, got)
		}
	}
}

func bytesArgs(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}

// TestRandomCommands: any command, known or not, well-formed or not, gets
// exactly one reply, and the reply is one well-formed RESP2 value.
func TestRandomCommands(t *testing.T) {
	names := []string{"get", "SET", "setnx", "del", "exists", "incr", "incrby", "decr", "decrby", "mget",
		"mset", "append", "strlen", "getdel", "dbsize", "ping", "echo", "command", "hello", "client",
		"select", "config", "info", "quit", "nosuch"}
	words := []string{"k", "v", "NX", "XX", "GET", "EX", "KEEPTTL", "10", "-1", "9223372036854775807",
		"-9223372036854775808", "x", "", "COUNT", "INFO", "DOCS", "LIST", "SETNAME", "GETNAME", "ID",
		"SETINFO", "lib-name", "2", "3", "AUTH", "default", "0", "1", "server", "raft"}
	e := NewExecutor(&memBackend{store: memStore{}}, Limits{KeyBytesMax: 4, ValueBytesMax: 8}, fakeInfo{})
	rapid.Check(t, func(t *rapid.T) {
		args := [][]byte{[]byte(rapid.SampledFrom(names).Draw(t, "name"))}
		for _, w := range rapid.SliceOfN(rapid.SampledFrom(words), 0, 6).Draw(t, "args") {
			args = append(args, []byte(w))
		}
		calls := 0
		e.Execute(args, func(r []byte) {
			calls++
			if _, rest, err := ParseReply(r); err != nil || len(rest) != 0 {
				t.Fatalf("%q: reply %q: %v", args, r, err)
			}
		})
		e.Flush()
		if calls != 1 {
			t.Fatalf("%q: %d replies", args, calls)
		}
	})
}

// TestTidy: the command layer runs inside the deterministic simulator, so
// it may not import the clock, randomness, the OS or the network, nor start
// goroutines. The socket server, once it lives in this package, goes in
// files named server*.go, which are exempt.
func TestTidy(t *testing.T) {
	banned := map[string]string{
		"time": "the clock", "math/rand": "global randomness", "math/rand/v2": "global randomness",
		"crypto/rand": "randomness", "os": "the OS", "net": "the network", "syscall": "the OS",
		"bufio": "buffered I/O (rule 10)", "sync": "concurrency", "unsafe": "unsafe",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, "server") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if why, ok := banned[path]; ok || strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "os/") {
				t.Errorf("%s imports %s (%s): the command layer must stay deterministic", name, path, why)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s:%d starts a goroutine", name, g.Pos())
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked only %d files", checked)
	}
}
