package resp

import (
	"github.com/seshat-db/seshat/kv"

	"bytes"
	"errors"
	"strconv"
)

// ErrIncomplete is returned by ParseCommand and ParseReply when b holds
// only the beginning of a frame. It is not a protocol error: the caller
// keeps the bytes, reads more and parses again from the same start.
var ErrIncomplete = errors.New("resp: incomplete frame")

// Protocol errors. Their texts are the ones Redis 7 sends before it closes
// the connection, so a server can reply "-" + err.Error() and hang up.
var (
	ErrInvalidBulkLength      = errors.New("ERR Protocol error: invalid bulk length")
	ErrInvalidMultibulkLength = errors.New("ERR Protocol error: invalid multibulk length")
	ErrTooBigMultibulkCount   = errors.New("ERR Protocol error: too big mbulk count string")
	ErrTooBigBulkCount        = errors.New("ERR Protocol error: too big bulk count string")
	ErrTooBigInline           = errors.New("ERR Protocol error: too big inline request")
	ErrUnbalancedQuotes       = errors.New("ERR Protocol error: unbalanced quotes in request")
	// ErrMissingCRLF is ours: Redis skips the two bytes after a bulk
	// string, and the byte after a header's CR, without looking at them.
	// We refuse them unless they are CRLF, because a client that gets
	// this wrong has lost its framing and every later command it sends
	// would be misread.
	ErrMissingCRLF = errors.New("ERR Protocol error: expected CRLF")
	// ErrTooBigCommand is ours too: a RESP array longer than
	// CommandLimits.CommandBytesMax. Redis's nearest bound, its
	// client-query-buffer-limit, closes the connection without a word;
	// we say why first.
	ErrTooBigCommand = errors.New("ERR Protocol error: command larger than the server's limit")
)

// errExpectedDollar builds Redis's error for an array element that is not
// a bulk string.
func errExpectedDollar(got byte) error {
	return errors.New("ERR Protocol error: expected '$', got '" + string(rune(got)) + "'")
}

// CommandLimits bounds what ParseCommand accepts, so a hostile or broken
// client can make the parser neither allocate nor buffer without bound.
type CommandLimits struct {
	// BulkBytesMax is the longest bulk string accepted (Redis's
	// proto-max-bulk-len).
	BulkBytesMax int
	// ArrayLenMax is the most arguments one command may have.
	ArrayLenMax int
	// InlineBytesMax is the longest inline command, and the longest
	// header line (for example "*3") searched for its CRLF
	// (Redis's PROTO_INLINE_MAX_SIZE).
	InlineBytesMax int
	// CommandBytesMax is the most bytes one RESP array may take on the
	// wire, headers and CRLFs included; zero means no bound beyond what
	// the other limits imply. It bounds what a server buffers for one
	// partial command: while ParseCommand answers ErrIncomplete, the
	// partial command is at most max(CommandBytesMax, InlineBytesMax)
	// bytes. An inline command is bounded by InlineBytesMax alone.
	CommandBytesMax int
}

// DefaultCommandLimits are Redis's defaults, except ArrayLenMax: Redis
// allows INT_MAX arguments, we allow one million. CommandBytesMax is
// Redis's client-query-buffer-limit.
var DefaultCommandLimits = CommandLimits{
	BulkBytesMax:    512 << 20,
	ArrayLenMax:     1 << 20,
	InlineBytesMax:  64 << 10,
	CommandBytesMax: 1 << 30,
}

// ParseCommand parses one command with DefaultCommandLimits.
func ParseCommand(b []byte) (args [][]byte, rest []byte, err error) {
	return DefaultCommandLimits.ParseCommand(b)
}

// ParseCommand parses the first command in b, either a RESP array of bulk
// strings or an inline command (a line of space-separated words, as typed
// into telnet), and returns its arguments and the bytes after it.
//
// Empty commands ("*0\r\n", "*-1\r\n" and blank inline lines) are skipped,
// as Redis skips them, so a returned command always has at least one
// argument. The arguments of a RESP array alias b; the caller must not
// overwrite those bytes while it uses them.
//
// A nil error means a command was parsed. ErrIncomplete means b holds
// only part of one, and rest is that part (b without the empty commands
// skipped before it): the caller keeps rest, appends more bytes to it and
// parses again. Any other error is a protocol error whose text is the
// reply to send before closing the connection. Memory allocated is bounded
// by a small multiple of len(b), whatever lengths the input claims.
func (l CommandLimits) ParseCommand(b []byte) (args [][]byte, rest []byte, err error) {
	for {
		if len(b) == 0 {
			return nil, b, ErrIncomplete
		}
		if b[0] == '*' {
			args, rest, err = l.parseMultibulk(b)
		} else {
			args, rest, err = l.parseInline(b)
		}
		if err == ErrIncomplete {
			return nil, b, err
		}
		if err != nil || len(args) > 0 {
			return args, rest, err
		}
		b = rest
	}
}

// line finds the CRLF that ends the header line at the start of b and
// returns the bytes between the type byte and the CR, and the bytes after
// the LF. tooBig is the error for a line longer than lineBytesMax.
func line(b []byte, lineBytesMax int, tooBig error) (body, rest []byte, err error) {
	i := bytes.IndexByte(b, '\r')
	if i < 0 {
		if len(b) > lineBytesMax {
			return nil, nil, tooBig
		}
		return nil, nil, ErrIncomplete
	}
	if i+1 >= len(b) {
		return nil, nil, ErrIncomplete
	}
	if b[i+1] != '\n' {
		return nil, nil, ErrMissingCRLF
	}
	return b[1:i], b[i+2:], nil
}

// parseMultibulk parses a RESP array. It checks CommandBytesMax twice:
// against the lengths the client declares, so an oversized command is
// refused before it arrives, and against the bytes present when the
// command is incomplete, so header lines cannot grow it past the bound.
func (l CommandLimits) parseMultibulk(b []byte) ([][]byte, []byte, error) {
	args, rest, err := l.parseMultibulkBody(b)
	if err == ErrIncomplete && l.CommandBytesMax > 0 && len(b) > l.CommandBytesMax {
		return nil, nil, ErrTooBigCommand
	}
	return args, rest, err
}

func (l CommandLimits) parseMultibulkBody(start []byte) ([][]byte, []byte, error) {
	body, b, err := line(start, l.InlineBytesMax, ErrTooBigMultibulkCount)
	if err != nil {
		return nil, nil, err
	}
	n, ok := parseLen(body)
	if !ok || n > int64(l.ArrayLenMax) {
		return nil, nil, ErrInvalidMultibulkLength
	}
	if n <= 0 {
		return nil, b, nil
	}
	// Every argument takes at least four bytes ("$0\r\n"), so this
	// capacity is bounded by the input actually present, not the count
	// the client claims.
	args := make([][]byte, 0, min(n, int64(len(b)/4)+1))
	for range n {
		if len(b) == 0 {
			return nil, nil, ErrIncomplete
		}
		if b[0] != '$' {
			// NB: Redis reports the problem only once the whole line
			// has arrived; we can report it as soon as the byte has.
			if bytes.IndexByte(b, '\r') < 0 && len(b) <= l.InlineBytesMax {
				return nil, nil, ErrIncomplete
			}
			return nil, nil, errExpectedDollar(b[0])
		}
		var body []byte
		body, b, err = line(b, l.InlineBytesMax, ErrTooBigBulkCount)
		if err != nil {
			return nil, nil, err
		}
		size, ok := parseLen(body)
		if !ok || size < 0 || size > int64(l.BulkBytesMax) {
			return nil, nil, ErrInvalidBulkLength
		}
		if l.CommandBytesMax > 0 && int64(len(start)-len(b))+size+2 > int64(l.CommandBytesMax) {
			return nil, nil, ErrTooBigCommand
		}
		if int64(len(b)) < size+2 {
			return nil, nil, ErrIncomplete
		}
		if b[size] != '\r' || b[size+1] != '\n' {
			return nil, nil, ErrMissingCRLF
		}
		args = append(args, b[:size:size])
		b = b[size+2:]
	}
	return args, b, nil
}

// parseLen parses a RESP length as Redis's string2ll does, rejecting
// anything beyond int32 like Redis's "ll > INT_MAX" check.
func parseLen(b []byte) (int64, bool) {
	n, ok := kv.ParseInt(b)
	return n, ok && n <= 1<<31-1
}

func (l CommandLimits) parseInline(b []byte) ([][]byte, []byte, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(b) > l.InlineBytesMax {
			return nil, nil, ErrTooBigInline
		}
		return nil, nil, ErrIncomplete
	}
	// NB: Redis measures the limit only while the newline is missing; a
	// complete line of any length is accepted. We bound it either way.
	if i > l.InlineBytesMax {
		return nil, nil, ErrTooBigInline
	}
	text, rest := b[:i], b[i+1:]
	if len(text) > 0 && text[len(text)-1] == '\r' {
		text = text[:len(text)-1]
	}
	// Redis splits the line as a C string, so a NUL byte ends it.
	if j := bytes.IndexByte(text, 0); j >= 0 {
		text = text[:j]
	}
	args, ok := splitArgs(text)
	if !ok {
		return nil, nil, ErrUnbalancedQuotes
	}
	return args, rest, nil
}

// splitArgs splits an inline command into words as Redis's sdssplitargs
// does: words are separated by spaces, and a word may be "double quoted"
// with C-like escapes (\n \r \t \b \a \xHH) or 'single quoted' with only
// \' as an escape. A closing quote must be followed by a space or the end.
func splitArgs(s []byte) ([][]byte, bool) {
	var args [][]byte
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return args, true
		}
		var word []byte
		inDouble, inSingle, done := false, false, false
		for !done {
			if inDouble {
				if i == len(s) {
					return nil, false
				}
				switch {
				case s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]):
					word = append(word, unhex(s[i+2])<<4|unhex(s[i+3]))
					i += 3
				case s[i] == '\\' && i+1 < len(s):
					i++
					switch s[i] {
					case 'n':
						word = append(word, '\n')
					case 'r':
						word = append(word, '\r')
					case 't':
						word = append(word, '\t')
					case 'b':
						word = append(word, '\b')
					case 'a':
						word = append(word, '\a')
					default:
						word = append(word, s[i])
					}
				case s[i] == '"':
					if i+1 < len(s) && !isSpace(s[i+1]) {
						return nil, false
					}
					done = true
				default:
					word = append(word, s[i])
				}
			} else if inSingle {
				if i == len(s) {
					return nil, false
				}
				switch {
				case s[i] == '\\' && i+1 < len(s) && s[i+1] == '\'':
					i++
					word = append(word, '\'')
				case s[i] == '\'':
					if i+1 < len(s) && !isSpace(s[i+1]) {
						return nil, false
					}
					done = true
				default:
					word = append(word, s[i])
				}
			} else {
				if i == len(s) {
					break
				}
				switch s[i] {
				case ' ', '\n', '\r', '\t':
					done = true
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					word = append(word, s[i])
				}
			}
			if i < len(s) {
				i++
			}
		}
		if word == nil {
			word = []byte{}
		}
		args = append(args, word)
	}
}

// isSpace is C's isspace, which sdssplitargs uses between words.
func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// ReplyKind is the type of a RESP2 reply.
type ReplyKind uint8

// The RESP2 reply kinds, each named after what its first byte announces.
const (
	KindSimple ReplyKind = iota + 1 // +
	KindError                       // -
	KindInt                         // :
	KindBulk                        // $
	KindArray                       // *
)

func (k ReplyKind) String() string {
	switch k {
	case KindSimple:
		return "simple"
	case KindError:
		return "error"
	case KindInt:
		return "int"
	case KindBulk:
		return "bulk"
	case KindArray:
		return "array"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Reply is one parsed RESP2 reply.
//
//   - KindSimple, KindError: Str is the text after the type byte.
//   - KindInt: Int.
//   - KindBulk: Str, or Null for "$-1".
//   - KindArray: Array, or Null for "*-1".
type Reply struct {
	Kind  ReplyKind
	Str   string
	Int   int64
	Array []Reply
	Null  bool
}

// Bounds on what ParseReply accepts. Replies come from a server we trust
// more than a client, but a simulated client must not be crashed by a bug
// in the server it tests.
const (
	replyBulkBytesMax = 512 << 20
	replyArrayLenMax  = 1 << 20
	replyDepthMax     = 64
	replyLineBytesMax = 64 << 10
)

var errBadReply = errors.New("resp: malformed reply")

// ParseReply parses the first RESP2 reply in b and returns it with the
// bytes after it. ErrIncomplete means b holds only part of a reply; any
// other error means b is not RESP2.
func ParseReply(b []byte) (Reply, []byte, error) {
	return parseReply(b, 0)
}

func parseReply(b []byte, depth int) (Reply, []byte, error) {
	if len(b) == 0 {
		return Reply{}, nil, ErrIncomplete
	}
	if depth > replyDepthMax {
		return Reply{}, nil, errBadReply
	}
	kind := b[0]
	body, rest, err := line(b, replyLineBytesMax, errBadReply)
	if err == ErrMissingCRLF {
		err = errBadReply
	}
	if err != nil {
		return Reply{}, nil, err
	}
	switch kind {
	case '+':
		return Reply{Kind: KindSimple, Str: string(body)}, rest, nil
	case '-':
		return Reply{Kind: KindError, Str: string(body)}, rest, nil
	case ':':
		n, ok := kv.ParseInt(body)
		if !ok {
			return Reply{}, nil, errBadReply
		}
		return Reply{Kind: KindInt, Int: n}, rest, nil
	case '$':
		n, ok := kv.ParseInt(body)
		switch {
		case ok && n == -1:
			return Reply{Kind: KindBulk, Null: true}, rest, nil
		case !ok || n < 0 || n > replyBulkBytesMax:
			return Reply{}, nil, errBadReply
		case int64(len(rest)) < n+2:
			return Reply{}, nil, ErrIncomplete
		case rest[n] != '\r' || rest[n+1] != '\n':
			return Reply{}, nil, errBadReply
		}
		return Reply{Kind: KindBulk, Str: string(rest[:n])}, rest[n+2:], nil
	case '*':
		n, ok := kv.ParseInt(body)
		switch {
		case ok && n == -1:
			return Reply{Kind: KindArray, Null: true}, rest, nil
		case !ok || n < 0 || n > replyArrayLenMax:
			return Reply{}, nil, errBadReply
		}
		// Every element takes at least three bytes (":0\r\n" is four),
		// so the capacity is bounded by the input present.
		arr := make([]Reply, 0, min(n, int64(len(rest)/3)))
		for range n {
			var r Reply
			r, rest, err = parseReply(rest, depth+1)
			if err != nil {
				return Reply{}, nil, err
			}
			arr = append(arr, r)
		}
		return Reply{Kind: KindArray, Array: arr}, rest, nil
	}
	return Reply{}, nil, errBadReply
}

// AppendSimple appends a simple string reply ("+OK"). CR and LF in s
// would end the reply early, so they are replaced by spaces, as Redis does.
func AppendSimple(dst []byte, s string) []byte {
	dst = append(dst, '+')
	return appendLine(dst, s)
}

// AppendError appends an error reply. msg starts with the error code, as
// in "ERR syntax error"; CR and LF in it are replaced by spaces.
func AppendError(dst []byte, msg string) []byte {
	dst = append(dst, '-')
	return appendLine(dst, msg)
}

func appendLine(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\r', '\n')
}

// AppendBulk appends a bulk string reply holding b.
func AppendBulk(dst, b []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendBulkString appends a bulk string reply holding s.
func AppendBulkString(dst []byte, s string) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// AppendNull appends the null bulk string ("$-1"), RESP2's nil.
func AppendNull(dst []byte) []byte {
	return append(dst, "$-1\r\n"...)
}

// AppendNullArray appends the null array ("*-1").
func AppendNullArray(dst []byte) []byte {
	return append(dst, "*-1\r\n"...)
}

// AppendInt appends an integer reply.
func AppendInt(dst []byte, n int64) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// AppendArray appends the header of an array of n elements; the caller
// appends the n elements after it.
func AppendArray(dst []byte, n int) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

// AppendCommand appends args as a RESP array of bulk strings, the form in
// which clients send commands.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = AppendArray(dst, len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
	}
	return dst
}

// AppendReply appends r in its RESP2 encoding, so that ParseReply of the
// result gives r back.
func AppendReply(dst []byte, r Reply) []byte {
	switch r.Kind {
	case KindSimple:
		return AppendSimple(dst, r.Str)
	case KindError:
		return AppendError(dst, r.Str)
	case KindInt:
		return AppendInt(dst, r.Int)
	case KindBulk:
		if r.Null {
			return AppendNull(dst)
		}
		return AppendBulkString(dst, r.Str)
	case KindArray:
		if r.Null {
			return AppendNullArray(dst)
		}
		dst = AppendArray(dst, len(r.Array))
		for _, e := range r.Array {
			dst = AppendReply(dst, e)
		}
		return dst
	}
	panic("resp: AppendReply of a Reply with no kind")
}
