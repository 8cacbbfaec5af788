package resp

import (
	"slices"
	"strconv"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7's
// queueing. Between MULTI and EXEC each command is checked as Redis
// checks it when queueing (unknown name, arity) and answered QUEUED; its
// own argument checks run then too, and what they refuse is the reply
// that command gets inside EXEC's array, as Redis's runtime errors are.
// EXEC submits the queued data commands as ONE op (kv.Exec, or
// kv.ExecRead when all are reads, served by ReadIndex), so the backend
// applies them as one raft entry on every replica, and checks the
// watched keys' version tokens there (kv/txn.go).
//
// WATCH is a read that answers the keys' tokens. Its answer arrives
// after later commands of the pipeline have been executed, so the
// connection keeps its watches in command order as entries the answer
// fills in, and EXEC's op takes the tokens only when the sequencer hands
// it to the backend (queuedOp.prepare): by then every earlier group of
// the connection, WATCH's included, has been answered.

// The default transaction limits (Limits.TxnCommandsMax, TxnBytesMax).
// A transaction is one raft entry applied in one go, so its write keys
// also count against KeysPerWriteMax.
const (
	TxnCommandsMaxDefault = 1000
	TxnBytesMaxDefault    = groupBytesMax
)

const (
	errNestedMulti   = "ERR MULTI calls can not be nested"
	errExecNoMulti   = "ERR EXEC without MULTI"
	errDiscardNo     = "ERR DISCARD without MULTI"
	errWatchInMulti  = "ERR WATCH inside MULTI is not allowed"
	errExecAbort     = "EXECABORT Transaction discarded because of previous errors."
	execAbortBecause = "EXECABORT Transaction discarded because of: "
)

// txnTooLarge is Seshat's own refusal of a command that would take a
// transaction past its limits; the transaction is then discarded at EXEC.
func txnTooLarge(what string, limit int) string {
	return "ERR transaction too large: more than " + strconv.Itoa(limit) + " " + what + " queued (Seshat's limit); EXEC will discard it"
}

// txnState is a connection between MULTI and EXEC or DISCARD.
type txnState struct {
	slots     []txnSlot
	dirty     bool // a command was refused while queueing: EXEC aborts
	bytes     int
	writeKeys int
	// capturing is the slot of the command being queued: submit files
	// its op there instead of running it.
	capturing *txnSlot
}

// txnSlot is one queued command: a data op and how its result reads, or
// a command that is not a data command (or whose arguments were refused),
// run again at EXEC for its reply, as Redis runs it there.
type txnSlot struct {
	op     *kv.Op
	format func(kv.Result) []byte
	cmd    *command
	args   [][]byte
	reply  []byte
}

// watchEntry is one watched key; token is filled in by WATCH's answer,
// and stays nil if WATCH failed (EXEC then aborts).
type watchEntry struct {
	key   []byte
	token []byte
}

// neverToken is the token of a key whose WATCH failed: EXEC aborts.
var neverToken = []byte{kv.WatchTokenNever, 0, 0, 0, 0, 0, 0, 0, 0}

// inTxn handles what a transaction changes in Execute, and reports
// whether it did: EXEC's arity error, and queueing inside MULTI. cmd is
// the resolved command (nil if unknown) and msg the error Execute would
// reply, or "".
func (e *Executor) inTxn(cmd *command, args [][]byte, msg string, reply func([]byte)) bool {
	if cmd != nil && cmd.name == "exec" && msg != "" {
		// Redis aborts the transaction on a malformed EXEC, in MULTI or not.
		e.txn, e.watches = nil, nil
		reply(AppendError(nil, execAbortBecause+strings.TrimPrefix(msg, "ERR ")))
		return true
	}
	if e.txn == nil {
		return false
	}
	if msg != "" {
		e.txn.dirty = true
		reply(AppendError(nil, msg))
		return true
	}
	switch cmd.name {
	case "exec", "discard", "multi", "watch", "quit":
		return false
	}
	// As Redis: a command the user may not run is refused when queued,
	// and the transaction with it.
	if msg := e.permit(cmd, args); msg != "" {
		e.txn.dirty = true
		replyErr(reply, msg)
		return true
	}
	e.queue(cmd, args, reply)
	return true
}

// queue runs cmd's own checks now and files what it would do for EXEC.
func (e *Executor) queue(cmd *command, args [][]byte, reply func([]byte)) {
	t := e.txn
	if len(t.slots) >= e.limits.TxnCommandsMax {
		t.dirty = true
		replyErr(reply, txnTooLarge("commands", e.limits.TxnCommandsMax))
		return
	}
	for _, a := range args {
		t.bytes += len(a)
	}
	if t.bytes > e.limits.TxnBytesMax {
		t.dirty = true
		replyErr(reply, txnTooLarge("bytes", e.limits.TxnBytesMax))
		return
	}
	slot := txnSlot{}
	if cmd.name == "unwatch" {
		// Run at EXEC, which forgets the watches anyway: a no-op.
		slot.reply = AppendSimple(nil, "OK")
	} else {
		// Run now only to learn whether it is a data command (its op is
		// captured); what else it did to the connection is undone, and
		// it runs again at EXEC.
		saved := e.connFields()
		t.capturing = &slot
		cmd.run(e, args, func([]byte) {})
		t.capturing = nil
		e.setConnFields(saved)
		if slot.op == nil {
			slot.cmd, slot.args = cmd, copyArgs(args)
		}
	}
	if slot.op != nil && !slot.op.Kind.IsRead() {
		t.writeKeys += max(len(slot.op.Keys), 1)
		if t.writeKeys > e.limits.KeysPerWriteMax {
			t.dirty = true
			replyErr(reply, txnTooLarge("keys of writes", e.limits.KeysPerWriteMax))
			return
		}
	}
	t.slots = append(t.slots, slot)
	reply(AppendSimple(nil, "QUEUED"))
}

// connFields is what a command may change of its connection: a queued
// AUTH, like a queued CLIENT SETNAME, takes effect at EXEC, as in Redis.
type connFields struct {
	name, libName, libVer, user string
	authed                      bool
}

func (e *Executor) connFields() connFields {
	return connFields{e.name, e.libName, e.libVer, e.user, e.authed}
}

func (e *Executor) setConnFields(f connFields) {
	e.name, e.libName, e.libVer, e.user, e.authed = f.name, f.libName, f.libVer, f.user, f.authed
}

// captured files op for EXEC if a command is being queued.
func (e *Executor) captured(op kv.Op, format func(kv.Result) []byte) bool {
	if e.txn == nil || e.txn.capturing == nil {
		return false
	}
	e.txn.capturing.op, e.txn.capturing.format = &op, format
	return true
}

func (e *Executor) multi(args [][]byte, reply func([]byte)) {
	if e.txn != nil {
		replyErr(reply, errNestedMulti)
		return
	}
	// The watched keys ride in EXEC's entry: they take their share of
	// the transaction's bytes.
	e.txn = &txnState{bytes: watchedBytes(e.watches)}
	reply(AppendSimple(nil, "OK"))
}

func (e *Executor) discard(args [][]byte, reply func([]byte)) {
	if e.txn == nil {
		replyErr(reply, errDiscardNo)
		return
	}
	e.txn, e.watches = nil, nil
	reply(AppendSimple(nil, "OK"))
}

func (e *Executor) unwatch(args [][]byte, reply func([]byte)) {
	e.watches = nil
	reply(AppendSimple(nil, "OK"))
}

func (e *Executor) watch(args [][]byte, reply func([]byte)) {
	if e.txn != nil {
		replyErr(reply, errWatchInMulti)
		return
	}
	keys := args[1:]
	if msg := e.checkKeys(keys); msg != "" {
		replyErr(reply, msg)
		return
	}
	if msg := e.checkWatchRoom(keys); msg != "" {
		replyErr(reply, msg)
		return
	}
	op := kv.Op{Kind: kv.Watch, Keys: copyArgs(keys)}
	entries := make([]*watchEntry, len(keys))
	for i := range entries {
		entries[i] = &watchEntry{key: op.Keys[i]}
		// A key watched twice keeps its first token, as in Redis.
		if !slices.ContainsFunc(e.watches, func(w *watchEntry) bool { return string(w.key) == string(op.Keys[i]) }) {
			e.watches = append(e.watches, entries[i])
		}
	}
	e.submit(op, reply, func(res kv.Result) []byte {
		for i, w := range entries {
			w.token = res.Values[i]
		}
		return AppendSimple(nil, "OK")
	})
}

// checkWatchRoom bounds the keys a connection watches. EXEC's entry
// carries every watched key and its token, and Apply checks them inside
// raft's loop: so they count against the bound on one write's keys
// (KeysPerWriteMax), and their bytes against TxnBytesMax, which the
// queued commands then share (multi). Redis has no such bound.
func (e *Executor) checkWatchRoom(keys [][]byte) string {
	n, bytes := len(e.watches)+len(keys), watchedBytes(e.watches)
	for _, k := range keys {
		bytes += len(k) + kv.WatchTokenBytes
	}
	switch {
	case n > e.limits.KeysPerWriteMax:
		return tooManyWatched("keys", e.limits.KeysPerWriteMax)
	case bytes > e.limits.TxnBytesMax:
		return tooManyWatched("bytes", e.limits.TxnBytesMax)
	}
	return ""
}

func watchedBytes(watches []*watchEntry) int {
	n := 0
	for _, w := range watches {
		n += len(w.key) + kv.WatchTokenBytes
	}
	return n
}

func tooManyWatched(what string, limit int) string {
	return "ERR too many watched keys: more than " + strconv.Itoa(limit) + " " + what + " watched on this connection (Seshat's limit); EXEC, DISCARD or UNWATCH first"
}

func (e *Executor) exec(args [][]byte, reply func([]byte)) {
	t, watches := e.txn, e.watches
	if t == nil {
		replyErr(reply, errExecNoMulti)
		return
	}
	e.txn, e.watches = nil, nil
	if t.dirty {
		replyErr(reply, errExecAbort)
		return
	}
	var ops []kv.Op
	for i := range t.slots {
		s := &t.slots[i]
		if s.op != nil {
			ops = append(ops, *s.op)
			continue
		}
		if s.cmd != nil {
			// Its reply is final: a command that submits an op was
			// captured as one when queued.
			s.cmd.run(e, s.args, func(b []byte) { s.reply = b })
		}
	}
	format := func(res kv.Result) []byte {
		if res.Nil {
			return AppendNullArray(nil)
		}
		out := AppendArray(nil, len(t.slots))
		j := 0
		for _, s := range t.slots {
			if s.op == nil {
				out = append(out, s.reply...)
				continue
			}
			out = append(out, formatResult(res.Results[j], s.format)...)
			j++
		}
		return out
	}
	if len(ops) == 0 && len(watches) == 0 {
		reply(format(kv.Result{}))
		return
	}
	kind := kv.Exec
	if kv.IsTxnRead(ops) {
		kind = kv.ExecRead
	}
	if e.UnsafeIgnoreWatch {
		watches = nil
	}
	if e.UnsafeSplitTxn && kind == kv.Exec && len(watches) == 0 {
		e.execSplit(t, reply)
		return
	}
	op := kv.Op{Kind: kind, Ops: ops, Keys: make([][]byte, len(watches)), Values: make([][]byte, len(watches))}
	for i, w := range watches {
		op.Keys[i] = w.key
	}
	e.seq.add(queuedOp{op: op, reply: reply, format: format, prepare: func(op *kv.Op) {
		for i, w := range watches {
			op.Values[i] = w.token
			if w.token == nil {
				// NB: the sequencer submits EXEC only after WATCH was
				// answered; a missing token would be a bug: abort safely.
				op.Values[i] = neverToken
			}
		}
	}})
}

// execSplit submits each queued data command as a group of its own,
// with a read between them so that the sequencer cannot join them: one
// raft entry each. TEST ONLY (Executor.UnsafeSplitTxn): it proves the
// simulator catches a transaction applied as separate entries.
func (e *Executor) execSplit(t *txnState, reply func([]byte)) {
	parts := make([][]byte, len(t.slots))
	left := 0
	for _, s := range t.slots {
		if s.op != nil {
			left++
		}
	}
	for j, s := range t.slots {
		if s.op == nil {
			parts[j] = s.reply
			continue
		}
		e.seq.add(queuedOp{op: *s.op, format: s.format, reply: func(b []byte) {
			parts[j] = b
			if left--; left == 0 {
				out := AppendArray(nil, len(parts))
				for _, p := range parts {
					out = append(out, p...)
				}
				reply(out)
			}
		}})
		e.seq.add(queuedOp{op: kv.Op{Kind: kv.DBSize}, format: formatInt, reply: func([]byte) {}})
	}
}

// txnCommands are the transaction commands of the table.
func txnCommands() []*command {
	return []*command{
		{name: "discard", arity: 1, run: (*Executor).discard},
		{name: "exec", arity: 1, run: (*Executor).exec},
		{name: "multi", arity: 1, run: (*Executor).multi},
		{name: "unwatch", arity: 1, run: (*Executor).unwatch},
		{name: "watch", arity: -2, run: (*Executor).watch},
	}
}
