package resp

import (
	"fmt"
	"strconv"
	"strings"
)

// CLUSTER: the membership of Seshat's one raft group, told the way Redis
// Cluster tells its topology, so cluster-aware clients find the leader:
// one shard holding all 16,384 slots, the leader its master and every
// other member a replica. The subcommands ADDNODE, REMOVENODE, PROMOTE,
// REPLACENODE and TRANSFER-LEADER are Seshat's own: they change the membership.

// ClusterBackend is what CLUSTER needs of a Backend that is one member of
// a raft group. Each call answers exactly once, possibly later and from
// another goroutine. A Backend without it answers CLUSTER as a Redis
// without cluster support does.
type ClusterBackend interface {
	ClusterView(done func(ClusterView, error))
	ChangeMembership(ch ClusterChange, done func(error))
	TransferLeader(to uint64, done func(error))
}

// ClusterView is the membership as the serving node knows it.
type ClusterView struct {
	Self    uint64
	Leader  uint64 // 0: none known
	Term    uint64 // told as the configuration epoch
	Members []ClusterMember
	// SelfApplied is the serving node's applied index, told as its
	// replication offset.
	SelfApplied uint64
}

// ClusterMember is one member of the group.
type ClusterMember struct {
	ID         uint64
	Voter      bool // else a learner, told as a replica
	ClientAddr string
	PeerAddr   string
	// Failed: the serving node leads and the member has not answered its
	// appends or heartbeats within an election timeout. Told as Redis tells a node flagged
	// fail: "fail" and "disconnected" in CLUSTER NODES, health "fail" in
	// CLUSTER SHARDS, left out of CLUSTER SLOTS.
	Failed bool
}

// ClusterChange is a membership change asked through CLUSTER.
type ClusterChange struct {
	Kind       string // "add-learner", "promote", "remove" or "replace"
	ID         uint64
	Old        uint64 // replace: the voter that leaves
	PeerAddr   string
	ClientAddr string
	Force      bool
}

// clusterSlots is Redis Cluster's slot count: the one shard holds them all.
const clusterSlots = 16384

var errClusterDisabled = "ERR This instance has cluster support disabled"

func clusterSubcommands() []*command {
	return []*command{
		{name: "addnode", arity: 5, run: (*Executor).clusterAddNode},
		{name: "countkeysinslot", arity: 3, run: (*Executor).clusterCountKeysInSlot},
		{name: "getkeysinslot", arity: 4, run: (*Executor).clusterGetKeysInSlot},
		{name: "info", arity: 2, run: (*Executor).clusterInfo},
		{name: "keyslot", arity: 3, run: (*Executor).clusterKeySlot},
		{name: "myid", arity: 2, run: (*Executor).clusterMyID},
		{name: "nodes", arity: 2, run: (*Executor).clusterNodes},
		{name: "promote", arity: -3, run: (*Executor).clusterPromote},
		{name: "removenode", arity: -3, run: (*Executor).clusterRemoveNode},
		{name: "replacenode", arity: -4, run: (*Executor).clusterReplaceNode},
		{name: "shards", arity: 2, run: (*Executor).clusterShards},
		{name: "slots", arity: 2, run: (*Executor).clusterSlots},
		{name: "transfer-leader", arity: 3, run: (*Executor).clusterTransferLeader},
	}
}

func (e *Executor) clusterBackend(reply func([]byte)) (ClusterBackend, bool) {
	cb, ok := e.backend.(ClusterBackend)
	if !ok {
		reply(AppendError(nil, errClusterDisabled))
	}
	return cb, ok
}

// clusterNodeID is a member's Redis Cluster node id: 40 hex digits, its
// raft id in the last sixteen.
func clusterNodeID(id uint64) string { return fmt.Sprintf("%040x", id) }

func (e *Executor) withView(reply func([]byte), fn func(ClusterView) []byte) {
	cb, ok := e.clusterBackend(reply)
	if !ok {
		return
	}
	cb.ClusterView(func(v ClusterView, err error) {
		if err != nil {
			reply(AppendError(nil, ErrorReply(err)))
			return
		}
		reply(fn(v))
	})
}

func (e *Executor) clusterMyID(args [][]byte, reply func([]byte)) {
	e.withView(reply, func(v ClusterView) []byte { return AppendBulkString(nil, clusterNodeID(v.Self)) })
}

func (e *Executor) clusterInfo(args [][]byte, reply func([]byte)) {
	e.withView(reply, func(v ClusterView) []byte {
		state, assigned := "ok", clusterSlots
		if v.Leader == 0 {
			state, assigned = "fail", 0
		}
		var b strings.Builder
		for _, kv := range [][2]string{
			{"cluster_state", state},
			{"cluster_slots_assigned", strconv.Itoa(assigned)},
			{"cluster_slots_ok", strconv.Itoa(assigned)},
			{"cluster_slots_pfail", "0"},
			{"cluster_slots_fail", "0"},
			{"cluster_known_nodes", strconv.Itoa(len(v.Members))},
			{"cluster_size", strconv.Itoa(min(1, assigned))},
			{"cluster_current_epoch", strconv.FormatUint(v.Term, 10)},
			{"cluster_my_epoch", strconv.FormatUint(v.Term, 10)},
			{"cluster_stats_messages_sent", "0"},
			{"cluster_stats_messages_received", "0"},
			{"total_cluster_links_buffer_limit_exceeded", "0"},
		} {
			b.WriteString(kv[0] + ":" + kv[1] + "\r\n")
		}
		return AppendBulkString(nil, b.String())
	})
}

// clusterNodes is CLUSTER NODES: one line per member, Redis 7's format
// (id, ip:port@cport, flags, master id, ping sent, pong received, config
// epoch, link state, slots).
func (e *Executor) clusterNodes(args [][]byte, reply func([]byte)) {
	e.withView(reply, func(v ClusterView) []byte {
		var b strings.Builder
		for _, m := range v.Members {
			flags, master, slots := "slave", "-", ""
			if v.Leader != 0 && m.ID != v.Leader {
				master = clusterNodeID(v.Leader)
			}
			if m.ID == v.Leader {
				flags, slots = "master", fmt.Sprintf(" 0-%d", clusterSlots-1)
			}
			if m.ID == v.Self {
				flags = "myself," + flags
			}
			link := "connected"
			if m.Failed {
				flags, link = flags+",fail", "disconnected"
			}
			if m.ClientAddr == "" {
				flags += ",noaddr" // as Redis flags a node it has no address for
			}
			fmt.Fprintf(&b, "%s %s %s %s 0 0 %d %s%s\n", clusterNodeID(m.ID), nodeAddr(m), flags, master, v.Term, link, slots)
		}
		return AppendBulkString(nil, b.String())
	})
}

// nodeAddr is ip:port@cport as CLUSTER NODES writes it, ":0@0" when the
// client address is unknown (as Redis writes a node it has no address for).
func nodeAddr(m ClusterMember) string {
	host, port, ok := splitHostPort(m.ClientAddr)
	if !ok {
		return ":0@0"
	}
	cport := "0"
	if _, p, ok := splitHostPort(m.PeerAddr); ok {
		cport = p
	}
	return host + ":" + port + "@" + cport
}

// splitHostPort splits host:port ([v6]:port too) without package net,
// which the command layer may not import (it stays deterministic).
func splitHostPort(addr string) (host, port string, ok bool) {
	i := strings.LastIndexByte(addr, ':')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	host, port = addr[:i], addr[i+1:]
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", "", false
	}
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") {
		return "", "", false
	}
	return host, port, true
}

// parseNodeID reads a raft node id: a positive decimal integer.
func parseNodeID(arg []byte) (uint64, string) {
	id, err := strconv.ParseUint(string(arg), 10, 64)
	if err != nil || id == 0 {
		return 0, "ERR invalid node id '" + string(truncate(cString(arg), 128)) + "': a raft node id is a positive integer"
	}
	return id, ""
}

// parseForce reads the optional FORCE of REMOVENODE and PROMOTE (and,
// given its arguments from the subcommand on, of REPLACENODE).
func parseForce(args [][]byte, name string) (bool, string) {
	switch {
	case len(args) == 3:
		return false, ""
	case len(args) == 4 && strings.EqualFold(string(args[3]), "force"):
		return true, ""
	case len(args) == 4:
		return false, errSyntax
	}
	return false, wrongArity("cluster|" + name)
}

func (e *Executor) clusterChange(ch ClusterChange, reply func([]byte)) {
	cb, ok := e.clusterBackend(reply)
	if !ok {
		return
	}
	cb.ChangeMembership(ch, func(err error) { reply(okOrError(err)) })
}

func okOrError(err error) []byte {
	if err != nil {
		return AppendError(nil, ErrorReply(err))
	}
	return AppendSimple(nil, "OK")
}

// clusterAddNode is CLUSTER ADDNODE id peer-addr client-addr: the node
// joins as a learner (it catches up without a vote); PROMOTE makes it a
// voter.
func (e *Executor) clusterAddNode(args [][]byte, reply func([]byte)) {
	id, msg := parseNodeID(args[2])
	if msg == "" {
		for _, a := range args[3:5] {
			if _, _, ok := splitHostPort(string(a)); !ok {
				msg = "ERR invalid address '" + string(truncate(cString(a), 128)) + "': want host:port"
				break
			}
		}
	}
	if msg != "" {
		reply(AppendError(nil, msg))
		return
	}
	e.clusterChange(ClusterChange{Kind: "add-learner", ID: id, PeerAddr: string(args[3]), ClientAddr: string(args[4])}, reply)
}

func (e *Executor) clusterPromote(args [][]byte, reply func([]byte)) {
	e.forcedChange("promote", args, reply)
}

func (e *Executor) clusterRemoveNode(args [][]byte, reply func([]byte)) {
	e.forcedChange("remove", args, reply)
}

func (e *Executor) forcedChange(kind string, args [][]byte, reply func([]byte)) {
	id, msg := parseNodeID(args[2])
	force := false
	if msg == "" {
		force, msg = parseForce(args, strings.ToLower(string(args[1])))
	}
	if msg != "" {
		reply(AppendError(nil, msg))
		return
	}
	e.clusterChange(ClusterChange{Kind: kind, ID: id, Force: force}, reply)
}

// clusterReplaceNode is CLUSTER REPLACENODE old new [FORCE]: the learner
// new (caught up) takes voter old's place in one joint change.
func (e *Executor) clusterReplaceNode(args [][]byte, reply func([]byte)) {
	old, msg := parseNodeID(args[2])
	var id uint64
	if msg == "" {
		id, msg = parseNodeID(args[3])
	}
	force := false
	if msg == "" {
		force, msg = parseForce(args[1:], "replacenode")
	}
	if msg != "" {
		reply(AppendError(nil, msg))
		return
	}
	e.clusterChange(ClusterChange{Kind: "replace", ID: id, Old: old, Force: force}, reply)
}

func (e *Executor) clusterTransferLeader(args [][]byte, reply func([]byte)) {
	id, msg := parseNodeID(args[2])
	if msg != "" {
		reply(AppendError(nil, msg))
		return
	}
	cb, ok := e.clusterBackend(reply)
	if !ok {
		return
	}
	cb.TransferLeader(id, func(err error) { reply(okOrError(err)) })
}
