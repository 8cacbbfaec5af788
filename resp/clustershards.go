package resp

import (
	"strconv"

	"github.com/seshat-db/seshat/kv"
)

// CLUSTER SHARDS, COUNTKEYSINSLOT and GETKEYSINSLOT: what a cluster-aware
// client or tool asks besides CLUSTER SLOTS and NODES.

const (
	errInvalidSlot         = "ERR Invalid slot"
	errInvalidSlotOrNumber = "ERR Invalid slot or number of keys"
)

// clusterShards is CLUSTER SHARDS, Redis 7.0's shape: one shard holding
// every slot (none while no leader is known), its nodes the leader as
// master and the others as replicas, each told by id, port, ip, endpoint,
// role, replication offset (known only for the serving node itself) and
// health ("fail" for a member that has not answered the leader lately,
// "loading" for a learner, which is still catching up).
func (e *Executor) clusterShards(args [][]byte, reply func([]byte)) {
	e.withView(reply, func(v ClusterView) []byte {
		nodes := leaderFirst(v)
		out := AppendArray(nil, 1)
		out = AppendArray(out, 4)
		out = AppendBulkString(out, "slots")
		if v.Leader == 0 || len(nodes) == 0 || nodes[0].ID != v.Leader {
			out = AppendArray(out, 0)
		} else {
			out = AppendArray(out, 2)
			out = AppendInt(out, 0)
			out = AppendInt(out, clusterSlots-1)
		}
		out = AppendBulkString(out, "nodes")
		out = AppendArray(out, len(nodes))
		for _, m := range nodes {
			host, port, _ := splitHostPort(m.ClientAddr)
			p, _ := strconv.Atoi(port)
			role, health := "replica", "online"
			if m.ID == v.Leader {
				role = "master"
			}
			switch {
			case m.Failed:
				health = "fail" // Redis 7.0's word (captured), not the docs' "failed"
			case !m.Voter:
				health = "loading"
			}
			var offset uint64
			if m.ID == v.Self {
				offset = v.SelfApplied
			}
			out = AppendArray(out, 14)
			out = AppendBulkString(out, "id")
			out = AppendBulkString(out, clusterNodeID(m.ID))
			out = AppendBulkString(out, "port")
			out = AppendInt(out, int64(p))
			out = AppendBulkString(out, "ip")
			out = AppendBulkString(out, host)
			out = AppendBulkString(out, "endpoint")
			out = AppendBulkString(out, host)
			out = AppendBulkString(out, "role")
			out = AppendBulkString(out, role)
			out = AppendBulkString(out, "replication-offset")
			out = AppendInt(out, int64(offset))
			out = AppendBulkString(out, "health")
			out = AppendBulkString(out, health)
		}
		return out
	})
}

// leaderFirst is the view's members a client can reach, the leader
// first. A member whose client address is not known yet (its record has
// not reached this node) is left out: told as host "" and port 0, a
// cluster client would dial ":0", which reaches nothing, or the client's
// own host.
func leaderFirst(v ClusterView) []ClusterMember {
	var nodes []ClusterMember
	for _, m := range v.Members {
		if m.ClientAddr == "" {
			continue
		}
		if m.ID == v.Leader {
			nodes = append([]ClusterMember{m}, nodes...)
		} else {
			nodes = append(nodes, m)
		}
	}
	return nodes
}

// parseSlotArg reads a slot number as Redis does (any 64-bit integer
// parses; the range is checked after).
func parseSlotArg(b []byte) (int64, bool) { return kv.ParseInt(b) }

// clusterCountKeysInSlot is CLUSTER COUNTKEYSINSLOT slot: a linearizable
// read of every key (as KEYS, bounded as KEYS is), counted by slot.
func (e *Executor) clusterCountKeysInSlot(args [][]byte, reply func([]byte)) {
	if _, ok := e.clusterBackend(reply); !ok {
		return
	}
	slot, ok := parseSlotArg(args[2])
	switch {
	case !ok:
		replyErr(reply, errNotInteger)
		return
	case slot < 0 || slot >= clusterSlots:
		replyErr(reply, errInvalidSlot)
		return
	}
	e.submit(kv.Op{Kind: kv.Keys, Values: [][]byte{[]byte("*")}}, reply, func(res kv.Result) []byte {
		n := 0
		for _, k := range res.Values {
			if keySlot(k) == int(slot) {
				n++
			}
		}
		return AppendInt(nil, int64(n))
	})
}

// clusterGetKeysInSlot is CLUSTER GETKEYSINSLOT slot count: up to count
// keys of the slot, read as COUNTKEYSINSLOT reads them.
func (e *Executor) clusterGetKeysInSlot(args [][]byte, reply func([]byte)) {
	if _, ok := e.clusterBackend(reply); !ok {
		return
	}
	slot, ok := parseSlotArg(args[2])
	if !ok {
		replyErr(reply, errNotInteger)
		return
	}
	count, ok := kv.ParseInt(args[3])
	switch {
	case !ok:
		replyErr(reply, errNotInteger)
		return
	case slot < 0 || slot >= clusterSlots || count < 0:
		replyErr(reply, errInvalidSlotOrNumber)
		return
	}
	e.submit(kv.Op{Kind: kv.Keys, Values: [][]byte{[]byte("*")}}, reply, func(res kv.Result) []byte {
		var keys [][]byte
		for _, k := range res.Values {
			if int64(len(keys)) < count && keySlot(k) == int(slot) {
				keys = append(keys, k)
			}
		}
		return formatArray(kv.Result{Values: keys})
	})
}
