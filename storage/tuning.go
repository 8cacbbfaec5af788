package storage

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// tuneReads sets what a point read of a user key costs (BenchmarkGetAged).
func tuneReads(opts *pebble.Options, o Options) {
	switch {
	case o.BlockCacheBytes > 0:
		opts.CacheSize = o.BlockCacheBytes
	case o.BlockCacheBytes == 0:
		opts.CacheSize = BlockCacheBytesDefault
	}
	if !o.NoBloomFilters {
		for i := range opts.Levels {
			opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		}
	}
}
