package storage

import (
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// entryCache keeps the newest log entries in memory, bounded in count and
// bytes. Raft reads back what it just appended (to apply it, and to send
// it to followers), so most reads hit the cache; the log itself lives in
// Pebble, and the cache is only ever a copy of its tail.
type entryCache struct {
	entries []*pb.Entry // consecutive indexes
	// sizes[i] is proto.Size(entries[i]), kept because every read of the
	// cache weighs the entries it returns against raft's byte limit.
	sizes []int
	bytes int
}

const (
	cacheEntriesMax = 4096
	cacheBytesMax   = 8 << 20
)

// append adds entries that were just made durable. They replace any
// cached entries at or after their first index, as the log's do.
func (c *entryCache) append(es []*pb.Entry) {
	first := es[0].GetIndex()
	if len(c.entries) > 0 {
		start := c.entries[0].GetIndex()
		switch {
		case first < start || first > start+uint64(len(c.entries)):
			c.entries, c.sizes, c.bytes = nil, nil, 0 // not contiguous with what is cached
		default:
			for _, n := range c.sizes[first-start:] {
				c.bytes -= n
			}
			clear(c.entries[first-start:])
			c.entries = c.entries[:first-start]
			c.sizes = c.sizes[:first-start]
		}
	}
	for _, e := range es {
		n := proto.Size(e)
		c.entries = append(c.entries, e)
		c.sizes = append(c.sizes, n)
		c.bytes += n
	}
	drop := 0
	for len(c.entries)-drop > cacheEntriesMax || (c.bytes > cacheBytesMax && len(c.entries)-drop > 1) {
		c.bytes -= c.sizes[drop]
		drop++
	}
	if drop > 0 {
		c.entries = append(c.entries[:0:0], c.entries[drop:]...)
		c.sizes = append(c.sizes[:0:0], c.sizes[drop:]...)
	}
}

// dropThrough forgets the entries up to index (compacted away).
func (c *entryCache) dropThrough(index uint64) {
	for len(c.entries) > 0 && c.entries[0].GetIndex() <= index {
		c.bytes -= c.sizes[0]
		c.entries = c.entries[1:]
		c.sizes = c.sizes[1:]
	}
}

// slice returns entries [lo, hi) within maxSize (at least one), if the
// cache holds all of them. The slice is the caller's; the entries are
// shared and never modified.
func (c *entryCache) slice(lo, hi, maxSize uint64) ([]*pb.Entry, bool) {
	if len(c.entries) == 0 || lo < c.entries[0].GetIndex() || hi > c.entries[0].GetIndex()+uint64(len(c.entries)) || lo >= hi {
		return nil, false
	}
	start := c.entries[0].GetIndex()
	out := make([]*pb.Entry, 0, hi-lo)
	var size uint64
	for i, e := range c.entries[lo-start : hi-start] {
		size += uint64(c.sizes[lo-start+uint64(i)])
		if len(out) > 0 && size > maxSize {
			break
		}
		out = append(out, e)
	}
	return out, true
}
