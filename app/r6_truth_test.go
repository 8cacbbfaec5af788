package app

import (
	"testing"

	"github.com/seshat-db/seshat/resp"
)

// r6 review: the production ServerInfo must implement resp.RoleInfo, or
// ROLE and HELLO answer "master" on every follower (while INFO says
// role:slave), TIME answers "0 0", LASTSAVE 0 and WAIT 0: the issue's
// "one notion of role" and "TIME" are not wired into the real server.
func TestR6ServerInfoImplementsRoleInfo(t *testing.T) {
	var info resp.ServerInfo = &serverInfo{}
	if _, ok := info.(resp.RoleInfo); !ok {
		t.Fatal("app's serverInfo does not implement resp.RoleInfo: on a real node ROLE/HELLO say master on followers, TIME replies 0 0, LASTSAVE 0, WAIT 0")
	}
}

// TestConfigGetAnswersTheNodesSettings: CONFIG GET answers the values
// the node was configured with, not the defaults.
func TestConfigGetAnswersTheNodesSettings(t *testing.T) {
	cfg := Default()
	cfg.Node.ClientAddr = "127.0.0.1:7001"
	cfg.Limits.MaxConcurrentClientConnections = 123
	e := resp.NewExecutor(nil, resp.Limits{}, &serverInfo{cfg: cfg})
	var got string
	e.Execute([][]byte{[]byte("CONFIG"), []byte("GET"), []byte("port"), []byte("maxclients"), []byte("bind")}, func(r []byte) { got = string(r) })
	want := "*6\r\n$4\r\nport\r\n$4\r\n7001\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n$10\r\nmaxclients\r\n$3\r\n123\r\n"
	if got != want {
		t.Fatalf("CONFIG GET: %q, want %q", got, want)
	}
}
