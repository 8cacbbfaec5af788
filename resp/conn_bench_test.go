package resp

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkConnPipeline16 is a connection's whole share of a pipelined
// write, parse to reply bytes: 16 SETs arrive in one read, run as one
// group on a backend that answers at once, and their replies are taken
// out (make bench-go; allocs/op are per 16 commands).
func BenchmarkConnPipeline16(b *testing.B) {
	var in []byte
	value := make([]byte, 64)
	for i := range 16 {
		in = AppendCommand(in, []byte("SET"), fmt.Appendf(nil, "key:%06d", i), value)
	}
	c := NewConn(NewExecutor(&memBackend{store: memStore{}}, Limits{}, nil), ConnConfig{})
	var out []byte
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for range b.N {
		c.Feed(in)
		out, _ = c.Output(out[:0])
		if len(out) != 16*len("+OK\r\n") {
			b.Fatalf("got %q", out)
		}
	}
}

// TestCommandNameAsToLower: the interned names are strings.ToLower's,
// for table names in any case and for names the table lacks.
func TestCommandNameAsToLower(t *testing.T) {
	for _, in := range []string{"SET", "set", "SeT", "GET", "client", "CLIENT", "NOSUCH", "ÉCHO", "", "averyveryverylongcommandname"} {
		if got, want := commandName([]byte(in)), strings.ToLower(in); got != want {
			t.Errorf("commandName(%q) = %q, want %q", in, got, want)
		}
	}
	upper := []byte("SET")
	if allocs := testing.AllocsPerRun(100, func() { _ = commandName(upper) }); allocs != 0 || len(commandNames) < 50 {
		t.Fatalf("naming SET allocates %v times (%d names interned)", allocs, len(commandNames))
	}
}
