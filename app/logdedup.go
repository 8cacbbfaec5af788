package app

import (
	"context"
	"log/slog"
)

// dedupHandler drops a record's attribute whose key the logger already
// carries (from With), so that a line never holds one key twice: the
// node names itself ("node", id) in its own lines, and the app's logger
// carries "node" too. A duplicate key is two fields in text and invalid
// for most JSON consumers. Only top-level keys are compared; the
// logger's value wins, which is the same node id.
type dedupHandler struct {
	slog.Handler
	keys map[string]bool
}

func newDedupHandler(h slog.Handler) slog.Handler { return dedupHandler{Handler: h} }

func (h dedupHandler) Handle(ctx context.Context, r slog.Record) error {
	if len(h.keys) == 0 {
		return h.Handler.Handle(ctx, r)
	}
	dup := false
	r.Attrs(func(a slog.Attr) bool {
		dup = dup || h.keys[a.Key]
		return !dup
	})
	if !dup {
		return h.Handler.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if !h.keys[a.Key] {
			out.AddAttrs(a)
		}
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h dedupHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	keys := make(map[string]bool, len(h.keys)+len(attrs))
	for k := range h.keys {
		keys[k] = true
	}
	for _, a := range attrs {
		keys[a.Key] = true
	}
	return dedupHandler{Handler: h.Handler.WithAttrs(attrs), keys: keys}
}

// WithGroup starts a group: keys inside it cannot clash with the ones
// before, so the handler stops comparing.
func (h dedupHandler) WithGroup(name string) slog.Handler {
	return dedupHandler{Handler: h.Handler.WithGroup(name)}
}
