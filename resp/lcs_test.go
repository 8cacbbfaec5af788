package resp

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// lcsLength is the textbook recurrence, written apart from lcsReply's
// table, to check its length.
func lcsLength(a, b []byte) int {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if a[len(a)-1] == b[len(b)-1] {
		return lcsLength(a[:len(a)-1], b[:len(b)-1]) + 1
	}
	return max(lcsLength(a[:len(a)-1], b), lcsLength(a, b[:len(b)-1]))
}

func isSubsequence(s, of []byte) bool {
	for _, c := range of {
		if len(s) > 0 && s[0] == c {
			s = s[1:]
		}
	}
	return len(s) == 0
}

// TestLCSProperties: the subsequence is common to both values and as long
// as any; LEN agrees; the IDX ranges, each equal in both values, add up
// to the whole subsequence, last first.
func TestLCSProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.SliceOfN(rapid.ByteRange('a', 'c'), 0, 9)
		a, b := gen.Draw(t, "a"), gen.Draw(t, "b")
		seqReply, _, err := ParseReply(lcsReply(a, b, lcsOptions{}))
		if err != nil {
			t.Fatal(err)
		}
		seq := []byte(seqReply.Str)
		if len(seq) != lcsLength(a, b) || !isSubsequence(seq, a) || !isSubsequence(seq, b) {
			t.Fatalf("LCS(%q, %q) = %q; the longest common subsequence has length %d", a, b, seq, lcsLength(a, b))
		}
		lenReply, _, _ := ParseReply(lcsReply(a, b, lcsOptions{length: true}))
		if lenReply.Int != int64(len(seq)) {
			t.Fatalf("LEN = %d, subsequence %q", lenReply.Int, seq)
		}
		idx, _, _ := ParseReply(lcsReply(a, b, lcsOptions{idx: true, withMatchLen: true}))
		var rebuilt []byte
		for _, m := range idx.Array[1].Array {
			as, ae := m.Array[0].Array[0].Int, m.Array[0].Array[1].Int
			bs, be := m.Array[1].Array[0].Int, m.Array[1].Array[1].Int
			if !bytes.Equal(a[as:ae+1], b[bs:be+1]) || m.Array[2].Int != ae-as+1 {
				t.Fatalf("range a[%d..%d] b[%d..%d] len %d does not match", as, ae, bs, be, m.Array[2].Int)
			}
			rebuilt = append(append([]byte{}, a[as:ae+1]...), rebuilt...)
		}
		if !bytes.Equal(rebuilt, seq) || idx.Array[3].Int != int64(len(seq)) {
			t.Fatalf("ranges give %q, subsequence %q", rebuilt, seq)
		}
	})
}

// TestLCSTableIsBounded: two values whose table would pass the bound get
// a clear error, not a 16 GB allocation.
func TestLCSTableIsBounded(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 4096)
	got := string(lcsReply(big, big, lcsOptions{length: true}))
	if !strings.HasPrefix(got, "-ERR Insufficient memory, transient memory for LCS exceeds Seshat's bound of 16777216 bytes") {
		t.Fatalf("LCS of two 4 KB values: %q", got)
	}
	small := bytes.Repeat([]byte("x"), 2000)
	if got := string(lcsReply(small, small, lcsOptions{length: true})); got != ":2000\r\n" {
		t.Fatalf("LCS of two 2,000-byte values: %q", got)
	}
}
