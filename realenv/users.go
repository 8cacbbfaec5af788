package realenv

import "github.com/seshat-db/seshat/acl"

// Users implements resp.Users: the ACL the node enforces. The node
// publishes each change as a new table, so any goroutine may read it.
func (h *Host) Users() *acl.Table { return h.n.Users() }
