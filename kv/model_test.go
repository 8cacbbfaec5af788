// This file runs random operations through Apply on a map-backed Store and
// compares every result, and the whole store after every step, with an
// independent model of Redis strings written the plain way (strconv and
// math/big rather than ParseInt and overflow arithmetic).
package kv

import (
	"maps"
	"math"
	"math/big"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

// model is Redis's keyspace of strings.
type model map[string]string

// modelInt is Redis's reading of a value as an integer: the value must be
// exactly the canonical decimal form of an int64.
func modelInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && strconv.FormatInt(n, 10) == s
}

func TestApplyMatchesModel(t *testing.T) {
	keys := []string{"a", "b", "c", "n"}
	interesting := []string{"", "0", "1", "-1", "01", "-0", "+1", " 1", "x", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "hello"}
	key := rapid.SampledFrom(keys)
	value := rapid.OneOf(rapid.SampledFrom(interesting), rapid.StringN(0, 6, -1))
	delta := rapid.OneOf(rapid.Int64Range(-3, 3), rapid.SampledFrom([]int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}), rapid.Int64())
	keyList := rapid.SliceOfN(key, 1, 5)

	rapid.Check(t, func(t *rapid.T) {
		s := newMapStore(t, nil)
		m := model{}

		// apply runs op on both sides and compares the results.
		apply := func(op Op, want Result) {
			got, err := Apply(s, op)
			if err != nil {
				t.Fatalf("Apply(%s): %v", op.Kind, err)
			}
			if !resultEqual(got, want) {
				t.Fatalf("%s %q %q: got %s, model says %s", op.Kind, op.Keys, op.Values, fmtResult(got), fmtResult(want))
			}
		}
		get := func(k string) Result {
			if v, ok := m[k]; ok {
				return Result{Value: []byte(v)}
			}
			return Result{Nil: true}
		}

		t.Repeat(map[string]func(*rapid.T){
			"get": func(t *rapid.T) {
				k := key.Draw(t, "key")
				apply(Op{Kind: Get, Keys: bs(k)}, get(k))
			},
			"getdel": func(t *rapid.T) {
				k := key.Draw(t, "key")
				want := get(k)
				delete(m, k)
				apply(Op{Kind: GetDel, Keys: bs(k)}, want)
			},
			"strlen": func(t *rapid.T) {
				k := key.Draw(t, "key")
				apply(Op{Kind: StrLen, Keys: bs(k)}, Result{Int: int64(len(m[k]))})
			},
			"exists": func(t *rapid.T) {
				ks := keyList.Draw(t, "keys")
				var n int64
				for _, k := range ks {
					if _, ok := m[k]; ok {
						n++
					}
				}
				apply(Op{Kind: Exists, Keys: bs(ks...)}, Result{Int: n})
			},
			"del": func(t *rapid.T) {
				ks := keyList.Draw(t, "keys")
				var n int64
				for _, k := range ks {
					if _, ok := m[k]; ok {
						n++
						delete(m, k)
					}
				}
				apply(Op{Kind: Del, Keys: bs(ks...)}, Result{Int: n})
			},
			"mget": func(t *rapid.T) {
				ks := keyList.Draw(t, "keys")
				want := Result{Values: make([][]byte, len(ks))}
				for i, k := range ks {
					if v, ok := m[k]; ok {
						want.Values[i] = []byte(v)
					}
				}
				apply(Op{Kind: MGet, Keys: bs(ks...)}, want)
			},
			"dbsize": func(t *rapid.T) {
				apply(Op{Kind: DBSize}, Result{Int: int64(len(m))})
			},
			"set": func(t *rapid.T) {
				k, v := key.Draw(t, "key"), value.Draw(t, "value")
				nx, xx, withGet := rapid.Bool().Draw(t, "nx"), rapid.Bool().Draw(t, "xx"), rapid.Bool().Draw(t, "get")
				if nx && xx {
					t.Skip("Redis refuses NX with XX before it reaches the state machine")
				}
				var flags SetFlags
				if nx {
					flags |= SetNX
				}
				if xx {
					flags |= SetXX
				}
				if withGet {
					flags |= SetGet
				}
				old, exists := m[k]
				doIt := !(nx && exists) && !(xx && !exists)
				var want Result
				switch {
				case withGet && exists:
					want.Value = []byte(old)
				case withGet, !doIt:
					want.Nil = true
				}
				if doIt {
					m[k] = v
				}
				apply(Op{Kind: Set, Flags: flags, Keys: bs(k), Values: bs(v)}, want)
			},
			"mset": func(t *rapid.T) {
				ks := keyList.Draw(t, "keys")
				vs := make([]string, len(ks))
				for i, k := range ks {
					vs[i] = value.Draw(t, "value")
					m[k] = vs[i]
				}
				apply(Op{Kind: MSet, Keys: bs(ks...), Values: bs(vs...)}, Result{})
			},
			"incrby": func(t *rapid.T) {
				k, d := key.Draw(t, "key"), delta.Draw(t, "delta")
				var want Result
				old := int64(0)
				if v, ok := m[k]; ok {
					n, isInt := modelInt(v)
					if !isInt {
						want.Err = ErrNotInteger
					}
					old = n
				}
				if want.Err == nil {
					sum := new(big.Int).Add(big.NewInt(old), big.NewInt(d))
					if !sum.IsInt64() {
						want.Err = ErrOverflow
					} else {
						want.Int = sum.Int64()
						m[k] = sum.String()
					}
				}
				apply(Op{Kind: IncrBy, Keys: bs(k), Delta: d}, want)
			},
			"append": func(t *rapid.T) {
				k, v := key.Draw(t, "key"), value.Draw(t, "value")
				limit := rapid.SampledFrom([]uint32{0, 4, 8, 64}).Draw(t, "limit")
				joined := m[k] + v
				var want Result
				if limit > 0 && len(joined) > int(limit) {
					want.Err = ErrValueTooLarge
				} else {
					want.Int = int64(len(joined))
					m[k] = joined
				}
				apply(Op{Kind: Append, Keys: bs(k), Values: bs(v), ValueBytesMax: limit}, want)
			},
			"": func(t *rapid.T) {
				if got := model(s.strings()); !maps.Equal(got, m) {
					t.Fatalf("store %v, model %v", got, m)
				}
			},
		})
	})
}
