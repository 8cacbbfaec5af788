package resp

import (
	"slices"
	"strconv"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// This file holds the commands that describe the server: ROLE, TIME,
// LASTSAVE, WAIT, DEBUG SLEEP 0. HELLO, ROLE and INFO replication all
// take the node's role from one place, the ServerInfo's Replication.

// Replication is the node's role as Redis words it: the raft leader is
// the master, every other node a slave of it.
type Replication struct {
	Master     bool
	MasterHost string // the leader's host, "" when no leader is known
	MasterPort int    // the leader's client port, 0 when not known
	Offset     int64  // the applied index: how far this node's data goes
	// Replicas is how many other voters hold every acknowledged write:
	// a write is acknowledged once a majority of the voters stored it.
	Replicas int
	// Links is, on the master, its connected replicas (the members the
	// raft leader had answers from lately) that a client can reach.
	Links []ReplicaLink
	// NowMicros is the wall clock, for TIME; StartedUnix is when the
	// process started, for LASTSAVE (Seshat never saves an RDB file: its
	// data is durable at every write).
	NowMicros   int64
	StartedUnix int64
}

// ReplicaLink is one connected replica as a master's ROLE and INFO
// replication tell it: where clients reach it, and how far its copy goes
// (its raft match index, in the units of the master's offset).
type ReplicaLink struct {
	Host   string
	Port   int
	Offset int64
	// Syncing: still receiving the master's whole data (a raft snapshot),
	// as a Redis replica in full sync: ROLE leaves it out, INFO tells
	// its state as send_bulk.
	Syncing bool
}

// RoleInfo is a ServerInfo that knows the node's role. Without one, the
// Executor speaks as a lone master.
type RoleInfo interface {
	Replication() Replication
}

func (e *Executor) replication() Replication {
	if ri, ok := e.info.(RoleInfo); ok {
		return ri.Replication()
	}
	return Replication{Master: true}
}

// helloRole is HELLO's word for the role.
func (e *Executor) helloRole() string {
	if e.replication().Master {
		return "master"
	}
	return "replica"
}

// role is ROLE: a master lists its connected replicas that are in sync
// (Redis tells each one's port and offset as bulk strings; one still
// receiving a snapshot is left out, though CLUSTER SLOTS lists it: its
// reads wait until it caught up); a slave names its master, "connected"
// while it knows one.
func (e *Executor) role(args [][]byte, reply func([]byte)) {
	r := e.replication()
	if r.Master {
		out := AppendArray(nil, 3)
		out = AppendBulkString(out, "master")
		out = AppendInt(out, r.Offset)
		// Redis lists only online replicas.
		online := slices.DeleteFunc(slices.Clone(r.Links), func(l ReplicaLink) bool { return l.Syncing })
		out = AppendArray(out, len(online))
		for _, l := range online {
			out = AppendArray(out, 3)
			out = AppendBulkString(out, l.Host)
			out = AppendBulkString(out, strconv.Itoa(l.Port))
			out = AppendBulkString(out, strconv.FormatInt(l.Offset, 10))
		}
		reply(out)
		return
	}
	state := "connected"
	if r.MasterHost == "" {
		state = "connect"
	}
	out := AppendArray(nil, 5)
	out = AppendBulkString(out, "slave")
	out = AppendBulkString(out, r.MasterHost)
	out = AppendInt(out, int64(r.MasterPort))
	out = AppendBulkString(out, state)
	reply(AppendInt(out, r.Offset))
}

func (e *Executor) timeCmd(args [][]byte, reply func([]byte)) {
	us := e.replication().NowMicros
	out := AppendArray(nil, 2)
	out = AppendBulkString(out, strconv.FormatInt(us/1e6, 10))
	reply(AppendBulkString(out, strconv.FormatInt(us%1e6, 10)))
}

func (e *Executor) lastsave(args [][]byte, reply func([]byte)) {
	reply(AppendInt(nil, e.replication().StartedUnix))
}

// wait is WAIT numreplicas timeout: every write this connection had
// acknowledged is already on a majority of the voters, so it answers at
// once with the replicas that hold it.
func (e *Executor) wait(args [][]byte, reply func([]byte)) {
	if _, ok := kv.ParseInt(args[1]); !ok {
		replyErr(reply, errNotInteger)
		return
	}
	timeout, ok := kv.ParseInt(args[2])
	switch {
	case !ok:
		replyErr(reply, "ERR timeout is not an integer or out of range")
		return
	case timeout < 0:
		replyErr(reply, "ERR timeout is negative")
		return
	}
	reply(AppendInt(nil, int64(e.replication().Replicas)))
}

// debug is DEBUG SLEEP 0, which tools send to check that a server
// answers; every other use of DEBUG is refused, as Redis refuses it when
// enable-debug-command is off.
func (e *Executor) debug(args [][]byte, reply func([]byte)) {
	if len(args) == 3 && strings.EqualFold(string(args[1]), "sleep") && string(args[2]) == "0" {
		reply(AppendSimple(nil, "OK"))
		return
	}
	replyErr(reply, "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")
}

func truthCommands() []*command {
	return []*command{
		{name: "debug", arity: -2, run: (*Executor).debug},
		{name: "lastsave", arity: 1, run: (*Executor).lastsave},
		{name: "role", arity: 1, run: (*Executor).role},
		{name: "time", arity: 1, run: (*Executor).timeCmd},
		{name: "wait", arity: 3, run: (*Executor).wait},
	}
}
