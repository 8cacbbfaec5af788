package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Member records: what the state machine knows of each node an operator
// added or removed (node/memberchange.go), under n/<be64 node id>. They
// are state-machine state, so every replica holds them at the same index
// and snapshots carry them (snapshotSpans): no node needs the list of
// addresses in its config once the cluster exists. Members of the first
// configuration have no record until an operator changes them.
//
// A record starts with its format version, so a later layout can be told
// apart; a version this binary does not know is refused, not guessed.
var (
	prefixMemberInfo    = []byte("n/")
	prefixMemberInfoEnd = []byte("n0")
)

// memberInfoVersion is the record layout this binary writes: version,
// state, then the peer and client addresses, each uvarint-length-prefixed.
const memberInfoVersion = 1

// MemberState is where a recorded node stands.
type MemberState uint8

const (
	MemberActive  MemberState = 1 // added, as learner or voter: raft's ConfState says which
	MemberRemoved MemberState = 2 // removed: its id is never given out again
)

// MemberInfo is one node's record.
type MemberInfo struct {
	ID         uint64
	State      MemberState
	PeerAddr   string // where peers reach it
	ClientAddr string // where clients reach it (RESP)
}

func memberInfoKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, prefixMemberInfo...), id)
}

func (m MemberInfo) encode() []byte {
	b := []byte{memberInfoVersion, byte(m.State)}
	b = binary.AppendUvarint(b, uint64(len(m.PeerAddr)))
	b = append(b, m.PeerAddr...)
	b = binary.AppendUvarint(b, uint64(len(m.ClientAddr)))
	return append(b, m.ClientAddr...)
}

var errMemberInfo = errors.New("storage: malformed member record")

func decodeMemberInfo(k, v []byte) (MemberInfo, error) {
	if len(k) != len(prefixMemberInfo)+8 || len(v) < 2 {
		return MemberInfo{}, errMemberInfo
	}
	if v[0] != memberInfoVersion {
		return MemberInfo{}, fmt.Errorf("storage: member record of version %d; this binary reads version %d", v[0], memberInfoVersion)
	}
	m := MemberInfo{ID: binary.BigEndian.Uint64(k[len(prefixMemberInfo):]), State: MemberState(v[1])}
	if m.State != MemberActive && m.State != MemberRemoved {
		return MemberInfo{}, errMemberInfo
	}
	rest := v[2:]
	for _, field := range []*string{&m.PeerAddr, &m.ClientAddr} {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return MemberInfo{}, errMemberInfo
		}
		*field = string(rest[w : w+int(n)])
		rest = rest[w+int(n):]
	}
	if len(rest) != 0 {
		return MemberInfo{}, errMemberInfo
	}
	return m, nil
}

// MemberInfos returns every member record as of the last committed batch,
// in id order.
func (s *Store) MemberInfos() ([]MemberInfo, error) {
	var out []MemberInfo
	var bad error
	err := recoverFatal(func() error {
		return s.scan(&pebble.IterOptions{LowerBound: prefixMemberInfo, UpperBound: prefixMemberInfoEnd}, func(k, v []byte) {
			m, err := decodeMemberInfo(k, v)
			if err != nil {
				bad = err
				return
			}
			out = append(out, m)
		})
	})
	if err == nil {
		err = bad
	}
	return out, err
}

// MemberInfo returns node id's record, if it has one.
func (s *Store) MemberInfo(id uint64) (MemberInfo, bool, error) {
	all, err := s.MemberInfos()
	if err != nil {
		return MemberInfo{}, false, err
	}
	i := slices.IndexFunc(all, func(m MemberInfo) bool { return m.ID == id })
	if i < 0 {
		return MemberInfo{}, false, nil
	}
	return all[i], true, nil
}

// SetMemberInfo records m in the batch.
func (b *Batch) SetMemberInfo(m MemberInfo) {
	_ = b.engine().Set(memberInfoKey(m.ID), m.encode(), nil)
}

var errNotEmptyForJoin = errors.New("storage: only an empty store can wait to be added to a cluster")
