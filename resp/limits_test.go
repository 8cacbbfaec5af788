package resp

import (
	"github.com/seshat-db/seshat/kv"

	"strings"
	"testing"
)

// TestKeysPerCommandBound: a command with more keys than its bound is
// refused before it reaches the backend; one at the bound runs. Writes and
// reads have bounds of their own.
func TestKeysPerCommandBound(t *testing.T) {
	cmd := func(name string, keys int, withValues bool) [][]byte {
		args := [][]byte{[]byte(name)}
		for range keys {
			args = append(args, []byte("k"))
			if withValues {
				args = append(args, []byte("v"))
			}
		}
		return args
	}
	const writes, reads = 3, 5
	tooManyWrites := "-ERR too many keys in one command (max 3)\r\n"
	tooManyReads := "-ERR too many keys in one command (max 5)\r\n"
	for _, tc := range []struct {
		args [][]byte
		want string
	}{
		{cmd("del", writes, false), ":1\r\n"},
		{cmd("del", writes+1, false), tooManyWrites},
		{cmd("mset", writes, true), "+OK\r\n"},
		{cmd("mset", writes+1, true), tooManyWrites},
		{cmd("exists", reads, false), ":5\r\n"},
		{cmd("exists", reads+1, false), tooManyReads},
		{cmd("mget", reads, false), "*5\r\n" + strings.Repeat("$1\r\nv\r\n", 5)},
		{cmd("mget", reads+1, false), tooManyReads},
	} {
		b := &laterBackend{store: memStore{"k": kv.Item{Value: []byte("v")}}}
		e := NewExecutor(b, Limits{KeysPerWriteMax: writes, KeysPerReadMax: reads}, nil)
		var got string
		e.Execute(tc.args, func(r []byte) { got = string(r) })
		e.Flush()
		b.complete()
		if got != tc.want {
			t.Errorf("%s of %d args: got %q, want %q", tc.args[0], len(tc.args)-1, got, tc.want)
		}
	}
}
