package kv

import (
	"bytes"
	"testing"
)

// TestExpiry follows one key through the expiry commands at fixed
// cluster times, with the replies redis-server 7 gives.
func TestExpiry(t *testing.T) {
	s := newMapStore(t, nil)
	k := bs("k")
	step := func(now int64, op Op, want Result) {
		t.Helper()
		s.now = now
		op.Keys = k
		got, err := Apply(s, op)
		if err != nil || got.Err != want.Err || got.Int != want.Int || got.Nil != want.Nil || !bytes.Equal(got.Value, want.Value) {
			t.Fatalf("at %d %s %+v: got %+v, %v; want %+v", now, op.Kind, op, got, err, want)
		}
	}
	v := []byte("v")
	step(1000, Op{Kind: TTL}, Result{Int: -2})
	step(1000, Op{Kind: Set, Values: bs("v"), Exp: ExpRelative, Expiry: 500}, Result{})
	step(1100, Op{Kind: TTL}, Result{Int: 400})
	step(1100, Op{Kind: ExpireTime}, Result{Int: 1500})
	step(1499, Op{Kind: Get}, Result{Value: v})
	// A key reads as there one tick past its deadline (ExpirySlackMillis),
	// with no time left.
	step(1500, Op{Kind: TTL}, Result{Int: 0})
	step(1509, Op{Kind: Get}, Result{Value: v})
	step(1510, Op{Kind: Get}, Result{Nil: true})
	step(1510, Op{Kind: Exists}, Result{Int: 0})
	step(1510, Op{Kind: TTL}, Result{Int: -2})
	// The expired key is still stored until a write or active expiry
	// removes it: NX sees it absent.
	step(1510, Op{Kind: Set, Flags: SetNX, Values: bs("v"), Exp: ExpRelative, Expiry: 990}, Result{})
	step(1510, Op{Kind: IncrBy, Delta: 1}, Result{Err: ErrNotInteger})
	step(1600, Op{Kind: Append, Values: bs("w")}, Result{Int: 2})
	step(1600, Op{Kind: TTL}, Result{Int: 900}) // APPEND keeps the deadline
	step(1600, Op{Kind: Set, Values: bs("1"), Exp: ExpKeepTTL}, Result{})
	step(1600, Op{Kind: IncrBy, Delta: 1}, Result{Int: 2})
	step(1600, Op{Kind: TTL}, Result{Int: 900}) // INCR and KEEPTTL keep it
	step(1600, Op{Kind: Expire, Exp: ExpRelative | ExpNX, Expiry: 5000}, Result{Int: 0})
	step(1600, Op{Kind: Expire, Exp: ExpRelative | ExpGT, Expiry: 100}, Result{Int: 0})
	step(1600, Op{Kind: Expire, Exp: ExpRelative | ExpGT, Expiry: 5000}, Result{Int: 1})
	step(1600, Op{Kind: Expire, Exp: ExpAbsolute | ExpLT, Expiry: 7000}, Result{Int: 0})
	step(1600, Op{Kind: Expire, Exp: ExpAbsolute | ExpLT, Expiry: 3000}, Result{Int: 1})
	step(1600, Op{Kind: ExpireTime}, Result{Int: 3000})
	step(1600, Op{Kind: Persist}, Result{Int: 1})
	step(1600, Op{Kind: Persist}, Result{Int: 0})
	step(1600, Op{Kind: Expire, Exp: ExpRelative | ExpXX, Expiry: 100}, Result{Int: 0})
	step(1600, Op{Kind: Expire, Exp: ExpRelative | ExpLT, Expiry: 100}, Result{Int: 1}) // none counts as infinite
	step(1600, Op{Kind: GetEx, Exp: ExpPersist}, Result{Value: []byte("2")})
	step(1600, Op{Kind: TTL}, Result{Int: -1})
	step(1600, Op{Kind: GetEx, Exp: ExpRelative, Expiry: 10}, Result{Value: []byte("2")})
	step(1605, Op{Kind: TTL}, Result{Int: 5})
	step(1605, Op{Kind: Set, Values: bs("x")}, Result{})
	step(1605, Op{Kind: TTL}, Result{Int: -1}) // SET clears it
	step(1605, Op{Kind: Expire, Exp: ExpRelative, Expiry: 1 << 62}, Result{Int: 1})
	step(1605, Op{Kind: Expire, Exp: ExpRelative, Expiry: 1<<63 - 1}, Result{Err: ErrInvalidExpire})
	step(1605, Op{Kind: Expire, Exp: ExpRelative, Expiry: -1}, Result{Int: 1}) // a past deadline deletes
	if len(s.m) != 0 {
		t.Fatalf("store holds %v after EXPIRE into the past", s.strings())
	}
	step(1605, Op{Kind: Expire, Exp: ExpRelative, Expiry: 10}, Result{Int: 0})
	step(1605, Op{Kind: Set, Values: bs("v"), Exp: ExpAbsolute, Expiry: 1700}, Result{})
	step(1710, Op{Kind: Set, Flags: SetXX, Values: bs("w")}, Result{Nil: true})
	step(1710, Op{Kind: Del}, Result{Int: 0}) // deleted, not counted
	if len(s.m) != 0 {
		t.Fatalf("DEL of an expired key left %v", s.strings())
	}
	step(1710, Op{Kind: Set, Values: bs("v"), Exp: ExpAbsolute, Expiry: 1800}, Result{})
	s.now = 1809
	if res, _ := Apply(s, Op{Kind: ExpireKeys, Keys: k}); res.Int != 0 || len(s.m) != 1 {
		t.Fatalf("ExpireKeys deleted a live key: %+v", res)
	}
	s.now = 1810
	if res, _ := Apply(s, Op{Kind: ExpireKeys, Keys: k}); res.Int != 1 || len(s.m) != 0 {
		t.Fatalf("ExpireKeys kept a due key: %+v", res)
	}
}

func TestExpiryEncodingKeepsOldOps(t *testing.T) {
	plain := Op{Kind: Set, Keys: bs("k"), Values: bs("v")}
	if b := plain.Encode(nil); b[0] != encodingVersion {
		t.Fatalf("an op without expiry encodes as version %d", b[0])
	}
	withTTL := Op{Kind: Set, Keys: bs("k"), Values: bs("v"), Exp: ExpRelative, Expiry: 100}
	got, err := Decode(withTTL.Encode(nil))
	if err != nil || !sameOp(got, withTTL) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []Op{
		{Kind: Get, Keys: bs("k"), Exp: ExpRelative, Expiry: 1},
		{Kind: Set, Keys: bs("k"), Values: bs("v"), Exp: ExpRelative | ExpKeepTTL, Expiry: 1},
		{Kind: Expire, Keys: bs("k"), Exp: ExpRelative | ExpNX | ExpGT, Expiry: 1},
		{Kind: Expire, Keys: bs("k"), Exp: ExpRelative | ExpGT | ExpLT, Expiry: 1},
		{Kind: Expire, Keys: bs("k")},
	} {
		if _, err := Decode(bad.Encode(nil)); err == nil {
			t.Errorf("%+v decoded", bad)
		}
	}
}
