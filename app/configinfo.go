package app

import (
	"net"
	"strconv"
)

// ConfigValue implements resp.ConfigInfo: CONFIG GET answers the
// settings the node runs with, under Redis's names.
func (i *serverInfo) ConfigValue(name string) (string, bool) {
	l := i.cfg.Limits
	switch name {
	case "port", "bind":
		host, port, err := net.SplitHostPort(i.cfg.Node.ClientAddr)
		if err != nil {
			return "", false
		}
		if name == "port" {
			return port, true
		}
		return host, true
	case "maxclients":
		if i.srv != nil {
			return strconv.FormatInt(i.srv.ClientsMax(), 10), true
		}
		return strconv.Itoa(l.MaxConcurrentClientConnections), true
	case "maxmemory-clients":
		return strconv.Itoa(l.MaxMemoryClientsBytes), true
	case "client-query-buffer-limit":
		return strconv.Itoa(l.ClientQueryBufferBytes), true
	}
	return "", false
}

// SetConfig implements resp.ConfigSetter.
func (i *serverInfo) SetConfig(name string, value int64) {
	if name == "maxclients" {
		i.srv.SetClientsMax(value)
	}
}
