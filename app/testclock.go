package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/seshat-db/seshat/realenv"
)

// clockHandler stamps log records with the node's clock, which the
// test-only clock settings may have set off the machine's.
type clockHandler struct {
	slog.Handler
	clock *realenv.Clock
}

func (h clockHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Time = h.clock.Now()
	return h.Handler.Handle(ctx, r)
}

func (h clockHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return clockHandler{h.Handler.WithAttrs(attrs), h.clock}
}

func (h clockHandler) WithGroup(name string) slog.Handler {
	return clockHandler{h.Handler.WithGroup(name), h.clock}
}

// ClockState is what /test/clock answers: how far the node's clock is
// from the machine's, and how fast it runs.
type ClockState struct {
	OffsetNs int64 `json:"offset_ns"`
	DriftPPM int   `json:"drift_ppm"`
}

// clockControl serves /test/clock (TEST ONLY, behind test.clock_control):
// GET reads the clock, POST with offset_ms and drift_ppm (form values,
// either may be left out) sets it. Offsets are from the machine's clock.
func clockControl(clock *realenv.Clock, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			offset, ppm := clock.Offset(), clock.Drift()
			if v := r.FormValue("offset_ms"); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					http.Error(w, "offset_ms: "+err.Error(), http.StatusBadRequest)
					return
				}
				offset = time.Duration(n) * time.Millisecond
			}
			if v := r.FormValue("drift_ppm"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n <= -500_000 || n >= 500_000 {
					http.Error(w, "drift_ppm: want an integer within (-500000, 500000)", http.StatusBadRequest)
					return
				}
				ppm = n
			}
			clock.Set(offset, ppm)
			log.Warn("test: clock set", "offset", offset, "drift_ppm", ppm)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ClockState{OffsetNs: int64(clock.Offset()), DriftPPM: clock.Drift()})
	}
}
