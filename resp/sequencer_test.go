// Tests of the per-connection order (sequencer.go): which groups reach the
// Backend and when, what each command sees, and a Backend that answers
// within Submit.
package resp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/seshat-db/seshat/kv"
)

// groupBackend records each group it is given and holds it until step.
type groupBackend struct {
	store   memStore
	groups  []string // each group's op kinds, e.g. "set,incrby"
	pending []func()
}

func (b *groupBackend) Submit(ops []kv.Op, done func([]kv.Result)) {
	kinds := make([]string, len(ops))
	for i, op := range ops {
		kinds[i] = op.Kind.String()
	}
	b.groups = append(b.groups, strings.Join(kinds, ","))
	b.pending = append(b.pending, func() {
		res := make([]kv.Result, len(ops))
		for i, op := range ops {
			res[i], _ = kv.Apply(b.store, op)
		}
		done(res)
	})
}

// step answers the oldest group held.
func (b *groupBackend) step() bool {
	if len(b.pending) == 0 {
		return false
	}
	f := b.pending[0]
	b.pending = b.pending[1:]
	f()
	return true
}

func runPipeline(e *Executor, cmds ...string) *[]string {
	replies := make([]string, len(cmds))
	for i, c := range cmds {
		e.Execute(bytesArgs(c), func(r []byte) { replies[i] = string(r) })
	}
	e.Flush()
	return &replies
}

func TestSequencerGroupsInOrder(t *testing.T) {
	b := &groupBackend{store: memStore{}}
	e := NewExecutor(b, Limits{}, nil)
	replies := runPipeline(e, "SET k 1", "INCR k", "PING", "GET k", "EXISTS k", "DEL k", "GET k")
	if got := strings.Join(b.groups, " | "); got != "set,incrby" {
		t.Fatalf("submitted before the first group was answered: %q", got)
	}
	if (*replies)[2] != "+PONG\r\n" {
		t.Fatalf("PING waited for data commands: %q", *replies)
	}
	for b.step() {
	}
	if got, want := strings.Join(b.groups, " | "), "set,incrby | get,exists | del | get"; got != want {
		t.Fatalf("groups %q, want %q", got, want)
	}
	want := []string{"+OK\r\n", ":2\r\n", "+PONG\r\n", "$1\r\n2\r\n", ":1\r\n", ":1\r\n", "$-1\r\n"}
	if fmt.Sprint(*replies) != fmt.Sprint(want) {
		t.Fatalf("replies %q, want %q", *replies, want)
	}
}

func TestSequencerWaitsForFlush(t *testing.T) {
	b := &groupBackend{store: memStore{}}
	e := NewExecutor(b, Limits{}, nil)
	e.Execute(bytesArgs("SET a 1"), func([]byte) {})
	e.Execute(bytesArgs("SET b 1"), func([]byte) {})
	if len(b.groups) != 0 {
		t.Fatalf("submitted before Flush: %q", b.groups)
	}
	e.Flush()
	// What arrives while a group is in flight waits for the next Flush too.
	e.Execute(bytesArgs("SET c 1"), func([]byte) {})
	b.step()
	if got := strings.Join(b.groups, " | "); got != "set,set" {
		t.Fatalf("groups %q", got)
	}
	e.Flush()
	if got := strings.Join(b.groups, " | "); got != "set,set | set" {
		t.Fatalf("groups %q", got)
	}
}

func TestSequencerBoundsGroups(t *testing.T) {
	b := &groupBackend{store: memStore{}}
	e := NewExecutor(b, Limits{}, nil)
	for i := range groupOpsMax + 10 {
		e.Execute(bytesArgs(fmt.Sprintf("SET k%d v", i)), func([]byte) {})
	}
	e.Flush()
	for b.step() {
	}
	if len(b.groups) != 2 || strings.Count(b.groups[0], ",")+1 != groupOpsMax || strings.Count(b.groups[1], ",")+1 != 10 {
		t.Fatalf("%d groups of %d, %d ops", len(b.groups), strings.Count(b.groups[0], ",")+1, strings.Count(b.groups[len(b.groups)-1], ",")+1)
	}
	// A group stops before it would pass groupBytesMax.
	b.groups = nil
	big := strings.Repeat("v", 60<<10)
	n := groupBytesMax/len(big) + 2
	for i := range n {
		e.Execute([][]byte{[]byte("SET"), fmt.Appendf(nil, "k%d", i), []byte(big)}, func([]byte) {})
	}
	e.Flush()
	for b.step() {
	}
	if len(b.groups) != 2 {
		t.Fatalf("%d SETs of %d bytes went in %d groups, want 2", n, len(big), len(b.groups))
	}
}

// TestSequencerSynchronousBackend: a Backend that answers within Submit
// gets every group in turn, without the sequencer recursing per group.
func TestSequencerSynchronousBackend(t *testing.T) {
	e := NewExecutor(&memBackend{store: memStore{}}, Limits{}, nil)
	var cmds, want []string
	for i := range 5000 {
		cmds = append(cmds, "INCR n", "GET n")
		want = append(want, fmt.Sprintf(":%d\r\n", i+1), fmt.Sprintf("$%d\r\n%d\r\n", len(fmt.Sprint(i+1)), i+1))
	}
	replies := runPipeline(e, cmds...)
	if fmt.Sprint(*replies) != fmt.Sprint(want) {
		t.Fatal("replies out of order")
	}
}

func TestSequencerCloseDropsUnsubmitted(t *testing.T) {
	b := &groupBackend{store: memStore{}}
	e := NewExecutor(b, Limits{}, nil)
	replies := runPipeline(e, "SET k 1", "GET k")
	e.Close()
	for b.step() {
	}
	if len(b.groups) != 1 || (*replies)[0] != "+OK\r\n" || (*replies)[1] != "" {
		t.Fatalf("groups %q, replies %q", b.groups, *replies)
	}
}

// TestUnsafeUnordered: the test-only switch really restores the old
// dispatch, every command at once: a read overtakes the write before it.
func TestUnsafeUnordered(t *testing.T) {
	b := &groupBackend{store: memStore{}}
	e := NewExecutor(b, Limits{}, nil)
	e.UnsafeUnordered = true
	e.Execute(bytesArgs("SET k 1"), func([]byte) {})
	var got string
	e.Execute(bytesArgs("GET k"), func(r []byte) { got = string(r) })
	if len(b.groups) != 2 {
		t.Fatalf("groups %q, want each command at once", b.groups)
	}
	b.pending[0], b.pending[1] = b.pending[1], b.pending[0]
	for b.step() {
	}
	if got != "$-1\r\n" {
		t.Fatalf("GET = %q", got)
	}
}

// keyCountBackend answers at once and records the keys of each group.
type keyCountBackend struct{ keys []int }

func (b *keyCountBackend) Submit(ops []kv.Op, done func([]kv.Result)) {
	n := 0
	for _, op := range ops {
		n += max(len(op.Keys), 1)
	}
	b.keys = append(b.keys, n)
	done(make([]kv.Result, len(ops)))
}

// TestSequencerBoundsWriteGroupKeys: a write group is one raft entry,
// applied in one go on the node's event goroutine, where no tick runs.
// KeysPerWriteMax bounds one DEL or MSET for that reason (500 keep an
// apply near 8 ms), but a pipeline of 256 MSETs of 500 keys each fits
// in groupOpsMax and groupBytesMax (1-byte keys and values: 260 KB) and
// went as one entry of 128,000 keys: seconds with no tick, from one
// client. A write group must stay within the same bound as one write.
func TestSequencerBoundsWriteGroupKeys(t *testing.T) {
	b := &keyCountBackend{}
	e := NewExecutor(b, Limits{}, nil)
	var mset strings.Builder
	mset.WriteString("MSET")
	for i := range KeysPerWriteMaxDefault {
		fmt.Fprintf(&mset, " %d v", i)
	}
	for range groupOpsMax {
		e.Execute(bytesArgs(mset.String()), func(r []byte) {
			if r[0] == '-' {
				t.Fatalf("MSET refused: %q", r)
			}
		})
	}
	e.Flush()
	for i, n := range b.keys {
		if n > KeysPerWriteMaxDefault {
			t.Fatalf("write group %d of %d carries %d keys, over KeysPerWriteMax (%d): one entry applied with no tick",
				i, len(b.keys), n, KeysPerWriteMaxDefault)
		}
	}
}
