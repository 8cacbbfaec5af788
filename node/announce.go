package node

import (
	"encoding/binary"
	"slices"
)

// Every member's addresses are replicated state (storage/memberinfo.go),
// so any node can tell a client where every other one is (CLUSTER NODES,
// SLOTS, SHARDS) and a node added later needs no list of addresses in its
// config. A node added by CLUSTER ADDNODE gets its record with the change;
// the members of the first configuration, and a node whose addresses
// changed, announce their own: a member whose record differs from
// Config.AdvertisePeerAddr and AdvertiseClientAddr asks the leader, once
// per election timeout, to record them. The leader records them as an
// operator change would, through raft's one change at a time: a
// ConfChangeV2 that adds the node as what it already is (which changes
// nothing in raft) and carries the addresses in its context.

// announceBody is a peerAnnounce's body: the sender's peer and client
// addresses.
func announceBody(peerAddr, clientAddr string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(peerAddr)))
	b = append(b, peerAddr...)
	b = binary.AppendUvarint(b, uint64(len(clientAddr)))
	return append(b, clientAddr...)
}

func decodeAnnounce(body []byte) (peerAddr, clientAddr string, ok bool) {
	r := byteReader{b: body}
	peerAddr = string(r.bytes(r.uvarint()))
	clientAddr = string(r.bytes(r.uvarint()))
	return peerAddr, clientAddr, r.err == nil && len(r.b) == 0 && peerAddr != "" && clientAddr != ""
}

// maxAnnouncedAddr bounds an announced address: a host name and a port.
const maxAnnouncedAddr = 300

// announce runs at every tick: once per election timeout, a member whose
// record does not hold its advertised addresses asks the leader to record
// them (or proposes it, if it leads).
func (n *Node) announce() {
	c := n.cfg
	if c.AdvertiseClientAddr == "" || c.AdvertisePeerAddr == "" || n.ticks%uint64(c.ElectionTicks) != 0 ||
		n.store.IsJoining() || n.removedSelf() || n.lead == 0 || !n.recordDiffers(c.ID, c.AdvertisePeerAddr, c.AdvertiseClientAddr) {
		return
	}
	if n.isLeader {
		n.recordAddresses(c.ID, c.AdvertisePeerAddr, c.AdvertiseClientAddr)
		return
	}
	n.send(n.lead, peerAnnounce, announceBody(c.AdvertisePeerAddr, c.AdvertiseClientAddr))
}

// recordDiffers reports whether id is a member whose record does not hold
// these addresses.
func (n *Node) recordDiffers(id uint64, peerAddr, clientAddr string) bool {
	cs := n.store.ConfState()
	if !slices.Contains(cs.GetVoters(), id) && !slices.Contains(cs.GetLearners(), id) {
		return false
	}
	info, found, err := n.store.MemberInfo(id)
	return err == nil && (!found || info.PeerAddr != peerAddr || info.ClientAddr != clientAddr)
}

// onAnnounce: a member asks this leader to record its addresses.
func (n *Node) onAnnounce(from uint64, body []byte) {
	peerAddr, clientAddr, ok := decodeAnnounce(body)
	if !ok || len(peerAddr) > maxAnnouncedAddr || len(clientAddr) > maxAnnouncedAddr || !n.isLeader || n.removedSelf() {
		return
	}
	n.recordAddresses(from, peerAddr, clientAddr)
}

// recordAddresses proposes id's record, if it differs and no other change
// is under way (the member asks again an election timeout later).
func (n *Node) recordAddresses(id uint64, peerAddr, clientAddr string) {
	if n.store.IsJoining() || !n.recordDiffers(id, peerAddr, clientAddr) {
		return
	}
	ch := MemberChange{Kind: Announce, ID: id, PeerAddr: peerAddr, ClientAddr: clientAddr}
	n.ChangeMembership(ch, func(err error) {
		if err != nil {
			n.env.Log.Debug("member addresses not recorded yet", "node", n.cfg.ID, "of", id, "err", err)
		}
	})
}
