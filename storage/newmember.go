package storage

// A new member is a store made empty to join a cluster that an operator
// grows (CLUSTER ADDNODE) under identity 0. Since claims (node/claim.go)
// only the TEST ONLY knob UnsafeNewLearnerVerdict makes one; a store an
// older binary made so is turned into a joiner at open (node.New). The
// mark is durable, so a restart before its first snapshot waits to be
// added again instead of bootstrapping a cluster of its own.
var keyNewMember = []byte("m/newmember")

func (s *Store) loadNewMember() error {
	v, _, err := s.getUint64(keyNewMember)
	s.newMember = v == 1
	return err
}

// BecomeNewMember marks an empty store as one that waits to be added to a
// cluster (IsJoining), under identity 0.
func (s *Store) BecomeNewMember() error {
	if !s.IsEmpty() {
		return errNotEmptyForJoin
	}
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(keySchema, uint64Value(SchemaVersion), nil)
	_ = b.Set(keyNewMember, uint64Value(1), nil)
	if err := s.commitRaw(b); err != nil {
		return err
	}
	s.newMember = true
	return nil
}

// IsNewMember reports whether the store was made a new member and holds
// no identity of its own.
func (s *Store) IsNewMember() bool { return s.newMember && s.identity == 0 }
