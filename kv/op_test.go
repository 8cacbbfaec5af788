// This file tests the log encoding of operations with rapid: every Op
// round-trips, and Decode of arbitrary bytes never panics and accepts only
// bytes that Encode would have produced (so no two encodings mean one Op).
package kv

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

var knownKinds = []Kind{Get, Exists, MGet, StrLen, DBSize, TTL, ExpireTime, Set, Del, IncrBy, MSet, Append, GetDel, GetEx, Expire, Persist, ExpireKeys}

func byteSlices(maxLen int) *rapid.Generator[[][]byte] {
	return rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 40), 0, maxLen)
}

func opGen() *rapid.Generator[Op] {
	return rapid.Custom(func(t *rapid.T) Op {
		return Op{
			Kind:          rapid.SampledFrom(knownKinds).Draw(t, "kind"),
			Flags:         SetFlags(rapid.Byte().Draw(t, "flags")),
			Keys:          byteSlices(6).Draw(t, "keys"),
			Values:        byteSlices(6).Draw(t, "values"),
			Delta:         rapid.Int64().Draw(t, "delta"),
			ValueBytesMax: rapid.Uint32().Draw(t, "valueBytesMax"),
			Exp:           ExpFlags(rapid.Byte().Draw(t, "exp")),
			Expiry:        rapid.Int64().Draw(t, "expiry"),
		}
	})
}

// sameOp compares two ops, treating a nil and an empty slice list alike.
func sameOp(a, b Op) bool {
	if a.Kind != b.Kind || a.Flags != b.Flags || a.Delta != b.Delta || a.ValueBytesMax != b.ValueBytesMax || a.Exp != b.Exp || a.Expiry != b.Expiry {
		return false
	}
	eq := func(x, y [][]byte) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !bytes.Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return eq(a.Keys, b.Keys) && eq(a.Values, b.Values)
}

func TestOpRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		op := opGen().Draw(t, "op")
		prefix := rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "prefix")
		enc := op.Encode(append([]byte{}, prefix...))
		if !bytes.HasPrefix(enc, prefix) {
			t.Fatalf("Encode overwrote dst's bytes")
		}
		got, err := Decode(enc[len(prefix):])
		if !op.wellFormed() {
			// An op with the wrong keys or values for its kind must never
			// reach Apply: Decode refuses it.
			if err == nil {
				t.Fatalf("Decode accepted the ill-formed %+v", op)
			}
			return
		}
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", op, err)
		}
		if !sameOp(op, got) {
			t.Fatalf("round trip: got %+v, want %+v", got, op)
		}
	})
}

func TestDecodeArbitraryBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var b []byte
		if rapid.Bool().Draw(t, "mutate") {
			// Start from a valid encoding and damage it, to get past the
			// header checks often.
			op := opGen().Draw(t, "op")
			b = op.Encode(nil)
			for range rapid.IntRange(1, 4).Draw(t, "edits") {
				i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
				switch rapid.IntRange(0, 3).Draw(t, "edit") {
				case 0:
					b[i] = rapid.Byte().Draw(t, "byte")
				case 1:
					b = append(b[:i:i], b[i+1:]...)
				case 2:
					b = append(b[:i:i], append([]byte{rapid.Byte().Draw(t, "ins")}, b[i:]...)...)
				case 3:
					// Spell a one-byte varint in two bytes: the same
					// number, a different encoding.
					b = append(b[:i:i], append([]byte{b[i] | 0x80, 0}, b[i+1:]...)...)
				}
				if len(b) == 0 {
					break
				}
			}
		} else {
			b = rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "bytes")
		}
		in := append([]byte{}, b...)
		op, err := Decode(b)
		if !bytes.Equal(in, b) {
			t.Fatalf("Decode changed its input")
		}
		if checkErr := Check(b); checkErr != err {
			t.Fatalf("Check(%x) = %v, Decode's error %v", b, checkErr, err)
		}
		if err != nil {
			return
		}
		if !op.wellFormed() {
			t.Fatalf("Decode accepted the ill-formed %+v", op)
		}
		if _, applyErr := Apply(newMapStore(t, nil), op); applyErr != nil {
			t.Fatalf("Apply of a decoded op failed: %v", applyErr)
		}
		if re := op.Encode(nil); !bytes.Equal(re, b) {
			t.Fatalf("Decode accepted %x as %+v, which encodes as %x", b, op, re)
		}
	})
}

func TestDecodeRejects(t *testing.T) {
	valid := (&Op{Kind: Set, Keys: bs("k"), Values: bs("v")}).Encode(nil)
	cases := map[string][]byte{
		"empty":            {},
		"short":            {encodingVersion, byte(Get)},
		"version 0":        append([]byte{0}, valid[1:]...),
		"version 2":        append([]byte{2}, valid[1:]...),
		"unknown kind":     append([]byte{encodingVersion, 99}, valid[2:]...),
		"kind 0":           append([]byte{encodingVersion, 0}, valid[2:]...),
		"trailing byte":    append(append([]byte{}, valid...), 0),
		"truncated":        valid[:len(valid)-1],
		"huge key count":   {encodingVersion, byte(Get), 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"key past the end": {encodingVersion, byte(Get), 0, 0, 0, 1, 5, 'a'},
		"overlong delta":   {encodingVersion, byte(Get), 0, 0x80, 0x00, 0, 0, 0},
		"overlong size":    {encodingVersion, byte(Get), 0, 0, 0, 0x81, 0x00, 0x81, 0x00, 'a', 0},
		"limit past u32":   {encodingVersion, byte(Get), 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0},
	}
	for name, b := range cases {
		if op, err := Decode(b); err == nil {
			t.Errorf("%s: Decode(%x) = %+v, want an error", name, b, op)
		}
	}
}

func TestKindString(t *testing.T) {
	if got := Set.String(); got != "set" {
		t.Errorf("Set.String() = %q", got)
	}
	if got := Kind(200).String(); got != "kind(200)" {
		t.Errorf("Kind(200).String() = %q", got)
	}
}
