package node

import (
	"fmt"
	"math"
	"slices"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// checkConfChangeShape admits only the membership changes an honest
// leader proposes:
//
//   - one change, transition Auto: every operator change but Replace, and
//     a rejoiner's admission (membership.go);
//   - Replace's two (replace.go): add a voter, then remove another, with
//     an operator context, transition Auto (raft enters a joint
//     configuration and leaves it by itself);
//   - raft's own leave of that joint configuration, proposed with nil
//     data (isLeave; checkLeaves judges where it may stand).
//
// Anything else enters or leaves a joint configuration in a way Seshat
// never does, and raft could not apply some of them (FuzzForgedRaft).
// raft's EnterJoint panics on a transition out of its enum (FuzzForgedRaft,
// transition 48), so the field is judged here, before raft sees it.
func checkConfChangeShape(cc *pb.ConfChangeV2) error {
	if cc.GetTransition() != pb.ConfChangeTransition_ConfChangeTransitionAuto {
		return fmt.Errorf("a membership change with transition %s: Seshat lets raft leave its joint configurations by itself", cc.GetTransition())
	}
	chs := cc.GetChanges()
	switch len(chs) {
	case 0:
		return fmt.Errorf("a leave of a joint configuration with data: raft's own has none")
	case 1:
		return nil
	case 2:
		add, remove := chs[0], chs[1]
		if add.GetType() != pb.ConfChangeType_ConfChangeAddNode || remove.GetType() != pb.ConfChangeType_ConfChangeRemoveNode ||
			add.GetNodeId() == 0 || remove.GetNodeId() == 0 || add.GetNodeId() == remove.GetNodeId() {
			return fmt.Errorf("a membership change of two changes (%s %d, %s %d) that is no replacement", add.GetType(), add.GetNodeId(), remove.GetType(), remove.GetNodeId())
		}
		if _, ok := decodeMemberContext(cc.GetContext()); !ok {
			return fmt.Errorf("a replacement without an operator's context")
		}
		return nil
	}
	return fmt.Errorf("a membership change of %d changes: Seshat makes one at a time, or replaces one voter", len(chs))
}

// checkLeaves: raft's leave of a joint configuration is honest only
// where the log is in one: after an entry that entered it (a Replace)
// with no leave since, or past an applied joint configuration. raft
// cannot apply a leave anywhere else (FuzzForgedRaft seed 081db5f4dd5348f7
// committed one). The log is walked from the applied index, through this
// node's entries the append does not replace, then the append's own.
func (n *Node) checkLeaves(m *pb.Message) error {
	i := slices.IndexFunc(m.GetEntries(), isLeave)
	if i < 0 {
		return nil
	}
	if m.GetIndex() > n.store.LastIndexCached() {
		// raft refuses an append that does not follow its log, without
		// taking its entries; or it follows entries raft holds that the
		// store does not yet (appended this batch): not judged.
		return nil
	}
	applied := n.store.Applied()
	joint := len(n.store.ConfState().GetVotersOutgoing()) > 0
	if lo, hi := applied+1, min(m.GetIndex(), n.store.LastIndexCached()); lo <= hi {
		stored, err := n.store.Entries(lo, hi+1, math.MaxUint64)
		if err != nil {
			return dropped("append with a leave of a joint configuration: the log from %d cannot be read: %v", lo, err)
		}
		for _, e := range stored {
			joint = nextJoint(joint, e)
		}
	}
	for _, e := range m.GetEntries() {
		if e.GetIndex() <= applied {
			continue // applied already: the applied membership has it
		}
		if isLeave(e) && !joint {
			return dropped("append with a leave of a joint configuration at %d, where the log is in none", e.GetIndex())
		}
		joint = nextJoint(joint, e)
	}
	return nil
}

// nextJoint is whether the log is in a joint configuration after e,
// given joint before it.
func nextJoint(joint bool, e *pb.Entry) bool {
	if e.GetType() != pb.EntryType_EntryConfChangeV2 {
		return joint
	}
	cc := &pb.ConfChangeV2{}
	if proto.Unmarshal(e.GetData(), cc) != nil {
		return joint
	}
	switch len(cc.GetChanges()) {
	case 0:
		return false
	case 2:
		return true
	}
	return joint
}

// isLeave reports whether e is raft's leave of a joint configuration.
func isLeave(e *pb.Entry) bool {
	return e.GetType() == pb.EntryType_EntryConfChangeV2 && len(e.GetData()) == 0
}
