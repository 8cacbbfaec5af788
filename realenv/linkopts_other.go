//go:build !linux

package realenv

import (
	"net"
	"time"
)

// setLinkOptions sets keepalive probes bounded by the raft RPC timeout;
// TCP_USER_TIMEOUT is Linux's alone.
func setLinkOptions(c net.Conn, rpcTimeout time.Duration) {
	if tc, ok := c.(*net.TCPConn); ok {
		probe := max(rpcTimeout/5, time.Second)
		_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: probe, Interval: probe, Count: 4})
	}
}
