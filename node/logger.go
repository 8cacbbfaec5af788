package node

import (
	"fmt"

	"github.com/seshat-db/seshat/env"
)

// raftLogger passes raft's log lines to the env's logger. Raft expects
// Fatal and Panic never to return.
type raftLogger struct {
	log env.Logger
	// debug, when the logger tells, says whether it keeps Debug lines:
	// raft's Debug and Info lines, one for many messages, are not
	// formatted for a logger that drops them.
	debug env.DebugLogger
}

func newRaftLogger(log env.Logger) raftLogger {
	debug, _ := log.(env.DebugLogger)
	return raftLogger{log: log, debug: debug}
}

// quiet reports whether the logger drops Debug lines.
func (l raftLogger) quiet() bool { return l.debug != nil && !l.debug.DebugEnabled() }

func (l raftLogger) Debug(v ...any) {
	if !l.quiet() {
		l.log.Debug("raft: " + fmt.Sprint(v...))
	}
}
func (l raftLogger) Debugf(format string, v ...any) {
	if !l.quiet() {
		l.log.Debug("raft: " + fmt.Sprintf(format, v...))
	}
}
func (l raftLogger) Info(v ...any) {
	if !l.quiet() {
		l.log.Debug("raft: " + fmt.Sprint(v...))
	}
}
func (l raftLogger) Infof(format string, v ...any) {
	if !l.quiet() {
		l.log.Debug("raft: " + fmt.Sprintf(format, v...))
	}
}
func (l raftLogger) Warning(v ...any) { l.log.Warn("raft: " + fmt.Sprint(v...)) }
func (l raftLogger) Warningf(format string, v ...any) {
	l.log.Warn("raft: " + fmt.Sprintf(format, v...))
}
func (l raftLogger) Error(v ...any) { l.log.Error("raft: " + fmt.Sprint(v...)) }
func (l raftLogger) Errorf(format string, v ...any) {
	l.log.Error("raft: " + fmt.Sprintf(format, v...))
}

// Raft's Fatal and Panic raise a raftPanic, which the node's guardRaft
// turns into a stop that names the data directory (damage.go).
func (l raftLogger) Fatal(v ...any)                 { panic(raftPanic(fmt.Sprint(v...))) }
func (l raftLogger) Fatalf(format string, v ...any) { panic(raftPanic(fmt.Sprintf(format, v...))) }
func (l raftLogger) Panic(v ...any)                 { panic(raftPanic(fmt.Sprint(v...))) }
func (l raftLogger) Panicf(format string, v ...any) { panic(raftPanic(fmt.Sprintf(format, v...))) }
