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
