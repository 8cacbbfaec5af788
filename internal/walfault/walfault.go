// Package walfault damages Pebble write-ahead logs the two ways a disk
// does, for tests and the simulator: a torn tail (bytes that were written
// but never synced, cut anywhere) and a flipped byte inside data that was
// synced. It reads the WAL's chunk format (pebble/record) itself, so it
// can aim a flip at a chunk that a later, synced chunk vouches for: only
// there can Pebble tell damage from a torn tail (FormatWALSyncChunks).
package walfault

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// blockSize is pebble/record's block: a chunk never crosses one, and
// Pebble reads ahead for a vouching chunk only in the blocks after the
// damaged one.
const blockSize = 32 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// chunk is one intact chunk of a WAL file.
type chunk struct {
	block        int
	start, end   int64 // the whole chunk, header included, in the file
	payloadStart int64
	syncedOffset uint64 // 0 unless the chunk has the sync wire format
}

// headerSize returns the header length of a chunk encoding, 0 if unknown.
func headerSize(encoding byte) int {
	switch {
	case encoding >= 1 && encoding <= 4:
		return 7
	case encoding >= 5 && encoding <= 8:
		return 11
	case encoding >= 9 && encoding <= 12:
		return 19
	}
	return 0
}

// chunks lists the intact chunks of log logNum, block by block, stopping
// in each block at the first chunk that does not check out.
func chunks(data []byte, logNum uint32) []chunk {
	var out []chunk
	for b := 0; b*blockSize < len(data); b++ {
		blk := data[b*blockSize : min(len(data), (b+1)*blockSize)]
		for off := 0; off+7 <= len(blk); {
			hs := headerSize(blk[off+6])
			length := int(binary.LittleEndian.Uint16(blk[off+4:]))
			if hs == 0 || off+hs+length > len(blk) {
				break
			}
			if hs >= 11 && binary.LittleEndian.Uint32(blk[off+7:]) != logNum {
				break
			}
			c := crc32.Update(0, castagnoli, blk[off+6:off+hs+length])
			if binary.LittleEndian.Uint32(blk[off:]) != (c>>15|c<<17)+0xa282ead8 {
				break
			}
			base := int64(b * blockSize)
			ch := chunk{block: b, start: base + int64(off), end: base + int64(off+hs+length), payloadStart: base + int64(off+hs)}
			if hs == 19 {
				ch.syncedOffset = binary.LittleEndian.Uint64(blk[off+11:])
			}
			out = append(out, ch)
			off += hs + length
		}
	}
	return out
}

// VouchedRange returns the payload of each chunk of log logNum that a
// chunk in a later block vouches for (it promises the log was synced past
// the chunk's end): the bytes a flip in which Pebble must refuse.
//
// A log without sync chunks (Pebble's older formats) vouches for nothing;
// for it, the chunks in blocks before the last one stand in: the same
// bytes a vouching log would protect, so a test of the old format shows
// what the flip does there.
func VouchedRange(data []byte, logNum uint32) [][2]int64 {
	cs := chunks(data, logNum)
	var out [][2]int64
	if !hasSyncChunks(cs) {
		for _, x := range cs {
			if x.end > x.payloadStart && x.block < cs[len(cs)-1].block {
				out = append(out, [2]int64{x.payloadStart, x.end})
			}
		}
		return out
	}
	for i, x := range cs {
		if x.end <= x.payloadStart {
			continue
		}
		for _, c := range cs[i+1:] {
			if c.block > x.block && c.syncedOffset > uint64(x.end) {
				out = append(out, [2]int64{x.payloadStart, x.end})
				break
			}
		}
	}
	return out
}

func hasSyncChunks(cs []chunk) bool {
	for _, c := range cs {
		if c.syncedOffset > 0 {
			return true
		}
	}
	return false
}

// NewestLog returns the name (in dir) and number of the newest WAL file:
// the one Pebble replays last, where it tolerates a torn tail.
func NewestLog(fs vfs.FS, dir string) (name string, num uint32, ok bool, err error) {
	names, err := fs.List(dir)
	if err != nil {
		return "", 0, false, err
	}
	sort.Strings(names)
	for _, n := range names {
		stem, isLog := strings.CutSuffix(n, ".log")
		if !isLog {
			continue
		}
		v, perr := strconv.ParseUint(stem, 10, 32)
		if perr != nil {
			continue
		}
		if !ok || uint32(v) > num {
			name, num, ok = n, uint32(v), true
		}
	}
	return name, num, ok, nil
}

// ReadFile returns the contents of path on fs.
func ReadFile(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// WriteFile replaces path on fs with data, synced.
func WriteFile(fs vfs.FS, path string, data []byte) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// FlipSynced flips one byte of the newest WAL in dir, inside a chunk a
// later synced chunk vouches for; pick chooses the byte among n
// candidates. It reports the file and offset, or ok=false when the log
// has no such chunk (it is too short: the flip would look like a torn
// tail, and Pebble could not tell).
func FlipSynced(fs vfs.FS, dir string, pick func(n int64) int64) (file string, offset int64, ok bool, err error) {
	name, num, found, err := NewestLog(fs, dir)
	if err != nil || !found {
		return "", 0, false, err
	}
	path := fs.PathJoin(dir, name)
	data, err := ReadFile(fs, path)
	if err != nil {
		return "", 0, false, err
	}
	ranges := VouchedRange(data, num)
	var total int64
	for _, r := range ranges {
		total += r[1] - r[0]
	}
	if total == 0 {
		return "", 0, false, nil
	}
	at := pick(total)
	for _, r := range ranges {
		if at < r[1]-r[0] {
			offset = r[0] + at
			break
		}
		at -= r[1] - r[0]
	}
	data[offset] ^= 0x5a
	if err := WriteFile(fs, path, data); err != nil {
		return "", 0, false, err
	}
	return name, offset, true, nil
}

// CutTail truncates the newest WAL in dir to length (never below synced,
// the length that was synced): a crash that kept part of the last write.
func CutTail(fs vfs.FS, dir string, synced, length int64) error {
	name, _, found, err := NewestLog(fs, dir)
	if err != nil || !found {
		return err
	}
	if length < synced {
		return fmt.Errorf("walfault: cut at %d inside the synced %d bytes", length, synced)
	}
	path := fs.PathJoin(dir, name)
	data, err := ReadFile(fs, path)
	if err != nil {
		return err
	}
	if length >= int64(len(data)) {
		return nil
	}
	return WriteFile(fs, path, data[:length])
}

// LogSize returns the size of the newest WAL in dir (0 if none).
func LogSize(fs vfs.FS, dir string) (int64, error) {
	name, _, found, err := NewestLog(fs, dir)
	if err != nil || !found {
		return 0, err
	}
	st, err := fs.Stat(fs.PathJoin(dir, name))
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
