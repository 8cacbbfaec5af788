package app

import (
	"fmt"
	"net"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"syscall"
	"time"

	"github.com/seshat-db/seshat/resp"
)

// The node's INFO sections, and its role for HELLO, ROLE and INFO
// replication, from one place: the raft leader is the master, the other
// nodes its slaves.

// Replication implements resp.RoleInfo.
func (i *serverInfo) Replication() resp.Replication {
	st := i.host.Status()
	r := resp.Replication{
		Master:      st.IsLeader,
		Offset:      int64(st.Applied),
		Replicas:    len(st.Voters) / 2, // a majority of the voters, less the leader
		NowMicros:   time.Now().UnixMicro(),
		StartedUnix: i.started.Unix(),
	}
	for _, rep := range st.Replicas {
		if host, port, err := net.SplitHostPort(rep.ClientAddr); err == nil {
			p, _ := strconv.Atoi(port)
			r.Links = append(r.Links, resp.ReplicaLink{Host: host, Port: p, Offset: int64(rep.Match), Syncing: rep.Syncing})
		}
	}
	if !st.IsLeader && st.Lead != 0 {
		// The leader's client address, as CLUSTER NODES and SLOTS tell
		// it; before its member record is known, the host of its peer
		// address in the config.
		r.MasterHost = i.memberHost(st.Lead)
		if host, port, err := net.SplitHostPort(st.LeadClientAddr); err == nil {
			r.MasterHost = host
			r.MasterPort, _ = strconv.Atoi(port)
		}
	}
	return r
}

// memberHost is the host of a member's internal address, if the
// configuration names it ("" if not).
func (i *serverInfo) memberHost(id uint64) string {
	for _, m := range i.cfg.Cluster.InitialMembers {
		if m.ID == id {
			if host, _, err := net.SplitHostPort(m.Addr); err == nil {
				return host
			}
		}
	}
	return ""
}

// replicaLine is Redis's INFO line for a replica: online once in sync (a
// raft follower that answered the leader lately), send_bulk while its
// master sends it everything (a snapshot).
func replicaLine(l resp.ReplicaLink) string {
	state := "online"
	if l.Syncing {
		state = "send_bulk"
	}
	return fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=0", l.Host, l.Port, state, l.Offset)
}

func (i *serverInfo) InfoSections() []resp.InfoSection {
	st := i.host.Status()
	rep := i.Replication()
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	d := func(v int64) string { return strconv.FormatInt(v, 10) }
	replication := [][2]string{{"role", "master"}, {"connected_slaves", strconv.Itoa(len(rep.Links))}}
	for k, l := range rep.Links {
		replication = append(replication, [2]string{"slave" + strconv.Itoa(k), replicaLine(l)})
	}
	if !rep.Master {
		link := "down"
		if rep.MasterHost != "" || st.Lead != 0 {
			link = "up"
		}
		replication = [][2]string{{"role", "slave"}, {"master_host", rep.MasterHost}, {"master_port", strconv.Itoa(rep.MasterPort)}, {"master_link_status", link}, {"master_node_id", u(st.Lead)}}
	}
	replication = append(replication, [2]string{"master_repl_offset", d(rep.Offset)})
	var keyspace [][2]string
	if st.Keys > 0 {
		// Redis lists only the databases that hold keys.
		keyspace = [][2]string{{"db0", fmt.Sprintf("keys=%d,expires=%d,avg_ttl=0", st.Keys, st.Expiring)}}
	}
	user, sys := cpuTimes()
	return []resp.InfoSection{
		{Name: "Clients", Fields: [][2]string{
			{"connected_clients", d(i.srv.Clients())},
			{"maxclients", strconv.FormatInt(i.srv.ClientsMax(), 10)},
			{"blocked_clients", "0"}, // Seshat has no blocking command
		}},
		{Name: "Memory", Fields: [][2]string{
			{"used_memory", u(processMemory())},
			{"used_memory_human", humanBytes(processMemory())},
		}},
		{Name: "Persistence", Fields: [][2]string{
			{"loading", "0"},
			{"rdb_last_save_time", d(rep.StartedUnix)},
			{"aof_enabled", "0"}, // every write is durable in the raft log before it is acknowledged
		}},
		{Name: "Stats", Fields: [][2]string{
			{"total_connections_received", d(i.srv.Connections())},
			{"total_commands_processed", u(i.srv.Commands())},
			{"rejected_connections", u(i.srv.Rejected())},
		}},
		{Name: "Replication", Fields: replication},
		{Name: "CPU", Fields: [][2]string{
			{"used_cpu_sys", strconv.FormatFloat(sys, 'f', 6, 64)},
			{"used_cpu_user", strconv.FormatFloat(user, 'f', 6, 64)},
		}},
		{Name: "Keyspace", Fields: keyspace},
		{Name: "Raft", Fields: [][2]string{
			{"raft_node_id", u(st.ID)},
			{"raft_term", u(st.Term)},
			{"raft_leader_id", u(st.Lead)},
			{"raft_commit_index", u(st.Commit)},
			{"raft_applied_index", u(st.Applied)},
			{"raft_stopped", strconv.FormatBool(st.Stopped)},
			{"raft_role", st.Role},
			{"raft_identity", fmt.Sprintf("%016x", st.Identity)},
			{"raft_voters", joinIDs(st.Voters)},
			{"raft_learners", joinIDs(st.Learners)},
			{"cluster_id", i.cfg.Cluster.ClusterID},
			{"seshat_version", Version},
			{"uptime_in_seconds", strconv.FormatInt(int64(time.Since(i.started).Seconds()), 10)},
		}},
	}
}

// processMemory is the memory the Go runtime holds from the OS (memory
// Pebble allocates outside the runtime, with cgo, is not in it).
func processMemory() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.Sys
	}
	return s[0].Value.Uint64()
}

func humanBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%dB", b)
}

// cpuTimes returns the process's user and system CPU seconds.
func cpuTimes() (user, sys float64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return float64(ru.Utime.Sec) + float64(ru.Utime.Usec)/1e6, float64(ru.Stime.Sec) + float64(ru.Stime.Usec)/1e6
}
