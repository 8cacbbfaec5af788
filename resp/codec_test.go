// This file's goal: the codec parses what Redis parses, refuses what
// Redis refuses with Redis's error, never panics and never allocates in
// proportion to a length the input merely claims. Method: table tests of
// exact cases, rapid properties over random replies and random bytes, and
// a native fuzz target (go test ./resp -fuzz FuzzParseCommand).
package resp

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		args []string // nil with err
		rest string
		err  string // "" for success, "incomplete", or the error text
	}{
		{in: "*1\r\n$4\r\nPING\r\n", args: []string{"PING"}},
		{in: "*2\r\n$3\r\nGET\r\n$0\r\n\r\nrest", args: []string{"GET", ""}, rest: "rest"},
		{in: "*0\r\n*-1\r\n*1\r\n$1\r\na\r\n", args: []string{"a"}},
		{in: "PING\r\n", args: []string{"PING"}},
		{in: "PING\n", args: []string{"PING"}},
		{in: "\r\n\n  \r\nSET  k \"a b\\x41\\n\" 'c\\'d' \"\"\r\nX", args: []string{"SET", "k", "a bA\n", "c'd", ""}, rest: "X"},
		{in: "GET a\x00b c\r\n", args: []string{"GET", "a"}},
		{in: "", err: "incomplete"},
		{in: "*", err: "incomplete"},
		{in: "*1", err: "incomplete"},
		{in: "*1\r", err: "incomplete"},
		{in: "*1\r\n", err: "incomplete"},
		{in: "*1\r\n$", err: "incomplete"},
		{in: "*1\r\n$4\r\nPIN", err: "incomplete"},
		{in: "*1\r\n$4\r\nPING\r", err: "incomplete"},
		{in: "*1\r\n:", err: "incomplete"},
		{in: "PING", err: "incomplete"},
		{in: "*1\r\n$4\r\nPINGxx", err: "ERR Protocol error: expected CRLF"},
		{in: "*1\rx", err: "ERR Protocol error: expected CRLF"},
		{in: "*1\r\n$-1\r\n", err: "ERR Protocol error: invalid bulk length"},
		{in: "*1\r\n$-5\r\n", err: "ERR Protocol error: invalid bulk length"},
		{in: "*1\r\n$1x\r\n", err: "ERR Protocol error: invalid bulk length"},
		{in: "*1\r\n$01\r\n", err: "ERR Protocol error: invalid bulk length"},
		{in: "*1\r\n$536870913\r\n", err: "ERR Protocol error: invalid bulk length"},
		{in: "*1\r\n$99999999999999999999999\r\n", err: "ERR Protocol error: invalid bulk length"},
		{in: "*x\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{in: "*\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{in: "*2147483648\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{in: "*1048577\r\n", err: "ERR Protocol error: invalid multibulk length"},
		{in: "*1\r\n:1\r\n", err: "ERR Protocol error: expected '$', got ':'"},
		{in: "*1\r\nx", err: "incomplete"},
		{in: "*1\r\n" + strings.Repeat("x", 70000), err: "ERR Protocol error: expected '$', got 'x'"},
		{in: "*" + strings.Repeat("1", 70000), err: "ERR Protocol error: too big mbulk count string"},
		{in: "*1\r\n$" + strings.Repeat("1", 70000), err: "ERR Protocol error: too big bulk count string"},
		{in: strings.Repeat("a", 70000), err: "ERR Protocol error: too big inline request"},
		{in: strings.Repeat("a", 70000) + "\n", err: "ERR Protocol error: too big inline request"},
		{in: "GET \"a\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
		{in: "GET \"a\"b\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
		{in: "GET 'a\r\n", err: "ERR Protocol error: unbalanced quotes in request"},
	} {
		args, rest, err := ParseCommand([]byte(tc.in))
		name := strconv.Quote(tc.in)
		if len(name) > 60 {
			name = name[:60]
		}
		switch {
		case tc.err == "incomplete":
			if !errors.Is(err, ErrIncomplete) {
				t.Errorf("%s: err %v, want ErrIncomplete", name, err)
			}
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: err %v, want %q", name, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: err %v", name, err)
		default:
			if got := strs(args); strings.Join(got, "|") != strings.Join(tc.args, "|") || len(got) != len(tc.args) {
				t.Errorf("%s: args %q, want %q", name, got, tc.args)
			}
			if string(rest) != tc.rest {
				t.Errorf("%s: rest %q, want %q", name, rest, tc.rest)
			}
		}
	}
}

func TestCommandLimits(t *testing.T) {
	l := CommandLimits{BulkBytesMax: 3, ArrayLenMax: 2, InlineBytesMax: 8}
	if _, _, err := l.ParseCommand([]byte("*1\r\n$4\r\n")); !errors.Is(err, ErrInvalidBulkLength) {
		t.Errorf("bulk over BulkBytesMax: %v", err)
	}
	if _, _, err := l.ParseCommand([]byte("*3\r\n")); !errors.Is(err, ErrInvalidMultibulkLength) {
		t.Errorf("array over ArrayLenMax: %v", err)
	}
	if _, _, err := l.ParseCommand([]byte("GET abcdef\r\n")); !errors.Is(err, ErrTooBigInline) {
		t.Errorf("inline over InlineBytesMax: %v", err)
	}
	if args, _, err := l.ParseCommand([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")); err != nil || len(args) != 2 {
		t.Errorf("within limits: %q %v", args, err)
	}
}

// TestCommandBytesMax: a RESP array is held to CommandBytesMax bytes on
// the wire, refused as soon as its declared lengths pass it, and an
// incomplete one never holds more than that.
func TestCommandBytesMax(t *testing.T) {
	l := CommandLimits{BulkBytesMax: 100, ArrayLenMax: 100, InlineBytesMax: 8, CommandBytesMax: 24}
	// "*2\r\n$3\r\nGET\r\n$5\r\nabcde\r\n" is 24 bytes: exactly the bound.
	if args, _, err := l.ParseCommand([]byte("*2\r\n$3\r\nGET\r\n$5\r\nabcde\r\n")); err != nil || len(args) != 2 {
		t.Errorf("at the bound: %q %v", args, err)
	}
	// The bound is per command: what follows one does not count.
	if _, rest, err := l.ParseCommand([]byte("*2\r\n$3\r\nGET\r\n$5\r\nabcde\r\n*1\r\n")); err != nil || string(rest) != "*1\r\n" {
		t.Errorf("followed by more: rest %q %v", rest, err)
	}
	for _, in := range []string{
		"*2\r\n$3\r\nGET\r\n$6\r\n",                    // declared one byte over: refused before the data arrives
		"*9\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n$0000000", // incomplete (22 bytes, then a header line still open) yet over the bound
	} {
		if _, _, err := l.ParseCommand([]byte(in)); !errors.Is(err, ErrTooBigCommand) {
			t.Errorf("%q: err %v, want ErrTooBigCommand", in, err)
		}
	}
	// Without a CommandBytesMax only the other bounds apply.
	l.CommandBytesMax = 0
	if _, _, err := l.ParseCommand([]byte("*2\r\n$3\r\nGET\r\n$60\r\n")); !errors.Is(err, ErrIncomplete) {
		t.Errorf("no CommandBytesMax: %v", err)
	}
}

// TestIncompleteRest: on ErrIncomplete, rest is the partial command
// without the empty commands skipped before it, so a caller that keeps
// only rest does not keep an endless run of "*0" or blank lines.
func TestIncompleteRest(t *testing.T) {
	for _, tc := range []struct{ in, rest string }{
		{"", ""},
		{"*1\r\n$4\r\nPI", "*1\r\n$4\r\nPI"},
		{"*0\r\n*-1\r\n\r\n\r\n", ""},
		{"*0\r\n\r\n*1\r\n$4\r\nPI", "*1\r\n$4\r\nPI"},
		{"\r\nPIN", "PIN"},
	} {
		_, rest, err := ParseCommand([]byte(tc.in))
		if !errors.Is(err, ErrIncomplete) || string(rest) != tc.rest {
			t.Errorf("%q: rest %q err %v, want rest %q and ErrIncomplete", tc.in, rest, err, tc.rest)
		}
	}
}

func strs(args [][]byte) []string {
	var out []string
	for _, a := range args {
		out = append(out, string(a))
	}
	return out
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Reply
		err  string
	}{
		{in: "+OK\r\n", want: Reply{Kind: KindSimple, Str: "OK"}},
		{in: "-ERR x y\r\n", want: Reply{Kind: KindError, Str: "ERR x y"}},
		{in: ":-12\r\n", want: Reply{Kind: KindInt, Int: -12}},
		{in: "$3\r\na\r\n\r\n", want: Reply{Kind: KindBulk, Str: "a\r\n"}},
		{in: "$0\r\n\r\n", want: Reply{Kind: KindBulk}},
		{in: "$-1\r\n", want: Reply{Kind: KindBulk, Null: true}},
		{in: "*-1\r\n", want: Reply{Kind: KindArray, Null: true}},
		{in: "*0\r\n", want: Reply{Kind: KindArray, Array: []Reply{}}},
		{in: "*2\r\n:1\r\n*1\r\n$-1\r\n", want: Reply{Kind: KindArray, Array: []Reply{
			{Kind: KindInt, Int: 1}, {Kind: KindArray, Array: []Reply{{Kind: KindBulk, Null: true}}}}}},
		{in: "", err: "incomplete"},
		{in: "+OK\r", err: "incomplete"},
		{in: "$3\r\nab", err: "incomplete"},
		{in: "*2\r\n:1\r\n", err: "incomplete"},
		{in: "*1000000\r\n", err: "incomplete"},
		{in: "$100000000\r\n", err: "incomplete"},
		{in: "$-2\r\n", err: "bad"},
		{in: "*-2\r\n", err: "bad"},
		{in: "$3\r\nabcde", err: "bad"},
		{in: ":1x\r\n", err: "bad"},
		{in: "$999999999999\r\n", err: "bad"},
		{in: "*999999999999\r\n", err: "bad"},
		{in: "%1\r\n", err: "bad"},
		{in: "+OK\rx", err: "bad"},
		{in: strings.Repeat("*1\r\n", 100) + ":1\r\n", err: "bad"},
	} {
		got, rest, err := ParseReply([]byte(tc.in))
		switch tc.err {
		case "incomplete":
			if !errors.Is(err, ErrIncomplete) {
				t.Errorf("%q: err %v, want ErrIncomplete", tc.in, err)
			}
		case "bad":
			if err == nil || errors.Is(err, ErrIncomplete) {
				t.Errorf("%q: err %v, want a malformed reply", tc.in, err)
			}
		default:
			if err != nil || len(rest) != 0 || !equalReply(got, tc.want) {
				t.Errorf("%q: %+v %q %v, want %+v", tc.in, got, rest, err, tc.want)
			}
		}
	}
}

func TestAppend(t *testing.T) {
	var b []byte
	b = AppendSimple(b, "OK")
	b = AppendError(b, "ERR a\r\nb")
	b = AppendInt(b, -3)
	b = AppendBulk(b, []byte("x"))
	b = AppendBulkString(b, "")
	b = AppendNull(b)
	b = AppendNullArray(b)
	b = AppendArray(b, 2)
	b = AppendCommand(b, []byte("GET"), []byte("k"))
	want := "+OK\r\n-ERR a  b\r\n:-3\r\n$1\r\nx\r\n$0\r\n\r\n$-1\r\n*-1\r\n*2\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
	if string(b) != want {
		t.Errorf("got %q\nwant %q", b, want)
	}
}

func equalReply(a, b Reply) bool {
	if a.Kind != b.Kind || a.Str != b.Str || a.Int != b.Int || a.Null != b.Null || len(a.Array) != len(b.Array) {
		return false
	}
	if (a.Array == nil) != (b.Array == nil) && a.Kind == KindArray && !a.Null {
		return false
	}
	for i := range a.Array {
		if !equalReply(a.Array[i], b.Array[i]) {
			return false
		}
	}
	return true
}

// genReply draws a reply that AppendReply can encode faithfully: simple
// strings and errors have no CR or LF.
func genReply(depth int) *rapid.Generator[Reply] {
	return rapid.Custom(func(t *rapid.T) Reply {
		kinds := []ReplyKind{KindSimple, KindError, KindInt, KindBulk}
		if depth > 0 {
			kinds = append(kinds, KindArray)
		}
		r := Reply{Kind: rapid.SampledFrom(kinds).Draw(t, "kind")}
		switch r.Kind {
		case KindSimple, KindError:
			r.Str = rapid.StringMatching(`[^\r\n]{0,20}`).Draw(t, "line")
		case KindInt:
			r.Int = rapid.Int64().Draw(t, "int")
		case KindBulk:
			r.Null = rapid.Bool().Draw(t, "null")
			if !r.Null {
				r.Str = string(rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "bulk"))
			}
		case KindArray:
			r.Null = rapid.Bool().Draw(t, "null")
			if !r.Null {
				r.Array = rapid.SliceOfN(genReply(depth-1), 0, 5).Draw(t, "elems")
			}
		}
		return r
	})
}

// TestReplyRoundTrip: appending any reply and parsing it gives it back,
// and every proper prefix of its encoding is incomplete.
func TestReplyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genReply(3).Draw(t, "reply")
		tail := []byte("+next\r\n")
		b := append(AppendReply(nil, r), tail...)
		got, rest, err := ParseReply(b)
		if err != nil || !bytes.Equal(rest, tail) || !equalReply(got, r) {
			t.Fatalf("got %+v rest %q err %v, want %+v", got, rest, err, r)
		}
		cut := rapid.IntRange(0, len(b)-len(tail)-1).Draw(t, "cut")
		if _, _, err := ParseReply(b[:cut]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("prefix %q: err %v, want ErrIncomplete", b[:cut], err)
		}
	})
}

// TestCommandRoundTrip: a command encoded as clients encode it parses
// back to the same arguments, whatever bytes they hold.
func TestCommandRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		args := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 30), 1, 6).Draw(t, "args")
		b := AppendCommand(nil, args...)
		got, rest, err := ParseCommand(b)
		if err != nil || len(rest) != 0 || len(got) != len(args) {
			t.Fatalf("got %q rest %q err %v", got, rest, err)
		}
		for i := range args {
			if !bytes.Equal(got[i], args[i]) {
				t.Fatalf("arg %d: got %q want %q", i, got[i], args[i])
			}
		}
	})
}

// allocBytesMax is the most ParseCommand may allocate for an input of n
// bytes: a small multiple of n, whatever lengths the input claims.
func allocBytesMax(n int) uint64 { return uint64(64*n + 4096) }

// allocated measures how many bytes f allocates. NB: MemStats counts the
// whole process, so a goroutine left over from another test can add to a
// single reading; the least of three readings is f's own.
func allocated(f func()) uint64 {
	least := uint64(1<<64 - 1)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// genWire draws bytes that look like RESP often enough to reach deep
// into the parser: fragments of valid frames, huge and negative lengths,
// quotes and random bytes.
var genWire = rapid.Custom(func(t *rapid.T) []byte {
	parts := rapid.SliceOfN(rapid.SampledFrom([]string{
		"*", "$", "\r\n", "\r", "\n", "1", "3", "0", "-1", "-5", "2147483647", "536870912",
		"99999999999999999999", "1048576", "PING", "GET", " ", "\"", "'", "\\x4", "\\", ":", "+", "\x00",
	}), 0, 40).Draw(t, "parts")
	junk := rapid.SliceOfN(rapid.Byte(), 0, 20).Draw(t, "junk")
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	at := rapid.IntRange(0, len(b)).Draw(t, "at")
	return append(b[:at:at], append(junk, b[at:]...)...)
})

// TestParseCommandNeverPanics: any bytes parse to a command, ErrIncomplete
// or a protocol error, within the allocation bound, and a parsed command
// is never empty and leaves a suffix of the input.
func TestParseCommandNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := genWire.Draw(t, "b")
		var args [][]byte
		var rest []byte
		var err error
		n := allocated(func() { args, rest, err = ParseCommand(b) })
		if n > allocBytesMax(len(b)) {
			t.Fatalf("%q: allocated %d bytes", b, n)
		}
		if err == nil && (len(args) == 0 || len(rest) > len(b) || !bytes.HasSuffix(b, rest)) {
			t.Fatalf("%q: args %q rest %q", b, args, rest)
		}
		if errors.Is(err, ErrIncomplete) && !bytes.HasSuffix(b, rest) {
			t.Fatalf("%q: incomplete, rest %q is not a suffix", b, rest)
		}
	})
}

func TestParseHugeLengthsAllocateLittle(t *testing.T) {
	for _, in := range []string{
		"*1048576\r\n$536870912\r\n",
		"*1048576\r\n" + strings.Repeat("$0\r\n\r\n", 100),
	} {
		n := allocated(func() { ParseCommand([]byte(in)) })
		if n > allocBytesMax(len(in)) {
			t.Errorf("%q: allocated %d bytes", in[:20], n)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"*1\r\n$4\r\nPING\r\n", "PING \"a\\x41\" 'b'\r\n", "*1\r\n$-1\r\n", "*0\r\n", "\r\n",
		"*2147483647\r\n", "*1\r\n$536870912\r\n", "GET 'a\\'\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		args, rest, err := ParseCommand(b)
		if err == nil && (len(args) == 0 || !bytes.HasSuffix(b, rest) || len(rest) >= len(b)) {
			t.Fatalf("%q: args %q rest %q", b, args, rest)
		}
		if err == nil && b[0] == '*' {
			// A parsed array re-encodes to bytes that parse the same.
			again, _, err := ParseCommand(AppendCommand(nil, args...))
			if err != nil || len(again) != len(args) {
				t.Fatalf("%q: re-parse %q %v", b, again, err)
			}
		}
	})
}
