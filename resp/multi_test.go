package resp

import (
	"strings"
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// runAll executes each command (words split on spaces) and flushes once,
// as one read from the socket, and returns the replies, each in its
// command's place (as the server's reply slots order them).
func runAll(e *Executor, cmds ...string) *[]string {
	replies := make([]string, len(cmds))
	for i, c := range cmds {
		e.Execute(bytesArgs(c), func(r []byte) { replies[i] = string(r) })
	}
	e.Flush()
	return &replies
}

// A pipeline of WATCH, a write to the key and EXEC, arriving together
// and answered later: EXEC must carry the token WATCH answered, which
// comes only after EXEC was executed.
func TestPipelinedWatchAbortsOnOwnWrite(t *testing.T) {
	b := &memLater{mem: &memBackend{store: memStore{}}}
	e := NewExecutor(b, Limits{}, nil)
	replies := runAll(e, "SET k 1", "WATCH k", "SET k 2", "MULTI", "INCR k", "EXEC", "GET k")
	for b.step() {
	}
	want := []string{"+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n", "+QUEUED\r\n", "*-1\r\n", "$1\r\n2\r\n"}
	if strings.Join(*replies, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", *replies, want)
	}
}

// The same pipeline without the write runs the transaction: EXEC took
// WATCH's token, though WATCH was answered after EXEC was executed.
func TestPipelinedWatchRunsUnchanged(t *testing.T) {
	b := &memLater{mem: &memBackend{store: memStore{}}}
	e := NewExecutor(b, Limits{}, nil)
	replies := runAll(e, "SET k 1", "WATCH k", "MULTI", "INCR k", "EXEC")
	for b.step() {
	}
	if got := (*replies)[4]; got != "*1\r\n:2\r\n" {
		t.Fatalf("EXEC answered %q, want the INCR's result", got)
	}
}

func TestTxnLimits(t *testing.T) {
	e := NewExecutor(&memBackend{store: memStore{}}, Limits{TxnCommandsMax: 2, TxnBytesMax: 20, KeysPerWriteMax: 3}, nil)
	replies := runAll(e, "MULTI", "SET a 1", "SET b 2", "SET c 3", "EXEC", "GET a")
	want := "+OK\r\n|+QUEUED\r\n|+QUEUED\r\n|-" + txnTooLarge("commands", 2) + "\r\n|-" + errExecAbort + "\r\n|$-1\r\n"
	if got := strings.Join(*replies, "|"); got != want {
		t.Fatalf("commands: %q, want %q", got, want)
	}
	replies = runAll(e, "MULTI", "SET a 0123456789abcdefghij", "EXEC")
	if got := (*replies)[1]; got != "-"+txnTooLarge("bytes", 20)+"\r\n" || (*replies)[2] != "-"+errExecAbort+"\r\n" {
		t.Fatalf("bytes: %q", *replies)
	}
	replies = runAll(e, "MULTI", "DEL a b", "DEL c d", "EXEC")
	if got := (*replies)[2]; got != "-"+txnTooLarge("keys of writes", 3)+"\r\n" {
		t.Fatalf("keys: %q", *replies)
	}
	replies = runAll(e, "WATCH a b", "WATCH c d", "UNWATCH")
	if got := (*replies)[1]; got != "-"+tooManyWatched("keys", 3)+"\r\n" {
		t.Fatalf("watched keys: %q", *replies)
	}
	// A watched key takes its bytes and its token's.
	replies = runAll(e, "WATCH abcdefghijkl", "UNWATCH")
	if got := (*replies)[0]; got != "-"+tooManyWatched("bytes", 20)+"\r\n" {
		t.Fatalf("watched bytes: %q", *replies)
	}
	// ... which the queued commands share: 10 + 8 fit, 5 more do not.
	replies = runAll(e, "WATCH a", "MULTI", "SET b 0123", "SET c 1", "EXEC")
	if got := (*replies)[3]; got != "-"+txnTooLarge("bytes", 20)+"\r\n" || (*replies)[2] != "+QUEUED\r\n" {
		t.Fatalf("watched and queued bytes: %q", *replies)
	}
}

// memLater answers each group at the next step, as a node answers later.
type memLater struct {
	mem     *memBackend
	pending []func()
}

func (b *memLater) Submit(ops []kv.Op, done func([]kv.Result)) {
	b.pending = append(b.pending, func() { b.mem.Submit(ops, done) })
}

func (b *memLater) step() bool {
	if len(b.pending) == 0 {
		return false
	}
	f := b.pending[0]
	b.pending = b.pending[1:]
	f()
	return true
}
