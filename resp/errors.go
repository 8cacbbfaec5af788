package resp

import (
	"strconv"
	"strings"
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
	errKeyTooLarge   = "ERR key too large"                                  // ours
	errValueTooLarge = "ERR value too large"                                // ours, the same text as kv.ErrValueTooLarge
	errExpireNotSupp = "ERR expiration options are not supported by seshat" // ours
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
