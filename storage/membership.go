package storage

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Membership is state-machine state, kept with the data it governs:
//
//   - m/conf holds raft's ConfState as of the applied index. raft reads it
//     back through InitialState at restart, and every snapshot carries it,
//     so a snapshot made after a membership change describes the new
//     members (a learner refuses a snapshot that does not list it).
//   - c/<be64 node id> holds the identity that node has in the cluster,
//     then the identities it had before (retired). A node whose disk was
//     wiped comes back with a new identity, and peers drop messages from
//     a retired one. Members of the first configuration have identity 0,
//     so nothing is written for them until they rejoin.
//   - m/identity is this store's own identity: 0 for a store made by
//     bootstrap, a random non-zero value for one made to rejoin.
var (
	keyConfState    = []byte("m/conf")
	keyIdentity     = []byte("m/identity")
	prefixMember    = []byte("c/")
	prefixMemberEnd = []byte("c0")
	memberKeyLen    = len(prefixMember) + 8
)

func memberKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, prefixMember...), id)
}

// loadMembership reads the applied ConfState, the member identities and
// the store's own identity.
func (s *Store) loadMembership() error {
	s.conf = &pb.ConfState{}
	found, err := s.getProtoFound(keyConfState, s.conf)
	if err != nil {
		return err
	}
	if !found || s.confFromBase {
		// Written before m/conf existed: membership never changed then,
		// so the log base's is the current one.
		s.conf = proto.Clone(s.base.GetConfState()).(*pb.ConfState)
	}
	if s.identity, _, err = s.getUint64(keyIdentity); err != nil {
		return err
	}
	if err := s.loadNewMember(); err != nil {
		return err
	}
	return s.loadMembers()
}

// member is what the state machine knows of one node's identities.
type member struct {
	identity uint64
	retired  []uint64 // identities it had before, oldest first
	flags    byte     // memberUnclaimed, memberRejoinAsVoter
}

// A member record's flags (claim.go), stored as one byte after the
// identities when any is set: a record of 8k bytes has none, one of
// 8k+1 carries them.
const (
	// memberUnclaimed: added by ADDNODE, and no process has run under
	// an identity of it yet.
	memberUnclaimed byte = 1
	// memberRejoinAsVoter: a rejoin removed this member while it was a
	// voter (or while an earlier such rejoin was unfinished): the
	// rejoin ends with its promotion.
	memberRejoinAsVoter byte = 2
)

func (m member) encode() []byte {
	b := uint64Value(m.identity)
	for _, r := range m.retired {
		b = binary.BigEndian.AppendUint64(b, r)
	}
	if m.flags != 0 {
		b = append(b, m.flags)
	}
	return b
}

func (s *Store) loadMembers() error {
	s.members = map[uint64]member{}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefixMember, UpperBound: prefixMemberEnd})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != memberKeyLen || len(v) < 8 || len(v)%8 > 1 || len(v)%8 == 1 && v[len(v)-1] == 0 {
			_ = it.Close()
			return fmt.Errorf("storage: malformed member record %x=%x", k, v)
		}
		var m member
		if len(v)%8 == 1 {
			m.flags, v = v[len(v)-1], v[:len(v)-1]
		}
		m.identity = binary.BigEndian.Uint64(v)
		for i := 8; i < len(v); i += 8 {
			m.retired = append(m.retired, binary.BigEndian.Uint64(v[i:]))
		}
		s.members[binary.BigEndian.Uint64(k[len(prefixMember):])] = m
	}
	return it.Close()
}

// ConfState returns the membership as of the applied index.
func (s *Store) ConfState() *pb.ConfState { return s.conf }

// MemberIdentity returns the identity the cluster knows node id by, as of
// the applied index: 0 for a member of the first configuration.
func (s *Store) MemberIdentity(id uint64) uint64 { return s.members[id].identity }

// IsRetired reports whether node id had identity before it last rejoined
// (as of the applied index): a message from it is from a former self.
func (s *Store) IsRetired(id, identity uint64) bool {
	return slices.Contains(s.members[id].retired, identity)
}

// Identity returns this store's identity: 0 if it was bootstrapped.
func (s *Store) Identity() uint64 { return s.identity }

// IsJoining reports whether the store was made to rejoin a cluster and
// has not yet received its first snapshot.
func (s *Store) IsJoining() bool { return (s.identity != 0 || s.newMember) && s.IsEmpty() }

// BecomeJoiner marks an empty store as one that rejoins an existing
// cluster under identity, which must not be 0. The mark is durable, so a
// restart keeps rejoining under the same identity instead of
// bootstrapping.
func (s *Store) BecomeJoiner(identity uint64) error {
	if !s.IsEmpty() || identity == 0 {
		return fmt.Errorf("storage: only an empty store can become a joiner, with a non-zero identity")
	}
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(keySchema, uint64Value(SchemaVersion), nil)
	_ = b.Set(keyIdentity, uint64Value(identity), nil)
	if err := s.commitRaw(b); err != nil {
		return err
	}
	s.identity = identity
	return nil
}

// LastSessionIncarnation returns the highest incarnation among the
// sessions of proposer origin that the state machine remembers (0 if
// none). A store that received its data from a peer must number its own
// sessions past these: they may be from a wiped incarnation of itself.
func (s *Store) LastSessionIncarnation(origin uint64) (uint64, error) {
	lo := binary.BigEndian.AppendUint64(append([]byte{}, prefixSession...), origin)
	hi := binary.BigEndian.AppendUint64(append([]byte{}, prefixSession...), origin+1)
	var last uint64
	err := recoverFatal(func() error {
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return err
		}
		if it.Last() && len(it.Key()) == len(lo)+8 {
			last = binary.BigEndian.Uint64(it.Key()[len(lo):])
		}
		return it.Close()
	})
	return last, err
}

// SetConfState records the membership that applying this batch's entries
// produced.
//
// Until the batch commits, Snapshot reports a snapshot temporarily
// unavailable: raft may ask for one while the change is being applied (to
// catch up a member it just added), and a snapshot then would still
// describe the old membership, which the new member would refuse.
// ConfState returns the membership as of this batch: the one it sets, or
// the store's.
func (b *Batch) ConfState() *pb.ConfState {
	if b.conf != nil {
		return b.conf
	}
	return b.s.conf
}

func (b *Batch) SetConfState(cs *pb.ConfState) {
	b.s.confChanging = true
	b.conf = proto.Clone(cs).(*pb.ConfState)
	b.setProto(keyConfState, b.conf)
}

// SetMemberIdentity records that node id now has identity in the
// cluster; the identity it had before is retired. A recorded identity
// is a claimed one: the unclaimed mark goes.
func (b *Batch) SetMemberIdentity(id, identity uint64) {
	m := b.member(id)
	if m.identity == identity && m.flags&memberUnclaimed == 0 {
		return
	}
	if m.identity != identity && !slices.Contains(m.retired, m.identity) {
		m.retired = append(m.retired, m.identity)
	}
	m.identity = identity
	m.flags &^= memberUnclaimed
	b.setMember(id, m)
}

// member returns node id's record as of this batch, for changing.
func (b *Batch) member(id uint64) member {
	if m, ok := b.members[id]; ok {
		return m
	}
	m := b.s.members[id]
	m.retired = slices.Clone(m.retired)
	return m
}

func (b *Batch) setMember(id uint64, m member) {
	if b.members == nil {
		b.members = map[uint64]member{}
	}
	if _, ok := b.members[id]; !ok {
		b.memberOrder = append(b.memberOrder, id)
	}
	b.members[id] = m
	_ = b.engine().Set(memberKey(id), m.encode(), nil)
}

// commitMembership makes the batch's membership changes visible once it
// is durable.
func (b *Batch) commitMembership() {
	if b.conf != nil {
		b.s.conf = b.conf
	}
	for _, id := range b.memberOrder {
		b.s.members[id] = b.members[id]
	}
}
