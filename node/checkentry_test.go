package node

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/seshat-db/seshat/kv"
)

// TestCheckEntryMatchesDecode: checkEntry, which a peer's entries meet on
// arrival, accepts exactly what decodeEntry (at apply) accepts, for
// damaged spellings of every entry shape (single, group, stamped, clock,
// stamped twice), not just the round trips and the listed rejects.
func TestCheckEntryMatchesDecode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := drawEntryBytes(t)
		for range rapid.IntRange(0, 3).Draw(t, "damages") {
			if len(b) == 0 {
				break
			}
			i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
			switch rapid.IntRange(0, 3).Draw(t, "damage") {
			case 0:
				b[i] = rapid.Byte().Draw(t, "byte")
			case 1:
				b = append(b[:i:i], b[i+1:]...)
			case 2:
				b = append(b[:i:i], append([]byte{rapid.Byte().Draw(t, "ins")}, b[i:]...)...)
			case 3:
				b = b[:i]
			}
		}
		_, decErr := decodeEntry(b)
		if chkErr := checkEntry(b); chkErr != decErr {
			t.Fatalf("checkEntry(%x) = %v, decodeEntry's error %v", b, chkErr, decErr)
		}
	})
}

func drawEntryBytes(t *rapid.T) []byte {
	kinds := []kv.Kind{kv.Get, kv.Set, kv.MSet, kv.Del, kv.IncrBy, kv.Expire, kv.Scan, kv.DBSize, kv.Rename}
	ops := make([]kv.Op, rapid.IntRange(1, 3).Draw(t, "ops"))
	for i := range ops {
		op := kv.Op{Kind: rapid.SampledFrom(kinds).Draw(t, "kind")}
		for range rapid.IntRange(0, 3).Draw(t, "keys") {
			op.Keys = append(op.Keys, []byte(rapid.StringN(0, 3, -1).Draw(t, "key")))
		}
		for range rapid.IntRange(0, 3).Draw(t, "values") {
			op.Values = append(op.Values, []byte(rapid.StringN(0, 3, -1).Draw(t, "value")))
		}
		op.Delta = rapid.Int64Range(-3, 3).Draw(t, "delta")
		ops[i] = op
	}
	s := session{origin: rapid.Uint64Range(0, 300).Draw(t, "origin"), incarnation: rapid.Uint64Range(0, 300).Draw(t, "inc")}
	data := encodeEntry(s, rapid.Uint64Range(0, 300).Draw(t, "seq"), ops)
	switch rapid.IntRange(0, 3).Draw(t, "stamp") {
	case 1:
		data = stampEntry(data, rapid.Int64Range(1, 1000).Draw(t, "clock"))
	case 2:
		data = encodeClockEntry(rapid.Int64Range(1, 1000).Draw(t, "clock"))
	case 3:
		data = stampEntry(stampEntry(data, 5), 6)
		data = append([]byte{entryStamped, 7}, data...)
	}
	return data
}
