package resp

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/seshat-db/seshat/kv"
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
// Seshat's own settings under Redis's names; maxclients alone changes
// live (CONFIG SET).
var configParams = []configParam{
	{name: "appendonly", value: "no"},
	{name: "save", value: ""},
	{name: "databases", value: "1"},
	{name: "port", value: "0"},
	{name: "bind", value: ""},
	{name: "maxclients", value: "10000", min: 1, max: 1<<32 - 1},
	{name: "proto-max-bulk-len", value: strconv.Itoa(ServerCommandLimits.BulkBytesMax)},
	{name: "timeout", value: "0"},
	{name: "maxmemory", value: "0"},
	{name: "maxmemory-clients", value: "0"},
	{name: "client-query-buffer-limit", value: "0"},
}

// configParam is one parameter; max is 0 unless CONFIG SET may change it
// live, to an integer within [min, max] (Redis's bounds).
type configParam struct {
	name, value string
	min, max    int64
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

// ConfigSetter is a ConfigInfo whose live settings CONFIG SET changes.
// Without one, every setting is immutable.
type ConfigSetter interface {
	// SetConfig sets a live parameter of configParams (its value
	// checked against the parameter's bounds).
	SetConfig(name string, value int64)
}

// configSet follows Redis 7.0's configSetCommand: a first pass over the
// parameters, in order, refuses an unknown one, an immutable one and one
// named twice; a second checks the values; only then is anything set,
// so a refused CONFIG SET changes nothing. The only live setting is
// maxclients; the others are read from the configuration file at start.
func (e *Executor) configSet(args [][]byte, reply func([]byte)) {
	if len(args)%2 != 0 {
		replyErr(reply, errSyntax)
		return
	}
	setter, _ := e.info.(ConfigSetter)
	failed := func(arg []byte, why string) {
		replyErr(reply, "ERR CONFIG SET failed (possibly related to argument '"+string(cString(arg))+"') - "+why)
	}
	var params []int
	for i := 2; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		p := slices.IndexFunc(configParams, func(c configParam) bool { return c.name == name })
		switch {
		case p < 0:
			replyErr(reply, "ERR Unknown option or number of arguments for CONFIG SET - '"+string(cString(args[i]))+"'")
			return
		case configParams[p].max == 0 || setter == nil:
			failed(args[i], "can't set immutable config")
			return
		case slices.Contains(params, p):
			failed(args[i], "duplicate parameter")
			return
		}
		params = append(params, p)
	}
	values := make([]int64, len(params))
	for j, p := range params {
		arg := args[2+2*j]
		v, ok := kv.ParseInt(args[3+2*j])
		if !ok {
			failed(arg, "argument couldn't be parsed into an integer")
			return
		}
		if c := configParams[p]; v < c.min || v > c.max {
			failed(arg, "argument must be between "+strconv.FormatInt(c.min, 10)+" and "+strconv.FormatInt(c.max, 10)+" inclusive")
			return
		}
		values[j] = v
	}
	for j, p := range params {
		setter.SetConfig(configParams[p].name, values[j])
	}
	reply(AppendSimple(nil, "OK"))
}

// configResetStat answers OK: Seshat's counters are the metrics', which
// a scraper expects never to go back, so they are not reset.
func (e *Executor) configResetStat(args [][]byte, reply func([]byte)) {
	reply(AppendSimple(nil, "OK"))
}
