package app

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// The node's own lines name it, and so does the app's logger: the line
// carries node once, in text and in JSON (where a duplicate key breaks
// log pipelines), and keeps every other attribute.
func TestLogLinesCarryEachKeyOnce(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := slog.New(newDedupHandler(NewLogger(LogConfig{Level: "info", Format: format}, &buf).Handler())).With("node", 3)
		log.Info("leader changed", "node", uint64(3), "from", 1, "to", 2)
		line := buf.String()
		if n := strings.Count(line, "node"); n != 1 {
			t.Errorf("%s: node appears %d times: %s", format, n, line)
		}
		if !strings.Contains(line, "from") || !strings.Contains(line, "to") {
			t.Errorf("%s: lost an attribute: %s", format, line)
		}
		if format == "json" {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil || m["node"] != float64(3) {
				t.Errorf("json line %s: %v %v", line, m, err)
			}
		}
	}
}
