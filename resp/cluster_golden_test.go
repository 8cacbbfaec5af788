package resp

import (
	"flag"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// dialRedisCluster is set by redis_cluster_capture_test.go (a redis-server
// in cluster mode, one node holding every slot); nil means the Executor
// over a backend that serves CLUSTER.
var dialRedisCluster func(t testing.TB) goldenConn

// TestRedisClusterGolden: the replies of testdata/rediscluster are a real
// Redis 7.0's in cluster mode, captured with
//
//	redis-server --port 16480 --cluster-enabled yes --cluster-config-file /tmp/nodes.conf --save '' --appendonly no &
//	redis-cli -p 16480 cluster addslotsrange 0 16383
//	go test -tags redisgolden ./resp -run TestRedisClusterGolden -redis-cluster-addr=127.0.0.1:16480 -rewrite
func TestRedisClusterGolden(t *testing.T) {
	if dialRedisCluster == nil {
		if f := flag.Lookup("rewrite"); f != nil && f.Value.String() == "true" {
			t.Fatal("testdata/rediscluster holds real Redis replies: rewrite it with -tags redisgolden against redis-server in cluster mode")
		}
	}
	datadriven.Walk(t, "testdata/rediscluster", func(t *testing.T, path string) {
		var c goldenConn
		if dialRedisCluster != nil {
			c = dialRedisCluster(t)
		} else {
			f := threeNodes()
			c = &execConn{backend: &f.memBackend, exec: NewExecutor(f, Limits{}, nil)}
		}
		defer c.Close()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return runScript(t, c, d)
		})
	})
}
