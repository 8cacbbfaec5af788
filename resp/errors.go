package resp

import (
	"errors"
	"fmt"
	"github.com/seshat-db/seshat/acl"
	"strconv"
	"strings"

	"github.com/seshat-db/seshat/kv"
)

// Error replies, without the leading "-". Those marked "ours" are
// Seshat's; every other text is Redis 7.0's, byte for byte.
const (
	errSyntax        = "ERR syntax error"
	errNotInteger    = "ERR value is not an integer or out of range"
	errDecrOverflow  = "ERR decrement would overflow"
	errDBIndex       = "ERR DB index is out of range"
	errIntRange      = "ERR value is out of range, value must between -2147483648 and 2147483647"
	errNoProto       = "NOPROTO unsupported protocol version"
	errProtoNotInt   = "ERR Protocol version is not an integer or out of range"
	errWrongPass     = "WRONGPASS invalid username-password pair or user is disabled."
	errClientName    = "ERR Client names cannot contain spaces, newlines or special characters."
	errKeyTooLarge   = "ERR key too large"   // ours
	errValueTooLarge = "ERR value too large" // ours, the same text as kv.ErrValueTooLarge
)

// tooManyKeys is Seshat's own reply to a command with more keys than
// Limits allow (Redis has no such bound).
func tooManyKeys(limit int) string {
	return "ERR too many keys in one command (max " + strconv.Itoa(limit) + ")"
}

// wrongArity is Redis's reply to a command with too many or too few
// arguments. name is the lower-case table name, "container|sub" for a
// subcommand.
func wrongArity(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// unknownCommand is Redis 7.0's reply to a command it does not know. The
// name and each argument are printed as C strings (cut at a NUL byte),
// the name cut at 128 bytes, and the arguments only while the list of
// them is shorter than 128 bytes. Note the trailing space.
func unknownCommand(args [][]byte) string {
	var list []byte
	for _, a := range args[1:] {
		if len(list) >= 128 {
			break
		}
		list = append(list, '\'')
		list = append(list, truncate(cString(a), 128-len(list)+1)...)
		list = append(list, '\'', ' ')
	}
	return "ERR unknown command '" + string(truncate(cString(args[0]), 128)) +
		"', with args beginning with: " + string(list)
}

// unknownSubcommand is Redis 7.0's reply to an unknown subcommand of a
// container command such as CLIENT.
func unknownSubcommand(container string, sub []byte) string {
	return "ERR unknown subcommand '" + string(truncate(cString(sub), 128)) +
		"'. Try " + strings.ToUpper(container) + " HELP."
}

// backendErrors words each outcome a backend can end an operation with
// as the reply a Redis client sees: its code (the first word) is what a
// client library acts on (go-redis retries TRYAGAIN, LOADING and
// CLUSTERDOWN by itself, so only a request that never ran gets one of
// them; no client retries UNKNOWN or NOQUORUM), and the rest says why in
// Seshat's terms.
var backendErrors = []struct {
	err   error
	reply string
}{
	// CLUSTERDOWN, as Redis Cluster says of a slot with no master: go-redis
	// and other cluster clients retry it by themselves (and reload the
	// topology), which is right, since the request never ran. An election
	// mostly ends within their retries.
	{kv.ErrNoQuorum, "CLUSTERDOWN no raft leader is known to this node (an election is under way, or a quorum is unreachable); the request was not executed"},
	// Not retried by clients: the read already waited the whole request
	// timeout, and three more such waits would only hide the outage.
	{kv.ErrReadTimeout, "NOQUORUM the read could not be confirmed by a quorum in time; the request was not executed"},
	{kv.ErrOutcomeUnknown, "UNKNOWN the write was proposed but its outcome is unknown (leader lost or timeout); it may or may not have been applied"},
	{kv.ErrBusy, "TRYAGAIN too many requests in flight on this node; retry later"},
	{kv.ErrTransferring, "TRYAGAIN the leader is handing leadership to another member (CLUSTER TRANSFER-LEADER); the request was not executed; retry later"},
	{kv.ErrUncommittedFull, "TRYAGAIN the leader's log holds as many uncommitted bytes as it may (large writes arrive faster than a quorum stores them); the request was not executed; retry later"},
	{kv.ErrJoining, "LOADING this node has no data yet: it is joining the cluster; the request was not executed"},
	// NOSPACE is Seshat's own code, after etcd's NOSPACE alarm: Redis's
	// nearest reply, MISCONF, speaks of RDB snapshots, which Seshat has not.
	{kv.ErrNoSpace, "NOSPACE this node's disk is full: it stopped and serves no command until it is restarted with free space; the request was not executed"},
	{kv.ErrStopped, "ERR node stopped after a storage failure"},
	{kv.ErrReplyTooLarge, "ERR reply too large: the values of this read pass the node's bound on one reply (client_output_buffer_hard_bytes); read fewer keys per command"},
	{kv.ErrLongReadsBusy, "TRYAGAIN long reads hold as much memory as this node allows them (maxmemory_clients_bytes); the request was not executed; retry later"},
	{kv.ErrReadFailed, "ERR read failed on a storage error; the request was not executed"},
	{kv.ErrShuttingDown, "ERR server is shutting down"},
	// CLUSTERDOWN: cluster clients retry it after reloading the topology,
	// which no longer lists this node.
	{kv.ErrRemoved, "CLUSTERDOWN this node was removed from the cluster and serves no command; the request was not executed"},
	{kv.ErrNotInteger, errNotInteger},
	{kv.ErrOverflow, "ERR increment or decrement would overflow"},
	{kv.ErrValueTooLarge, errValueTooLarge},
	{kv.ErrNoSuchKey, "ERR no such key"},
	{kv.ErrSameObject, errSameObject},
	{kv.ErrNotFloat, "ERR value is not a valid float"},
	{kv.ErrNaNOrInf, "ERR increment would produce NaN or Infinity"},
}

// ErrorReply is the reply, without the leading "-", to an operation that
// ended with err.
func ErrorReply(err error) string {
	var rule *acl.RuleError
	if errors.As(err, &rule) {
		return rule.Error()
	}
	var whole *acl.ReplyError
	if errors.As(err, &whole) {
		return whole.Text
	}
	var tooLarge *kv.WriteTooLargeError
	if errors.As(err, &tooLarge) {
		return fmt.Sprintf("ERR write too large: its raft log entry is %d bytes, over the %d bytes one entry may hold; the request was not executed; split it into smaller commands", tooLarge.Bytes, tooLarge.Max)
	}
	for _, e := range backendErrors {
		if errors.Is(err, e.err) {
			return e.reply
		}
	}
	// NB: every error a backend returns is in the table; an unknown one is
	// a bug, but the client still learns what it says.
	return "ERR " + err.Error()
}
