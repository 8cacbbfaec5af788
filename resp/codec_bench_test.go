package resp

import (
	"fmt"
	"testing"
)

// The codec's share of a pipelined write: parsing 16 SETs as one read
// brings them, and formatting their 16 replies (make bench-go).

func BenchmarkParsePipeline16(b *testing.B) {
	var in []byte
	value := make([]byte, 64)
	for i := range 16 {
		in = AppendCommand(in, []byte("SET"), fmt.Appendf(nil, "key:%06d", i), value)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for range b.N {
		rest := in
		for len(rest) > 0 {
			var err error
			if _, rest, err = ParseCommand(rest); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkRepliesPipeline16(b *testing.B) {
	dst := make([]byte, 0, 1024)
	value := make([]byte, 64)
	b.ReportAllocs()
	for range b.N {
		dst = dst[:0]
		for range 8 {
			dst = AppendSimple(dst, "OK")
			dst = AppendBulk(dst, value)
		}
	}
}
