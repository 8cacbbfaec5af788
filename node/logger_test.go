// This file tests that raft's debug lines are built only for a logger
// that keeps them: a Stringer argument tells whether raft's line was
// formatted.
package node

import (
	"testing"

	"github.com/seshat-db/seshat/env"
	"github.com/seshat-db/seshat/env/envtest"
)

type formatted struct{ done *bool }

func (f formatted) String() string { *f.done = true; return "x" }

func TestRaftLoggerSkipsDroppedDebugLines(t *testing.T) {
	for _, tc := range []struct {
		name      string
		verbose   bool
		wantBuilt bool
	}{{"quiet", false, false}, {"verbose", true, true}} {
		var lines []string
		log := envtest.LevelLogFunc{F: func(level, msg string, _ []any) { lines = append(lines, level+" "+msg) }, Verbose: tc.verbose}
		built := false
		l := newRaftLogger(log)
		l.Debugf("step %v", formatted{&built})
		l.Info(formatted{&built})
		if built != tc.wantBuilt || (len(lines) == 2) != tc.wantBuilt {
			t.Errorf("%s: built %v, lines %q", tc.name, built, lines)
		}
		l.Warningf("warn %v", formatted{&built})
		if len(lines) == 0 || lines[len(lines)-1] != "WARN raft: warn x" {
			t.Errorf("%s: a warning was not passed on: %q", tc.name, lines)
		}
	}
	// A logger that cannot tell keeps getting every line.
	var got []string
	built := false
	newRaftLogger(env.Logger(envtest.LogFunc(func(_, msg string, _ []any) { got = append(got, msg) }))).Debugf("%v", formatted{&built})
	if !built || len(got) != 1 {
		t.Errorf("a plain LogFunc: built %v, lines %q", built, got)
	}
}
