package resp

import (
	"bytes"
	"strconv"

	"github.com/seshat-db/seshat/kv"
)

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest
// common subsequence of two values, read through the linearizable read
// path like MGET and computed by Redis 7.0's dynamic programme, so the
// subsequence and the ranges it reports (which of several equally long
// ones) are the ones Redis picks.

// LCSTableBytesMax bounds the table LCS builds, (len(a)+1)*(len(b)+1)
// cells of 4 bytes. Redis bounds it by proto-max-bulk-len (512 MB); a
// node that serves every client from one loop cannot spend that much
// memory, or the time to fill it, on one read: 16 MB is two values of
// about 2,000 bytes each, filled in a few milliseconds.
const LCSTableBytesMax = 16 << 20

type lcsOptions struct {
	length, idx, withMatchLen bool
	minMatchLen               int64
}

func parseLCSOptions(args [][]byte) (lcsOptions, string) {
	var o lcsOptions
	for i := 0; i < len(args); i++ {
		switch opt := string(bytes.ToUpper(args[i])); {
		case opt == "IDX":
			o.idx = true
		case opt == "LEN":
			o.length = true
		case opt == "WITHMATCHLEN":
			o.withMatchLen = true
		case opt == "MINMATCHLEN" && i+1 < len(args):
			n, ok := kv.ParseInt(args[i+1])
			if !ok {
				return o, errNotInteger
			}
			o.minMatchLen = max(n, 0)
			i++
		default:
			return o, errSyntax
		}
	}
	if o.length && o.idx {
		return o, "ERR If you want both the length and indexes, please just use IDX."
	}
	return o, ""
}

func (e *Executor) lcsCmd(args [][]byte, reply func([]byte)) {
	o, msg := parseLCSOptions(args[3:])
	if msg != "" {
		replyErr(reply, msg)
		return
	}
	e.keysOp(args[:3], reply, kv.MGet, func(res kv.Result) []byte {
		return lcsReply(res.Values[0], res.Values[1], o)
	})
}

// lcsReply answers LCS for values a and b (nil when the key is missing,
// which Redis reads as empty).
func lcsReply(a, b []byte, o lcsOptions) []byte {
	cells := (int64(len(a)) + 1) * (int64(len(b)) + 1)
	if cells*4 > LCSTableBytesMax {
		return AppendError(nil, "ERR Insufficient memory, transient memory for LCS exceeds Seshat's bound of "+
			strconv.Itoa(LCSTableBytesMax)+" bytes ((len(a)+1)*(len(b)+1)*4)")
	}
	width := len(b) + 1
	table := make([]uint32, cells)
	at := func(i, j int) uint32 { return table[j+i*width] }
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				table[j+i*width] = at(i-1, j-1) + 1
			default:
				table[j+i*width] = max(at(i-1, j), at(i, j-1))
			}
		}
	}
	length := at(len(a), len(b))
	if o.length {
		return AppendInt(nil, int64(length))
	}

	// Walk back from the end, as Redis does: the subsequence is filled
	// from its last byte, and a run of matches contiguous in both
	// values becomes one range, reported when it ends (so the ranges
	// come last first).
	seq := make([]byte, length)
	var ranges []byte
	nRanges := 0
	const none = -1
	aStart, aEnd, bStart, bEnd := none, 0, 0, 0
	k := int(length)
	for i, j := len(a), len(b); i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			seq[k-1] = a[i-1]
			switch {
			case aStart == none:
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			case aStart == i && bStart == j:
				aStart, bStart = aStart-1, bStart-1
			default:
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			k, i, j = k-1, i-1, j-1
		} else {
			if at(i-1, j) > at(i, j-1) {
				i--
			} else {
				j--
			}
			emit = aStart != none
		}
		if !emit {
			continue
		}
		if matchLen := int64(aEnd - aStart + 1); o.idx && (o.minMatchLen == 0 || matchLen >= o.minMatchLen) {
			n := 2
			if o.withMatchLen {
				n = 3
			}
			ranges = AppendArray(ranges, n)
			ranges = appendRange(ranges, aStart, aEnd)
			ranges = appendRange(ranges, bStart, bEnd)
			if o.withMatchLen {
				ranges = AppendInt(ranges, matchLen)
			}
			nRanges++
		}
		aStart = none
	}
	if !o.idx {
		return AppendBulk(nil, seq)
	}
	out := AppendArray(nil, 4)
	out = AppendBulkString(out, "matches")
	out = AppendArray(out, nRanges)
	out = append(out, ranges...)
	out = AppendBulkString(out, "len")
	return AppendInt(out, int64(length))
}

func appendRange(dst []byte, start, end int) []byte {
	dst = AppendArray(dst, 2)
	dst = AppendInt(dst, int64(start))
	return AppendInt(dst, int64(end))
}
