package resp

import (
	"path"
	"strconv"
	"strings"
)

// CONFIG GET, SET and RESETSTAT.

// ConfigInfo is a ServerInfo that knows the node's settings. Without one,
// CONFIG GET answers the server's defaults.
type ConfigInfo interface {
	// ConfigValue returns the value of a parameter of configParams as
	// the node runs with it; false: the default stands.
	ConfigValue(name string) (string, bool)
}

// configParams are the parameters CONFIG GET knows, in the order it
// lists them, with the value a node without ConfigInfo answers. The
// first two are what redis-benchmark and client libraries ask to learn
// how the server persists: Seshat answers what a Redis with its own
// persistence off (--save ” --appendonly no) answers, because a write is
// durable once the raft log holding it is fsynced on a quorum, before it
// is acknowledged: there are no RDB snapshots and no AOF. The others are
// Seshat's own settings under Redis's names.
var configParams = []struct{ name, value string }{
	{"appendonly", "no"},
	{"save", ""},
	{"databases", "1"},
	{"port", "0"},
	{"bind", ""},
	{"maxclients", "10000"},
	{"proto-max-bulk-len", strconv.Itoa(ServerCommandLimits.BulkBytesMax)},
	{"timeout", "0"},
	{"maxmemory", "0"},
	{"maxmemory-clients", "0"},
	{"client-query-buffer-limit", "0"},
}

func (e *Executor) configValue(i int) string {
	if ci, ok := e.info.(ConfigInfo); ok {
		if v, ok := ci.ConfigValue(configParams[i].name); ok {
			return v
		}
	}
	return configParams[i].value
}

// configGet follows Redis 7.0's configGetCommand over configParams: each
// argument is a name (any case; the reply repeats it as given) or a glob
// pattern (matched without regard to case; the reply names the parameter),
// each parameter is listed once, and an unknown name matches nothing.
//
// NB: Redis lists the matches in the order of a hash table; we list them
// in configParams' order, which for appendonly and save is Redis's.
func (e *Executor) configGet(args [][]byte, reply func([]byte)) {
	names := make([]string, len(configParams)) // the name to reply with; "" if not matched
	for _, a := range args[2:] {
		pattern := strings.ToLower(string(a))
		glob := strings.ContainsAny(pattern, "[*?")
		for i, p := range configParams {
			if names[i] != "" {
				continue
			}
			if glob {
				// NB: path.Match is Redis's stringmatch for names
				// without '/'; a malformed pattern matches nothing.
				if ok, _ := path.Match(pattern, p.name); ok {
					names[i] = p.name
				}
			} else if pattern == p.name {
				names[i] = string(a)
			}
		}
	}
	var out []byte
	n := 0
	for i := range configParams {
		if names[i] != "" {
			out = AppendBulkString(out, names[i])
			out = AppendBulkString(out, e.configValue(i))
			n++
		}
	}
	reply(append(AppendArray(nil, 2*n), out...))
}

// configSet follows Redis 7.0's errors. No Seshat setting changes while
// the node runs (each is read at start from its configuration file), so
// every parameter Seshat knows is refused as Redis refuses an immutable
// one, and any other as Redis refuses an unknown one; nothing changes.
func (e *Executor) configSet(args [][]byte, reply func([]byte)) {
	if len(args)%2 != 0 {
		replyErr(reply, errSyntax)
		return
	}
	for i := 2; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		known := false
		for _, p := range configParams {
			known = known || p.name == name
		}
		if !known {
			replyErr(reply, "ERR Unknown option or number of arguments for CONFIG SET - '"+string(cString(args[i]))+"'")
			return
		}
	}
	replyErr(reply, "ERR CONFIG SET failed (possibly related to argument '"+string(cString(args[2]))+"') - can't set immutable config")
}

// configResetStat answers OK: Seshat's counters are the metrics', which
// a scraper expects never to go back, so they are not reset.
func (e *Executor) configResetStat(args [][]byte, reply func([]byte)) {
	reply(AppendSimple(nil, "OK"))
}
