//go:build redisgolden

package resp

import (
	"flag"
	"net"
	"testing"
)

var redisClusterAddr = flag.String("redis-cluster-addr", "127.0.0.1:16480", "the redis-server in cluster mode that testdata/rediscluster is captured from")

func init() {
	dialRedisCluster = func(t testing.TB) goldenConn {
		c, err := net.Dial("tcp", *redisClusterAddr)
		if err != nil {
			t.Fatal(err)
		}
		rc := &redisConn{c: c}
		if got := rc.Do(t, [][]byte{[]byte("FLUSHALL")}); string(got) != "+OK\r\n" {
			t.Fatalf("FLUSHALL: %q", got)
		}
		return rc
	}
}
