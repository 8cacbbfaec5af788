package kv

import (
	"errors"
	"math/big"
	"strings"
)

// INCRBYFLOAT, as Redis 7.0 computes it on x86-64: in C's long double
// (the x87 80-bit format: a 64-bit significand, exponents to ±16383),
// parsed by strtold and printed with "%.17Lf" less trailing zeros. A
// float64 would print 0.1+0.2 as 0.30000000000000004 where Redis prints
// 0.3, so the sum is taken in big.Float at 64 bits, rounded to nearest
// even as the x87 rounds.

// Errors of INCRBYFLOAT.
var (
	ErrNotFloat = errors.New("value is not a valid float")
	ErrNaNOrInf = errors.New("increment would produce NaN or Infinity")
)

const (
	longDoublePrec   = 64
	longDoubleMaxExp = 16384 // 2^16384 overflows
	longDoubleMinExp = -16445
	longDoubleChars  = 5 * 1024 // Redis's MAX_LONG_DOUBLE_CHARS
)

// ParseLongDouble parses b as Redis's string2ld does: what strtold takes
// whole, without leading space, not NaN, not overflowing or underflowing.
func ParseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= longDoubleChars {
		return nil, false
	}
	s := string(b)
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return nil, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return nil, false
	}
	lower := strings.ToLower(body)
	if lower == "inf" || lower == "infinity" {
		f := new(big.Float).SetInf(s[0] == '-')
		return f, true
	}
	if strings.HasPrefix(lower, "nan") || strings.HasPrefix(lower, "0b") || strings.HasPrefix(lower, "0o") || strings.ContainsAny(body, "_") || lower == "" {
		return nil, false
	}
	if strings.HasPrefix(lower, "0x") && !strings.Contains(lower, "p") {
		// strtold takes hex without an exponent; big.Float wants one.
		s += "p0"
	}
	f, _, err := big.ParseFloat(s, 0, longDoublePrec, big.ToNearestEven)
	if err != nil {
		return nil, false
	}
	if f.IsInf() || outOfRange(f) {
		return nil, false // ERANGE: strtold overflowed or underflowed
	}
	return f, true
}

// outOfRange reports whether f is past the long double's largest finite
// value or below its smallest subnormal (but not zero).
func outOfRange(f *big.Float) bool {
	if f.Sign() == 0 || f.IsInf() {
		return false
	}
	exp := f.MantExp(nil)
	return exp > longDoubleMaxExp || exp < longDoubleMinExp
}

// FormatLongDouble prints f as Redis's ld2string(LD_STR_HUMAN): %.17Lf,
// then without trailing zeros or a trailing dot, and "-0" as "0".
func FormatLongDouble(f *big.Float) []byte {
	s := f.Text('f', 17)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return []byte(s)
}

// incrByFloat adds the increment Values[0] to Keys[0], keeping its deadline.
func incrByFloat(s Store, op Op) (Result, error) {
	incr, ok := ParseLongDouble(op.Values[0])
	if !ok {
		return Result{Err: ErrNotFloat}, nil
	}
	sl, err := lookup(s, op.Keys[0])
	if err != nil {
		return Result{}, err
	}
	cur := new(big.Float).SetPrec(longDoublePrec)
	var when int64
	if sl.live {
		when = sl.stored.Deadline
		v, ok := ParseLongDouble(sl.stored.Value)
		if !ok {
			return Result{Err: ErrNotFloat}, nil
		}
		cur = v
	}
	if cur.IsInf() || incr.IsInf() {
		return Result{Err: ErrNaNOrInf}, nil
	}
	sum := new(big.Float).SetPrec(longDoublePrec).SetMode(big.ToNearestEven).Add(cur, incr)
	if sum.IsInf() || sum.Sign() != 0 && sum.MantExp(nil) > longDoubleMaxExp {
		return Result{Err: ErrNaNOrInf}, nil
	}
	out := FormatLongDouble(sum)
	return Result{Value: out}, put(s, op.Keys[0], sl, out, when)
}
