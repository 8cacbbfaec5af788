package resp

import (
	"bytes"
	"github.com/seshat-db/seshat/acl"
	"slices"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// Backend runs key-value operations. *node.Node implements it.
//
// Submit runs a group of operations, all reads or all writes, in order as
// one: each op sees the effects of the ops before it and no other
// client's ops come between them. It must not block. It calls done
// exactly once, either before it returns or later, with one result per
// op, each with the op's result or with Result.Err set to an error whose
// text starts with a Redis error code (a group that fails as a whole
// gives every op the same error). It may keep ops until then; the
// Executor never reuses their memory.
type Backend interface {
	Submit(ops []kv.Op, done func([]kv.Result))
}

// Limits bounds the keys and values clients may store. A zero field takes
// its default.
type Limits struct {
	KeyBytesMax     int // default 256
	ValueBytesMax   int // default 65536
	KeysPerWriteMax int // keys of one DEL or MSET; default 500
	KeysPerReadMax  int // keys of one MGET or EXISTS; default 1,000,000
	TxnCommandsMax  int // commands queued between MULTI and EXEC; default 1,000
	TxnBytesMax     int // their argument bytes; default 1 MiB (one group's bound)
}

// The default Limits, the product's. A write's keys apply on the node's
// event goroutine, where no tick runs meanwhile: 1,000 keys took 16 ms
// there on a store that had run a while, commit included (storage's
// BenchmarkApplyManyKeys), so 500 keep a write near 8 ms. A read's keys
// are read off that goroutine, in chunks; its bound caps the memory and
// time of one command.
const (
	KeyBytesMaxDefault     = 256
	ValueBytesMaxDefault   = 64 << 10
	KeysPerWriteMaxDefault = 500
	KeysPerReadMaxDefault  = 1_000_000
)

// ServerInfo lets INFO describe the node that serves the connection.
type ServerInfo interface {
	// InfoSections returns the sections INFO lists after its own Server
	// section, in order. It is called on every INFO and must not block.
	InfoSections() []InfoSection
}

// InfoSection is one "# Name" block of INFO's reply: one "key:value"
// line per field, in order.
type InfoSection struct {
	Name   string
	Fields [][2]string
}

// Executor runs the commands of one client connection. It holds the
// connection's state (its id and name, and the order of its data
// commands: sequencer.go), so a server makes one per connection; it is
// cheap. Execute and Flush are called from one goroutine (or one
// simulator event) at a time; Close and the replies may come from any.
type Executor struct {
	// ClientID is the connection's id, reported by CLIENT ID and HELLO.
	// The server sets it after NewExecutor, before the first Execute.
	ClientID int64
	// UnsafeUnordered (TEST ONLY) submits every data command at once, on
	// its own, as Seshat did before commands were sequenced: a later
	// command of the connection may then overtake an earlier one. It
	// exists to show that the simulator's checker catches that.
	UnsafeUnordered bool
	// UnsafeSplitTxn (TEST ONLY) makes EXEC submit a transaction's
	// commands as separate raft entries (multi.go: execSplit).
	UnsafeSplitTxn bool
	// UnsafeIgnoreWatch (TEST ONLY) makes EXEC run whatever happened to
	// the watched keys: it proves the simulator catches a lost update.
	UnsafeIgnoreWatch bool
	// UnsafeNoAuth (TEST ONLY) lets every command through unchecked, as
	// if the connection had authenticated as a user with every right. It
	// exists to show that the simulator's strangers' probe catches it.
	UnsafeNoAuth bool

	backend Backend
	seq     sequencer
	limits  Limits
	info    ServerInfo
	name    string        // set by CLIENT SETNAME and HELLO SETNAME
	libName string        // set by CLIENT SETINFO LIB-NAME
	libVer  string        // set by CLIENT SETINFO LIB-VER
	conn    connDesc      // CLIENT LIST's view of the connection (clients.go)
	txn     *txnState     // between MULTI and EXEC (multi.go)
	watches []*watchEntry // WATCHed keys, in command order
	user    string        // the user AUTH or HELLO authenticated as ("": default)
	authed  bool          // AUTH or HELLO AUTH succeeded (auth.go)
	// deferring: an ACL change or a command that reads the users waits
	// in the sequencer, so every later command waits its turn there too
	// (runInTurn).
	deferring bool

	// OnAuthFailed, if set, hears of each failed AUTH or HELLO AUTH,
	// with the user named (never the password): for metrics and logs.
	OnAuthFailed func(user string)
}

// NewExecutor returns an Executor for one connection that runs key-value
// operations on b. info may be nil.
func NewExecutor(b Backend, l Limits, info ServerInfo) *Executor {
	if l.KeyBytesMax <= 0 {
		l.KeyBytesMax = KeyBytesMaxDefault
	}
	if l.ValueBytesMax <= 0 {
		l.ValueBytesMax = ValueBytesMaxDefault
	}
	if l.KeysPerWriteMax <= 0 {
		l.KeysPerWriteMax = KeysPerWriteMaxDefault
	}
	if l.KeysPerReadMax <= 0 {
		l.KeysPerReadMax = KeysPerReadMaxDefault
	}
	if l.TxnCommandsMax <= 0 {
		l.TxnCommandsMax = TxnCommandsMaxDefault
	}
	if l.TxnBytesMax <= 0 {
		l.TxnBytesMax = TxnBytesMaxDefault
	}
	return &Executor{backend: b, limits: l, info: info, seq: sequencer{backend: b, writeKeysMax: l.KeysPerWriteMax, mu: noLock{}}, conn: connDesc{mu: noLock{}}}
}

// Flush tells the Executor that the commands executed so far are all that
// arrived together (the complete commands of one read from the socket).
// Data commands wait for it, so that those that arrived together can run
// as one group; a caller that executes commands must call Flush after
// them, or their replies never come.
func (e *Executor) Flush() { e.seq.flush() }

// SetLocker makes the Executor take l around the state it shares with its
// replies: needed, before the first Execute, when the Backend answers on
// other goroutines than the caller's (sync.Mutex does).
func (e *Executor) SetLocker(l Locker) { e.seq.mu = l }

// Close drops the data commands that were executed but not yet submitted;
// their replies never come. The server calls it when the connection ends.
func (e *Executor) Close() { e.seq.close() }

// ClientName returns the name the client gave itself, or "".
func (e *Executor) ClientName() string { return e.name }

// Execute runs one command: args[0] is its name, in any case. reply is
// called exactly once with the complete RESP2 reply, either before Execute
// returns or later: a data command's reply comes after a later Flush, in
// the connection's order, from inside that call or a Backend callback. The reply slice is the
// callee's to keep. Execute never blocks, and keeps nothing of args after
// it returns: the operation it submits owns copies.
//
// An empty args (which ParseCommand never returns) gets an empty reply,
// because Redis answers an empty command with nothing at all.
func (e *Executor) Execute(args [][]byte, reply func([]byte)) {
	if len(args) == 0 {
		reply(nil)
		return
	}
	top, cmd, msg := resolve(args)
	if msg == "" {
		e.noteCommand(top, cmd)
	}
	if e.inTxn(cmd, args, msg, reply) {
		return
	}
	if msg != "" {
		reply(AppendError(nil, msg))
		return
	}
	if e.runInTurn(cmd, args, reply) {
		return
	}
	e.execute(cmd, args, reply)
}

// resolve finds args' command (its subcommand, for a container) and
// checks its arity: the command named first (top) and the one to run, or
// nil if unknown, and the error to reply, or "".
func resolve(args [][]byte) (top, cmd *command, msg string) {
	cmd = lookup(commands, args[0])
	if cmd == nil {
		return nil, nil, unknownCommand(args)
	}
	// NB: Redis 7.0 answers QUIT before it looks at the arguments.
	if cmd.name != "quit" && !arityOK(cmd.arity, len(args)) {
		return cmd, cmd, wrongArity(cmd.name)
	}
	top = cmd
	if cmd.subcommands != nil && len(args) >= 2 {
		sub := lookup(cmd.subcommands, args[1])
		if sub == nil {
			return top, cmd, unknownSubcommand(cmd.name, args[1])
		}
		if !arityOK(sub.arity, len(args)) {
			return top, cmd, wrongArity(cmd.name + "|" + sub.name)
		}
		cmd = sub
	}
	return top, cmd, ""
}

func (e *Executor) execute(cmd *command, args [][]byte, reply func([]byte)) {
	if msg := e.permit(cmd, args); msg != "" {
		replyErr(reply, msg)
		return
	}
	cmd.run(e, args, reply)
}

// runInTurn queues cmd to run once every earlier command of the
// connection has been answered, when it must: it reads the users (AUTH,
// HELLO, ACL) while an earlier command is still in the sequencer, which
// may be an ACL SETUSER or DELUSER that changes them, or it follows one
// that waits so. Redis runs a connection's commands one after another,
// so ACL GETUSER or AUTH pipelined after ACL SETUSER sees the user it set.
func (e *Executor) runInTurn(cmd *command, args [][]byte, reply func([]byte)) bool {
	if e.UnsafeUnordered {
		return false
	}
	busy := e.seq.busy()
	if !busy {
		e.deferring = false
	}
	readsUsers := equalFold(args[0], "auth") || equalFold(args[0], "hello") || equalFold(args[0], "acl")
	if !busy || !e.deferring && !readsUsers {
		if readsUsers {
			// An ACL change queued now: commands after it wait for it.
			e.deferring = len(args) > 1 && (equalFold(args[1], "setuser") || equalFold(args[1], "deluser"))
		}
		return false
	}
	e.deferring = true
	args = copyArgs(args)
	e.seq.addLocal(func() { e.execute(cmd, args, reply) })
	return true
}

func equalFold(b []byte, s string) bool { return strings.EqualFold(string(b), s) }

// IsQuit reports whether args is a QUIT command. The server sends QUIT's
// reply (+OK) and then closes the connection.
func IsQuit(args [][]byte) bool {
	return len(args) > 0 && strings.EqualFold(string(args[0]), "quit")
}

// command is one entry of the command table.
type command struct {
	name  string // lower case, as Redis names it in errors
	arity int    // Redis's: n means exactly n arguments, -n at least n
	// run executes a command whose arity has been checked.
	run         func(e *Executor, args [][]byte, reply func([]byte))
	subcommands []*command
	// acl is the command's ACL catalog entry and index, found once at
	// init (auth.go), so the check on each command does not search.
	acl      *acl.Command
	aclIndex int
}

func arityOK(arity, n int) bool {
	if arity >= 0 {
		return n == arity
	}
	return n >= -arity
}

func lookup(table []*command, name []byte) *command {
	// The tables are small; a linear scan avoids a map, and with it any
	// question of iteration order.
	for _, c := range table {
		if len(c.name) == len(name) && strings.EqualFold(c.name, string(name)) {
			return c
		}
	}
	return nil
}

// commands is the command table, in the order COMMAND lists it. It is
// filled in by init because its entries refer to functions that read it.
var commands []*command

func init() {
	commands = []*command{
		{name: "acl", arity: -2, subcommands: []*command{
			{name: "cat", arity: -2, run: (*Executor).aclCat},
			{name: "deluser", arity: -3, run: (*Executor).aclDelUser},
			{name: "getuser", arity: 3, run: (*Executor).aclGetUser},
			{name: "list", arity: 2, run: (*Executor).aclList},
			{name: "setuser", arity: -3, run: (*Executor).aclSetUser},
			{name: "users", arity: 2, run: (*Executor).aclUsers},
			{name: "whoami", arity: 2, run: (*Executor).aclWhoAmI},
		}},
		{name: "append", arity: 3, run: (*Executor).append},
		{name: "asking", arity: 1, run: (*Executor).clusterMode},
		{name: "auth", arity: -2, run: (*Executor).auth},
		{name: "client", arity: -2, subcommands: []*command{
			{name: "getname", arity: 2, run: (*Executor).clientGetName},
			{name: "help", arity: 2, run: (*Executor).clientHelp},
			{name: "id", arity: 2, run: (*Executor).clientID},
			{name: "info", arity: 2, run: (*Executor).clientInfo},
			{name: "kill", arity: -3, run: (*Executor).clientKill},
			{name: "list", arity: -2, run: (*Executor).clientList},
			{name: "no-evict", arity: 3, run: (*Executor).clientNoEvict},
			{name: "setinfo", arity: 4, run: (*Executor).clientSetInfo},
			{name: "setname", arity: 3, run: (*Executor).clientSetName},
		}},
		{name: "cluster", arity: -2, subcommands: clusterSubcommands()},
		{name: "command", arity: -1, run: (*Executor).commandList, subcommands: []*command{
			{name: "count", arity: 2, run: (*Executor).commandCount},
			{name: "docs", arity: -2, run: (*Executor).commandDocs},
			{name: "info", arity: -2, run: (*Executor).commandInfo},
			{name: "list", arity: -2, run: (*Executor).commandNames},
		}},
		{name: "config", arity: -2, subcommands: []*command{
			{name: "get", arity: -3, run: (*Executor).configGet},
			{name: "resetstat", arity: 2, run: (*Executor).configResetStat},
			{name: "set", arity: -4, run: (*Executor).configSet},
		}},
		{name: "dbsize", arity: 1, run: (*Executor).dbsize},
		{name: "decr", arity: 2, run: (*Executor).decr},
		{name: "decrby", arity: 3, run: (*Executor).decrby},
		{name: "del", arity: -2, run: (*Executor).del},
		{name: "echo", arity: 2, run: (*Executor).echo},
		{name: "exists", arity: -2, run: (*Executor).exists},
		{name: "expire", arity: -3, run: (*Executor).expireCmd},
		{name: "expireat", arity: -3, run: (*Executor).expireatCmd},
		{name: "expiretime", arity: 2, run: (*Executor).expiretime},
		{name: "get", arity: 2, run: (*Executor).get},
		{name: "getdel", arity: 2, run: (*Executor).getdel},
		{name: "getex", arity: -2, run: (*Executor).getex},
		{name: "hello", arity: -1, run: (*Executor).hello},
		{name: "incr", arity: 2, run: (*Executor).incr},
		{name: "incrby", arity: 3, run: (*Executor).incrby},
		{name: "info", arity: -1, run: (*Executor).infoCmd},
		{name: "mget", arity: -2, run: (*Executor).mget},
		{name: "mset", arity: -3, run: (*Executor).mset},
		{name: "persist", arity: 2, run: (*Executor).persist},
		{name: "pexpire", arity: -3, run: (*Executor).pexpireCmd},
		{name: "pexpireat", arity: -3, run: (*Executor).pexpireatCmd},
		{name: "pexpiretime", arity: 2, run: (*Executor).pexpiretime},
		{name: "ping", arity: -1, run: (*Executor).ping},
		{name: "psetex", arity: 4, run: (*Executor).psetexCmd},
		{name: "pttl", arity: 2, run: (*Executor).pttl},
		{name: "quit", arity: -1, run: (*Executor).quit},
		{name: "readonly", arity: 1, run: (*Executor).clusterMode},
		{name: "readwrite", arity: 1, run: (*Executor).clusterMode},
		{name: "select", arity: 2, run: (*Executor).selectDB},
		{name: "set", arity: -3, run: (*Executor).set},
		{name: "setex", arity: 4, run: (*Executor).setexCmd},
		{name: "setnx", arity: 3, run: (*Executor).setnx},
		{name: "strlen", arity: 2, run: (*Executor).strlen},
		{name: "ttl", arity: 2, run: (*Executor).ttl},
	}
	commands = append(commands, keyspaceCommands()...)
	commands = append(commands, truthCommands()...)
	commands = append(commands, txnCommands()...)
	slices.SortFunc(commands, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	linkACL()
	commandNames = namesOf(commands) // cmdname.go
}

// cString returns b up to its first NUL byte, as C's printf would print
// it: Redis formats its error messages that way.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// truncate returns at most n bytes of b.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
