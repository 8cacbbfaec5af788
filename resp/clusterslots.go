package resp

import (
	"bytes"
	"slices"
	"strconv"
)

// The parts of Redis Cluster a cluster-aware client needs besides the
// topology: the slot of a key (CLUSTER KEYSLOT), the slot map (CLUSTER
// SLOTS), and READONLY, READWRITE and ASKING, which Seshat accepts as a
// single shard does: every read is linearizable, through any member.

// keySlot is Redis Cluster's slot of key: CRC16 (XMODEM) of the key, or
// of its hash tag (the part between the first '{' and the next '}', if
// that is not empty), modulo 16384.
func keySlot(key []byte) int {
	if i := bytes.IndexByte(key, '{'); i >= 0 {
		if j := bytes.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key)) & (clusterSlots - 1)
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial 0), as Redis
// Cluster computes it.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func (e *Executor) clusterKeySlot(args [][]byte, reply func([]byte)) {
	if _, ok := e.clusterBackend(reply); !ok {
		return
	}
	reply(AppendInt(nil, int64(keySlot(args[2]))))
}

// clusterSlots is CLUSTER SLOTS: one range, all slots, the leader first
// (the master), then the other members; Redis 7.0's entry per node is
// ip, port, id and an empty map of hostnames.
func (e *Executor) clusterSlots(args [][]byte, reply func([]byte)) {
	e.withView(reply, func(v ClusterView) []byte {
		nodes := slices.DeleteFunc(leaderFirst(v), func(m ClusterMember) bool {
			return m.Failed && m.ID != v.Leader // as Redis leaves out a failed replica
		})
		if v.Leader == 0 || len(nodes) == 0 || nodes[0].ID != v.Leader {
			return AppendArray(nil, 0) // no master a client can reach: no slot is served
		}
		out := AppendArray(nil, 1)
		out = AppendArray(out, 2+len(nodes))
		out = AppendInt(out, 0)
		out = AppendInt(out, clusterSlots-1)
		for _, m := range nodes {
			host, port, _ := splitHostPort(m.ClientAddr)
			p, _ := strconv.Atoi(port)
			out = AppendArray(out, 4)
			out = AppendBulkString(out, host)
			out = AppendInt(out, int64(p))
			out = AppendBulkString(out, clusterNodeID(m.ID))
			out = AppendArray(out, 0)
		}
		return out
	})
}

// clusterMode answers READONLY, READWRITE and ASKING: OK where CLUSTER is
// served, Redis's own refusal where it is not.
func (e *Executor) clusterMode(args [][]byte, reply func([]byte)) {
	if _, ok := e.clusterBackend(reply); !ok {
		return
	}
	reply(AppendSimple(nil, "OK"))
}
