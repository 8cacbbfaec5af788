package resp

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// CLIENT LIST, INFO, KILL, HELP and NO-EVICT. An Executor knows its own
// connection; the server, through a ClientDirectory, knows them all.

// ClientDirectory is the server's list of its connections. Without one
// (SetClientDirectory), an Executor lists only itself and kills none.
type ClientDirectory interface {
	// ClientLines returns every open connection's CLIENT LIST line
	// (Executor.ClientLine), by id.
	ClientLines() []string
	// Kill closes the connections f matches and returns how many.
	Kill(f ClientFilter) int
}

// ClientFilter is CLIENT KILL's filters; a zero field matches any
// connection.
type ClientFilter struct {
	ID          int64
	Addr, LAddr string
	// SkipID is a connection never matched (SKIPME yes: the caller's).
	SkipID int64
}

// Matches reports whether the connection with this id and these
// addresses is one f selects.
func (f ClientFilter) Matches(id int64, addr, laddr string) bool {
	return id != f.SkipID && (f.ID == 0 || f.ID == id) && (f.Addr == "" || f.Addr == addr) && (f.LAddr == "" || f.LAddr == laddr)
}

// connDesc is what CLIENT LIST says of a connection beyond its id and
// name. mu guards it and the Executor's name and library: the server's
// directory reads them from other connections' goroutines.
type connDesc struct {
	mu          Locker // noLock{} unless SetClientDirectory gave one
	addr, laddr string
	dir         ClientDirectory
	lastCmd     string
}

// SetClientAddrs gives the connection's remote and local addresses, for
// CLIENT LIST and KILL ADDR/LADDR.
func (e *Executor) SetClientAddrs(addr, laddr string) {
	e.conn.mu.Lock()
	e.conn.addr, e.conn.laddr = addr, laddr
	e.conn.mu.Unlock()
}

// SetClientDirectory gives the server's list of connections, and the
// lock (a sync.Mutex) that lets it read this connection's line from
// other goroutines, before the first Execute.
func (e *Executor) SetClientDirectory(d ClientDirectory, l Locker) { e.conn.dir, e.conn.mu = d, l }

func (e *Executor) setName(name string) {
	e.conn.mu.Lock()
	e.name = name
	e.conn.mu.Unlock()
}

// noteCommand records the command for CLIENT LIST's cmd field: Redis
// names a subcommand container|sub.
func (e *Executor) noteCommand(top, cmd *command) {
	name := cmd.name
	if top != cmd {
		name = top.name + "|" + cmd.name
	}
	e.conn.mu.Lock()
	e.conn.lastCmd = name
	e.conn.mu.Unlock()
}

// ClientLine is the connection's line of CLIENT LIST (without its
// newline), in Redis 7.0's fields: ageSecs and idleSecs are measured by
// the caller (the Executor reads no clock). The fields that describe
// Redis's buffers, which Seshat does not keep, are 0; fd is -1.
func (e *Executor) ClientLine(ageSecs, idleSecs int64) string {
	e.conn.mu.Lock()
	defer e.conn.mu.Unlock()
	cmd := e.conn.lastCmd
	if cmd == "" {
		cmd = "NULL"
	}
	var b strings.Builder
	b.WriteString("id=" + strconv.FormatInt(e.ClientID, 10))
	b.WriteString(" addr=" + e.conn.addr + " laddr=" + e.conn.laddr + " fd=-1 name=" + e.name)
	b.WriteString(" age=" + strconv.FormatInt(ageSecs, 10) + " idle=" + strconv.FormatInt(idleSecs, 10))
	b.WriteString(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r")
	b.WriteString(" cmd=" + cmd + " user=default redir=-1 resp=2")
	return b.String()
}

func (e *Executor) clientInfo(args [][]byte, reply func([]byte)) {
	reply(AppendBulkString(nil, e.ClientLine(0, 0)+"\n"))
}

// clientList follows Redis 7.0: LIST, LIST TYPE t (only normal clients
// exist here) and LIST ID id...
func (e *Executor) clientList(args [][]byte, reply func([]byte)) {
	var ids map[int64]bool
	switch {
	case len(args) == 2:
	case len(args) == 4 && strings.EqualFold(string(args[2]), "type"):
		switch strings.ToLower(string(args[3])) {
		case "normal":
		case "master", "replica", "slave", "pubsub":
			reply(AppendBulkString(nil, ""))
			return
		default:
			replyErr(reply, "ERR Unknown client type '"+string(cString(args[3]))+"'")
			return
		}
	case len(args) > 3 && strings.EqualFold(string(args[2]), "id"):
		ids = map[int64]bool{}
		for _, a := range args[3:] {
			id, ok := kv.ParseInt(a)
			if !ok || id <= 0 {
				replyErr(reply, "ERR Invalid client ID")
				return
			}
			ids[id] = true
		}
	default:
		replyErr(reply, errSyntax)
		return
	}
	lines := []string{e.ClientLine(0, 0)}
	if e.conn.dir != nil {
		lines = e.conn.dir.ClientLines()
	}
	var out []byte
	for _, l := range lines {
		if ids != nil {
			id, _ := strconv.ParseInt(strings.TrimPrefix(l[:strings.IndexByte(l, ' ')], "id="), 10, 64)
			if !ids[id] {
				continue
			}
		}
		out = append(append(out, l...), '\n')
	}
	reply(AppendBulk(nil, out))
}

// clientKill follows Redis 7.0's clientKillCommand: the old form KILL
// addr answers OK or "No such client"; the new form counts the kills.
func (e *Executor) clientKill(args [][]byte, reply func([]byte)) {
	f := ClientFilter{SkipID: e.ClientID}
	if len(args) == 3 {
		f = ClientFilter{Addr: string(args[2])}
		if e.kill(f) == 0 {
			replyErr(reply, "ERR No such client")
			return
		}
		reply(AppendSimple(nil, "OK"))
		return
	}
	if len(args)%2 != 0 {
		replyErr(reply, errSyntax)
		return
	}
	for i := 2; i < len(args); i += 2 {
		val := args[i+1]
		switch opt := strings.ToLower(string(args[i])); opt {
		case "id":
			id, ok := kv.ParseInt(val)
			if !ok || id <= 0 {
				replyErr(reply, "ERR client-id should be greater than 0")
				return
			}
			f.ID = id
		case "addr":
			f.Addr = string(val)
		case "laddr":
			f.LAddr = string(val)
		case "user":
			if string(val) != "default" {
				replyErr(reply, "ERR No such user '"+string(cString(val))+"'")
				return
			}
		case "type":
			switch strings.ToLower(string(val)) {
			case "normal":
			case "master", "replica", "slave", "pubsub":
				reply(AppendInt(nil, 0))
				return
			default:
				replyErr(reply, "ERR Unknown client type '"+string(cString(val))+"'")
				return
			}
		case "skipme":
			switch strings.ToLower(string(val)) {
			case "yes":
				f.SkipID = e.ClientID
			case "no":
				f.SkipID = 0
			default:
				replyErr(reply, errSyntax)
				return
			}
		default:
			replyErr(reply, errSyntax)
			return
		}
	}
	reply(AppendInt(nil, int64(e.kill(f))))
}

// kill runs f through the directory; without one the only connection
// known is this one, which is not closed from here.
func (e *Executor) kill(f ClientFilter) int {
	if e.conn.dir != nil {
		return e.conn.dir.Kill(f)
	}
	return 0
}

func (e *Executor) clientNoEvict(args [][]byte, reply func([]byte)) {
	// Seshat evicts no client for memory: the flag is accepted and
	// changes nothing, as on a Redis with no maxmemory-clients.
	if !bytes.EqualFold(args[2], []byte("on")) && !bytes.EqualFold(args[2], []byte("off")) {
		replyErr(reply, errSyntax)
		return
	}
	reply(AppendSimple(nil, "OK"))
}

// clientHelp is Redis 7.0.15's CLIENT HELP, verbatim (testdata/redis/
// clients.txt holds Redis's reply).
func (e *Executor) clientHelp(args [][]byte, reply func([]byte)) {
	out := AppendArray(nil, len(clientHelpLines))
	for _, l := range clientHelpLines {
		out = AppendSimple(out, l)
	}
	reply(out)
}

var clientHelpLines = []string{
	"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CACHING (YES|NO)",
	"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
	"GETREDIR",
	"    Return the client ID we are redirecting to when tracking is enabled.",
	"GETNAME",
	"    Return the name of the current connection.",
	"ID",
	"    Return the ID of the current connection.",
	"INFO",
	"    Return information about the current client connection.",
	"KILL <ip:port>",
	"    Kill connection made from <ip:port>.",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Kill connections. Options are:",
	"    * ADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made from the specified address",
	"    * LADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made to specified local address",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Kill connections by type.",
	"    * USER <username>",
	"      Kill connections authenticated by <username>.",
	"    * SKIPME (YES|NO)",
	"      Skip killing current connection (default: yes).",
	"LIST [options ...]",
	"    Return information about client connections. Options:",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Return clients of specified type.",
	"UNPAUSE",
	"    Stop the current client pause, resuming traffic.",
	"PAUSE <timeout> [WRITE|ALL]",
	"    Suspend all, or just write, clients for <timeout> milliseconds.",
	"REPLY (ON|OFF|SKIP)",
	"    Control the replies sent to the current connection.",
	"SETNAME <name>",
	"    Assign the name <name> to the current connection.",
	"UNBLOCK <clientid> [TIMEOUT|ERROR]",
	"    Unblock the specified blocked client.",
	"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
	"         [OPTIN] [OPTOUT] [NOLOOP]",
	"    Control server assisted client side caching.",
	"TRACKINGINFO",
	"    Report tracking status for the current connection.",
	"NO-EVICT (ON|OFF)",
	"    Protect current client connection from eviction.",
	"HELP",
	"    Prints this help.",
}
