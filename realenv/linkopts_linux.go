package realenv

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// setLinkOptions bounds how long the kernel keeps a peer connection whose
// data goes unacknowledged (TCP_USER_TIMEOUT) or whose other end vanished
// without a word (keepalive probes), both by the raft RPC timeout. Pings
// usually notice first; these catch what the pings cannot, such as a
// write stuck in the kernel's buffer.
func setLinkOptions(c net.Conn, rpcTimeout time.Duration) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	probe := max(rpcTimeout/5, time.Second)
	_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: probe, Interval: probe, Count: 4})
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(rpcTimeout.Milliseconds()))
	})
}
