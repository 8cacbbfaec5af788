package resp

import (
	"slices"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// This file holds the connection and tool commands. None of them touches
// the Backend, so each replies before Execute returns.

// RedisVersion is the Redis version Seshat reports in HELLO and INFO.
// Clients pick features by it; Seshat speaks the RESP2 of Redis 7.0.
const RedisVersion = "7.0.0"

func (e *Executor) ping(args [][]byte, reply func([]byte)) {
	switch len(args) {
	case 1:
		reply(AppendSimple(nil, "PONG"))
	case 2:
		reply(AppendBulk(nil, args[1]))
	default:
		replyErr(reply, wrongArity("ping"))
	}
}

func (e *Executor) echo(args [][]byte, reply func([]byte)) {
	reply(AppendBulk(nil, args[1]))
}

func (e *Executor) quit(args [][]byte, reply func([]byte)) {
	reply(AppendSimple(nil, "OK"))
}

// selectDB accepts only database 0: Seshat has one keyspace.
func (e *Executor) selectDB(args [][]byte, reply func([]byte)) {
	n, ok := kv.ParseInt(args[1])
	switch {
	case !ok:
		replyErr(reply, errNotInteger)
	case n < -1<<31 || n > 1<<31-1:
		replyErr(reply, errIntRange)
	case n != 0:
		replyErr(reply, errDBIndex)
	default:
		reply(AppendSimple(nil, "OK"))
	}
}

func (e *Executor) clientID(args [][]byte, reply func([]byte)) {
	reply(AppendInt(nil, e.ClientID))
}

func (e *Executor) clientGetName(args [][]byte, reply func([]byte)) {
	if e.name == "" {
		reply(AppendNull(nil))
		return
	}
	reply(AppendBulkString(nil, e.name))
}

func (e *Executor) clientSetName(args [][]byte, reply func([]byte)) {
	if !validClientAttr(args[2]) {
		replyErr(reply, errClientName)
		return
	}
	e.setName(string(args[2]))
	reply(AppendSimple(nil, "OK"))
}

// clientSetInfo is CLIENT SETINFO of Redis 7.2, which Redis 7.0 lacks:
// client libraries (go-redis, redis-py) send it on every connect.
func (e *Executor) clientSetInfo(args [][]byte, reply func([]byte)) {
	attr, val := string(args[2]), args[3]
	var dst *string
	switch {
	case strings.EqualFold(attr, "lib-name"):
		dst = &e.libName
	case strings.EqualFold(attr, "lib-ver"):
		dst = &e.libVer
	default:
		replyErr(reply, "ERR Unrecognized option '"+string(cString(args[2]))+"'")
		return
	}
	if !validClientAttr(val) {
		replyErr(reply, "ERR "+string(cString(args[2]))+" cannot contain spaces, newlines or special characters.")
		return
	}
	e.conn.mu.Lock()
	*dst = string(val)
	e.conn.mu.Unlock()
	reply(AppendSimple(nil, "OK"))
}

// validClientAttr is Redis's rule for client names and library names:
// printable ASCII with no spaces.
func validClientAttr(b []byte) bool {
	for _, c := range b {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// hello follows Redis 7.0's helloCommand, except that only protocol 2
// is spoken: HELLO 3 gets NOPROTO, so a client falls back to RESP2. There
// are no users or passwords; AUTH succeeds for "default", as it does on a
// Redis whose default user has nopass.
func (e *Executor) hello(args [][]byte, reply func([]byte)) {
	next := 1
	if len(args) >= 2 {
		ver, ok := kv.ParseInt(args[1])
		if !ok {
			replyErr(reply, errProtoNotInt)
			return
		}
		if ver != 2 {
			replyErr(reply, errNoProto)
			return
		}
		next = 2
	}
	var user, password, name []byte
	setName := false
	for j := next; j < len(args); j++ {
		more := len(args) - 1 - j
		switch opt := string(args[j]); {
		case strings.EqualFold(opt, "auth") && more >= 2:
			user, password = args[j+1], args[j+2]
			j += 2
		case strings.EqualFold(opt, "setname") && more >= 1:
			name, setName = args[j+1], true
			j++
		default:
			replyErr(reply, "ERR Syntax error in HELLO option '"+string(cString(args[j]))+"'")
			return
		}
	}
	if user != nil && !e.login(user, password) {
		replyErr(reply, errWrongPass)
		return
	}
	if user == nil && e.authRequired(e.users()) {
		replyErr(reply, errHelloNoAuth)
		return
	}
	if setName {
		if !validClientAttr(name) {
			replyErr(reply, errClientName)
			return
		}
		e.setName(string(name))
	}
	out := AppendArray(nil, 14)
	out = AppendBulkString(out, "server")
	out = AppendBulkString(out, "redis")
	out = AppendBulkString(out, "version")
	out = AppendBulkString(out, RedisVersion)
	out = AppendBulkString(out, "proto")
	out = AppendInt(out, 2)
	out = AppendBulkString(out, "id")
	out = AppendInt(out, e.ClientID)
	out = AppendBulkString(out, "mode")
	out = AppendBulkString(out, "standalone")
	out = AppendBulkString(out, "role")
	out = AppendBulkString(out, e.helloRole())
	out = AppendBulkString(out, "modules")
	out = AppendArray(out, 0)
	reply(out)
}

// infoCmd replies with the Server section and the ServerInfo's sections,
// filtered as Redis filters them: no argument, "default", "all" or
// "everything" select every section, and otherwise each argument names
// one, in any case. An unknown name selects nothing.
func (e *Executor) infoCmd(args [][]byte, reply func([]byte)) {
	sections := []InfoSection{{Name: "Server", Fields: [][2]string{
		{"redis_version", RedisVersion},
		{"redis_mode", "standalone"},
		{"server_name", "seshat"},
	}}}
	if e.info != nil {
		sections = append(sections, e.info.InfoSections()...)
	}
	if _, ok := e.backend.(ClusterBackend); ok {
		sections = withClusterSection(sections)
	}
	all := len(args) == 1
	for _, a := range args[1:] {
		s := strings.ToLower(string(a))
		if s == "default" || s == "all" || s == "everything" {
			all = true
		}
	}
	var text []byte
	for _, sec := range sections {
		if !all && !infoWanted(args[1:], sec.Name) {
			continue
		}
		if len(text) > 0 {
			text = append(text, '\r', '\n')
		}
		text = append(text, "# "...)
		text = appendInfoText(text, sec.Name)
		text = append(text, '\r', '\n')
		for _, f := range sec.Fields {
			text = appendInfoText(text, f[0])
			text = append(text, ':')
			text = appendInfoText(text, f[1])
			text = append(text, '\r', '\n')
		}
	}
	reply(AppendBulk(nil, text))
}

// withClusterSection adds the Cluster section a Redis Cluster node tells
// (redis-cli --cluster refuses a node without cluster_enabled:1), where
// Redis puts it: before Keyspace, else last of Redis's own sections.
//
// NB: HELLO's mode and INFO's redis_mode stay "standalone", unlike a
// Redis Cluster node's: Seshat serves multi-key commands across slots
// and SELECT's errors as a standalone server does, and a client that
// picks its mode from them (StackExchange.Redis reads redis_mode) would
// start refusing cross-slot commands that work today. cluster_enabled
// is read by the cluster tools, which then use CLUSTER NODES and SLOTS.
func withClusterSection(sections []InfoSection) []InfoSection {
	cluster := InfoSection{Name: "Cluster", Fields: [][2]string{{"cluster_enabled", "1"}}}
	at := len(sections)
	for i, s := range sections {
		if s.Name == "Keyspace" || s.Name == "Raft" {
			at = i
			break
		}
	}
	return slices.Insert(sections, at, cluster)
}

func infoWanted(names [][]byte, section string) bool {
	for _, n := range names {
		if strings.EqualFold(string(n), section) {
			return true
		}
	}
	return false
}

// appendInfoText appends s with CR and LF replaced by spaces, because
// clients split INFO's text into lines.
func appendInfoText(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}
