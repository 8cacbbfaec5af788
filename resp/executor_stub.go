package resp

// TEMPORARY stand-in for resp's command layer, which is written on another
// branch. It implements only the agreed signatures and enough commands
// (PING, GET, SET, DEL, EXISTS, QUIT, CONFIG, COMMAND, INFO) to build and
// exercise server.go. Delete this file when the command layer merges.

import (
	"strconv"
	"strings"

	"github.com/seshat-db/seshat/node/kv"
)

// Backend runs key-value operations.
type Backend interface {
	Submit(op kv.Op, done func(kv.Result))
}

// Limits bounds keys and values.
type Limits struct{ KeyBytesMax, ValueBytesMax int }

// InfoSection is one section of INFO.
type InfoSection struct {
	Name   string
	Fields [][2]string
}

// ServerInfo supplies INFO's sections.
type ServerInfo interface{ InfoSections() []InfoSection }

// Executor runs one connection's commands.
type Executor struct {
	ClientID int64
	b        Backend
	l        Limits
	info     ServerInfo
}

// NewExecutor makes an executor for one connection.
func NewExecutor(b Backend, l Limits, info ServerInfo) *Executor {
	return &Executor{b: b, l: l, info: info}
}

// IsQuit reports whether args is a QUIT command.
func IsQuit(args [][]byte) bool { return len(args) > 0 && strings.EqualFold(string(args[0]), "quit") }

func bulk(b []byte) []byte {
	if b == nil {
		return []byte("$-1\r\n")
	}
	return append(append([]byte("$"+strconv.Itoa(len(b))+"\r\n"), b...), "\r\n"...)
}

// Execute runs args and calls reply once with the RESP2 reply.
func (e *Executor) Execute(args [][]byte, reply func([]byte)) {
	name := strings.ToLower(string(args[0]))
	wrong := func() { reply([]byte("-ERR wrong number of arguments for '" + name + "' command\r\n")) }
	submit := func(op kv.Op, f func(kv.Result) []byte) {
		e.b.Submit(op, func(r kv.Result) {
			if r.Err != nil {
				reply([]byte("-" + r.Err.Error() + "\r\n"))
				return
			}
			reply(f(r))
		})
	}
	for i, a := range args[1:] {
		if len(a) > e.l.ValueBytesMax || (i == 0 && len(a) > e.l.KeyBytesMax && name != "ping" && name != "echo") {
			if i == 0 {
				reply([]byte("-ERR key too large\r\n"))
			} else {
				reply([]byte("-ERR value too large\r\n"))
			}
			return
		}
	}
	intReply := func(r kv.Result) []byte { return []byte(":" + strconv.FormatInt(r.Int, 10) + "\r\n") }
	switch name {
	case "quit":
		reply([]byte("+OK\r\n"))
	case "ping":
		if len(args) == 2 {
			reply(bulk(args[1]))
		} else {
			reply([]byte("+PONG\r\n"))
		}
	case "config", "command":
		reply([]byte("*0\r\n"))
	case "info":
		var sb strings.Builder
		for _, s := range e.info.InfoSections() {
			sb.WriteString("# " + s.Name + "\r\n")
			for _, f := range s.Fields {
				sb.WriteString(f[0] + ":" + f[1] + "\r\n")
			}
			sb.WriteString("\r\n")
		}
		reply(bulk([]byte(sb.String())))
	case "get":
		if len(args) != 2 {
			wrong()
			return
		}
		submit(kv.Op{Kind: kv.Get, Keys: args[1:]}, func(r kv.Result) []byte {
			if r.Nil {
				return bulk(nil)
			}
			return bulk(r.Value)
		})
	case "set":
		if len(args) != 3 {
			wrong()
			return
		}
		submit(kv.Op{Kind: kv.Set, Keys: args[1:2], Values: args[2:3]}, func(kv.Result) []byte { return []byte("+OK\r\n") })
	case "del", "exists":
		if len(args) < 2 {
			wrong()
			return
		}
		k := kv.Del
		if name == "exists" {
			k = kv.Exists
		}
		submit(kv.Op{Kind: k, Keys: args[1:]}, intReply)
	default:
		reply([]byte("-ERR unknown command '" + string(args[0]) + "'\r\n"))
	}
}
