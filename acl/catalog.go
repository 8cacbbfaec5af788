package acl

// The command catalog: every command Seshat serves, by the full name Redis
// 7.0 gives it in ACL rules and NOPERM errors ("get", "acl|whoami"), with
// its ACL categories and where its keys are (COMMAND INFO's first key,
// last key and step). resp's tests check it against Redis's COMMAND INFO.

// Category is an ACL command category (@read, @write, ...).
type Category uint32

// The categories, in the order ACL CAT lists them.
const (
	CatKeyspace Category = 1 << iota
	CatRead
	CatWrite
	CatSet
	CatSortedSet
	CatList
	CatHash
	CatString
	CatBitmap
	CatHyperLogLog
	CatGeo
	CatStream
	CatPubSub
	CatAdmin
	CatFast
	CatSlow
	CatBlocking
	CatDangerous
	CatConnection
	CatTransaction
	CatScripting
)

// CategoryNames are the categories' names, in ACL CAT's order.
var CategoryNames = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting"}

func categoryByName(name string) (Category, bool) {
	for i, n := range CategoryNames {
		if equalFold(n, name) {
			return 1 << i, true
		}
	}
	return 0, false
}

// Command is one entry of the catalog.
type Command struct {
	Name       string // lower case; a subcommand is "parent|sub"
	Categories Category
	// FirstKey, LastKey, KeyStep locate the keys in the arguments as
	// COMMAND INFO does: FirstKey 0 means no keys, LastKey -1 the last.
	FirstKey, LastKey, KeyStep int
	// NoAuth commands run before AUTH (Redis's no_auth flag).
	NoAuth bool
}

const (
	rw  = CatWrite | CatString
	kw  = CatKeyspace | CatWrite
	kr  = CatKeyspace | CatRead
	rs  = CatRead | CatString
	adm = CatAdmin | CatSlow | CatDangerous
)

// commands is the catalog. A parent of subcommands precedes them.
var commands = []Command{
	{Name: "acl", Categories: CatSlow},
	{Name: "acl|cat", Categories: CatSlow},
	{Name: "acl|deluser", Categories: adm},
	{Name: "acl|getuser", Categories: adm},
	{Name: "acl|list", Categories: adm},
	{Name: "acl|setuser", Categories: adm},
	{Name: "acl|users", Categories: adm},
	{Name: "acl|whoami", Categories: CatSlow},
	{Name: "append", Categories: rw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "asking", Categories: CatFast | CatConnection},
	{Name: "auth", Categories: CatFast | CatConnection, NoAuth: true},
	{Name: "client", Categories: CatSlow},
	{Name: "client|getname", Categories: CatSlow | CatConnection},
	{Name: "client|help", Categories: CatSlow | CatConnection},
	{Name: "client|id", Categories: CatSlow | CatConnection},
	{Name: "client|info", Categories: CatSlow | CatConnection},
	{Name: "client|kill", Categories: CatAdmin | CatSlow | CatDangerous | CatConnection},
	{Name: "client|list", Categories: CatAdmin | CatSlow | CatDangerous | CatConnection},
	{Name: "client|no-evict", Categories: CatAdmin | CatSlow | CatDangerous | CatConnection},
	{Name: "client|setinfo", Categories: CatSlow | CatConnection},
	{Name: "client|setname", Categories: CatSlow | CatConnection},
	{Name: "cluster", Categories: CatSlow},
	{Name: "cluster|addnode", Categories: CatAdmin | CatSlow | CatDangerous},
	{Name: "cluster|countkeysinslot", Categories: CatSlow},
	{Name: "cluster|getkeysinslot", Categories: CatSlow},
	{Name: "cluster|info", Categories: CatSlow},
	{Name: "cluster|keyslot", Categories: CatSlow},
	{Name: "cluster|myid", Categories: CatSlow},
	{Name: "cluster|nodes", Categories: CatSlow},
	{Name: "cluster|promote", Categories: CatAdmin | CatSlow | CatDangerous},
	{Name: "cluster|removenode", Categories: CatAdmin | CatSlow | CatDangerous},
	{Name: "cluster|replacenode", Categories: CatAdmin | CatSlow | CatDangerous},
	{Name: "cluster|shards", Categories: CatSlow},
	{Name: "cluster|slots", Categories: CatSlow},
	{Name: "cluster|transfer-leader", Categories: CatAdmin | CatSlow | CatDangerous},
	{Name: "command", Categories: CatSlow | CatConnection},
	{Name: "command|count", Categories: CatSlow | CatConnection},
	{Name: "command|docs", Categories: CatSlow | CatConnection},
	{Name: "command|info", Categories: CatSlow | CatConnection},
	{Name: "command|list", Categories: CatSlow | CatConnection},
	{Name: "config", Categories: CatSlow},
	{Name: "config|get", Categories: adm},
	{Name: "config|resetstat", Categories: CatAdmin | CatSlow | CatDangerous},
	{Name: "config|set", Categories: CatAdmin | CatSlow | CatDangerous},
	{Name: "copy", Categories: CatKeyspace | CatWrite | CatSlow, FirstKey: 1, LastKey: 2, KeyStep: 1},
	{Name: "dbsize", Categories: CatKeyspace | CatRead | CatFast},
	{Name: "debug", Categories: CatAdmin | CatSlow | CatDangerous},
	{Name: "decr", Categories: rw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "decrby", Categories: rw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "del", Categories: kw | CatSlow, FirstKey: 1, LastKey: -1, KeyStep: 1},
	{Name: "discard", Categories: CatFast | CatTransaction},
	{Name: "echo", Categories: CatFast | CatConnection},
	{Name: "exec", Categories: CatSlow | CatTransaction},
	{Name: "exists", Categories: kr | CatFast, FirstKey: 1, LastKey: -1, KeyStep: 1},
	{Name: "expire", Categories: kw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "expireat", Categories: kw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "expiretime", Categories: kr | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "flushall", Categories: CatKeyspace | CatWrite | CatSlow | CatDangerous},
	{Name: "flushdb", Categories: CatKeyspace | CatWrite | CatSlow | CatDangerous},
	{Name: "get", Categories: rs | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "getdel", Categories: rw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "getex", Categories: rw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "getrange", Categories: CatRead | CatString | CatSlow, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "getset", Categories: CatWrite | CatString | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "hello", Categories: CatFast | CatConnection, NoAuth: true},
	{Name: "incr", Categories: rw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "incrby", Categories: rw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "incrbyfloat", Categories: CatWrite | CatString | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "info", Categories: CatSlow | CatDangerous},
	{Name: "keys", Categories: CatKeyspace | CatRead | CatSlow | CatDangerous},
	{Name: "lastsave", Categories: CatAdmin | CatFast | CatDangerous},
	{Name: "lcs", Categories: CatRead | CatString | CatSlow, FirstKey: 1, LastKey: 2, KeyStep: 1},
	{Name: "mget", Categories: rs | CatFast, FirstKey: 1, LastKey: -1, KeyStep: 1},
	{Name: "mset", Categories: rw | CatSlow, FirstKey: 1, LastKey: -1, KeyStep: 2},
	{Name: "msetnx", Categories: CatWrite | CatString | CatSlow, FirstKey: 1, LastKey: -1, KeyStep: 2},
	{Name: "multi", Categories: CatFast | CatTransaction},
	{Name: "persist", Categories: kw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "pexpire", Categories: kw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "pexpireat", Categories: kw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "pexpiretime", Categories: kr | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "ping", Categories: CatFast | CatConnection},
	{Name: "psetex", Categories: rw | CatSlow, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "pttl", Categories: kr | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "quit", Categories: CatFast | CatConnection, NoAuth: true},
	{Name: "randomkey", Categories: CatKeyspace | CatRead | CatSlow},
	{Name: "readonly", Categories: CatFast | CatConnection},
	{Name: "readwrite", Categories: CatFast | CatConnection},
	{Name: "rename", Categories: CatKeyspace | CatWrite | CatSlow, FirstKey: 1, LastKey: 2, KeyStep: 1},
	{Name: "renamenx", Categories: CatKeyspace | CatWrite | CatFast, FirstKey: 1, LastKey: 2, KeyStep: 1},
	{Name: "role", Categories: CatAdmin | CatFast | CatDangerous},
	{Name: "scan", Categories: CatKeyspace | CatRead | CatSlow},
	{Name: "select", Categories: CatFast | CatConnection},
	{Name: "set", Categories: rw | CatSlow, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "setex", Categories: rw | CatSlow, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "setnx", Categories: rw | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "setrange", Categories: CatWrite | CatString | CatSlow, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "strlen", Categories: rs | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "time", Categories: CatFast},
	{Name: "touch", Categories: CatKeyspace | CatRead | CatFast, FirstKey: 1, LastKey: -1, KeyStep: 1},
	{Name: "ttl", Categories: kr | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "type", Categories: CatKeyspace | CatRead | CatFast, FirstKey: 1, LastKey: 1, KeyStep: 1},
	{Name: "unlink", Categories: CatKeyspace | CatWrite | CatFast, FirstKey: 1, LastKey: -1, KeyStep: 1},
	{Name: "unwatch", Categories: CatFast | CatTransaction},
	{Name: "wait", Categories: CatSlow | CatConnection},
	{Name: "watch", Categories: CatFast | CatTransaction, FirstKey: 1, LastKey: -1, KeyStep: 1},
}

// commandCount bounds the catalog to a bitset's width.
const commandCount = 128

func init() {
	if len(commands) > commandCount {
		panic("acl: the catalog outgrew the permission bitset")
	}
}

// Commands returns the catalog, for tests that check it against Redis.
func Commands() []Command { return commands }

// Lookup returns the catalog entry of a full command name, and its index.
func Lookup(name string) (*Command, int) {
	for i := range commands {
		if equalFold(commands[i].Name, name) {
			return &commands[i], i
		}
	}
	return nil, -1
}

// Keys returns the key arguments of args (args[0] is the command's name)
// under c's key positions.
func (c *Command) Keys(args [][]byte) [][]byte {
	if c.FirstKey == 0 || len(args) <= c.FirstKey {
		return nil
	}
	last := c.LastKey
	if last < 0 {
		last = len(args) + last
	}
	last = min(last, len(args)-1)
	var keys [][]byte
	for i := c.FirstKey; i <= last; i += c.KeyStep {
		keys = append(keys, args[i])
	}
	return keys
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
