package node

import "github.com/seshat-db/seshat/kv"

// Errors a client request can end with. They are kv's, named here too
// because the node is where they arise; the RESP layer words each for
// Redis clients (resp/errors.go).
//
// A write that ends with ErrNoQuorum, ErrBusy or ErrStopped before it was
// proposed did not happen. A write that ends with ErrOutcomeUnknown may
// or may not have happened: it was proposed, and no answer came back.
var (
	ErrNoQuorum        = kv.ErrNoQuorum
	ErrReadTimeout     = kv.ErrReadTimeout
	ErrOutcomeUnknown  = kv.ErrOutcomeUnknown
	ErrBusy            = kv.ErrBusy
	ErrStopped         = kv.ErrStopped
	ErrNoSpace         = kv.ErrNoSpace
	ErrUncommittedFull = kv.ErrUncommittedFull
	ErrTransferring    = kv.ErrTransferring
	ErrWriteTooLarge   = kv.ErrWriteTooLarge
	ErrJoining         = kv.ErrJoining
	ErrReadFailed      = kv.ErrReadFailed
	ErrReplyTooLarge   = kv.ErrReplyTooLarge // a read past Config.ReadReplyBytesMax
	ErrLongReadsBusy   = kv.ErrLongReadsBusy // long reads at Config.LongReadsBytesMax
)

// WriteTooLargeError is ErrWriteTooLarge with the sizes.
type WriteTooLargeError = kv.WriteTooLargeError
