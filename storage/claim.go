package storage

// Claims (node/claim.go): a member an operator added (CLUSTER ADDNODE)
// starts unclaimed, with identity 0 that no process ever runs under;
// the first process that asks records its own random identity, once, in
// a replicated entry. Whether a claim takes effect is decided at apply
// from the record alone, so every replica decides alike.

// IsUnclaimed reports whether node id was added by ADDNODE and no
// identity of it is recorded yet, as of the applied index.
func (s *Store) IsUnclaimed(id uint64) bool {
	m := s.members[id]
	return m.flags&memberUnclaimed != 0 && m.identity == 0
}

// RejoinsAsVoter reports whether a rejoin removed node id while it was a
// voter and has not promoted it back yet, as of the applied index.
func (s *Store) RejoinsAsVoter(id uint64) bool {
	return s.members[id].flags&memberRejoinAsVoter != 0
}

// MarkUnclaimed records that node id, just added by an operator, has no
// process yet. A node that had a record (a member, or a former one) is
// left as it is: its identities may have run.
func (b *Batch) MarkUnclaimed(id uint64) {
	m := b.member(id)
	if m.identity != 0 || len(m.retired) != 0 || m.flags != 0 {
		return
	}
	m.flags |= memberUnclaimed
	b.setMember(id, m)
}

// Claim records identity for node id if its record is still unclaimed,
// and reports whether it did: a later claim, or one for a member whose
// record moved on, changes nothing.
func (b *Batch) Claim(id, identity uint64) bool {
	m := b.member(id)
	if identity == 0 || m.flags&memberUnclaimed == 0 || m.identity != 0 {
		return false
	}
	b.SetMemberIdentity(id, identity)
	return true
}

// SetRejoinAsVoter records whether the rejoin of node id must end with
// its promotion.
func (b *Batch) SetRejoinAsVoter(id uint64, on bool) {
	m := b.member(id)
	flags := m.flags &^ memberRejoinAsVoter
	if on {
		flags |= memberRejoinAsVoter
	}
	if flags != m.flags {
		m.flags = flags
		b.setMember(id, m)
	}
}

// RejoinsAsVoter is Store.RejoinsAsVoter as of this batch.
func (b *Batch) RejoinsAsVoter(id uint64) bool {
	return b.member(id).flags&memberRejoinAsVoter != 0
}
