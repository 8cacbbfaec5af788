package main

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// endpoint is one server a workload is driven against, with the three
// request shapes the workloads use. A nil method means the server cannot
// do that (etcd has no pipelining).
type endpoint struct {
	set      func(ctx context.Context, c int, key, value string) error
	get      func(ctx context.Context, c int, key string) error
	pipeline func(ctx context.Context, c int, keys []string, value string) error
	close    func()
}

func redisEndpoint(addr string, clients int) endpoint {
	rc := redis.NewClient(&redis.Options{
		Addr: addr, PoolSize: clients, MinIdleConns: clients,
		MaxRetries: -1, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
	})
	return endpoint{
		set: func(ctx context.Context, _ int, key, value string) error {
			return rc.Set(ctx, key, value, 0).Err()
		},
		get: func(ctx context.Context, _ int, key string) error {
			err := rc.Get(ctx, key).Err()
			if err == redis.Nil {
				return nil
			}
			return err
		},
		pipeline: func(ctx context.Context, _ int, keys []string, value string) error {
			p := rc.Pipeline()
			for _, k := range keys {
				p.Set(ctx, k, value, 0)
			}
			_, err := p.Exec(ctx)
			return err
		},
		close: func() { rc.Close() },
	}
}

// etcdConns is how many gRPC connections an etcd endpoint spreads its
// clients over, as etcd's own benchmark tool does with --conns.
const etcdConns = 8

func etcdEndpoint(url string, clients int) (endpoint, error) {
	var conns []*clientv3.Client
	for range min(clients, etcdConns) {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second})
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return endpoint{}, err
		}
		conns = append(conns, c)
	}
	conn := func(c int) *clientv3.Client { return conns[c%len(conns)] }
	return endpoint{
		set: func(ctx context.Context, c int, key, value string) error {
			_, err := conn(c).Put(ctx, key, value)
			return err
		},
		get: func(ctx context.Context, c int, key string) error {
			_, err := conn(c).Get(ctx, key) // linearizable: etcd's default
			return err
		},
		close: func() {
			for _, c := range conns {
				c.Close()
			}
		},
	}, nil
}

// etcdLeader returns the client URL of the member that leads, and one
// that does not.
func etcdLeader(urls []string) (leader, follower string, err error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: urls, DialTimeout: 5 * time.Second})
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := c.Status(ctx, u)
		cancel()
		if err != nil {
			return "", "", err
		}
		if st.Leader == st.Header.GetMemberId() {
			leader = u
		} else if follower == "" {
			follower = u
		}
	}
	return leader, follower, nil
}

// workload is one row of the table.
type workload struct {
	name     string
	write    bool
	clients  int
	pipeline int  // commands per pipeline (0: none)
	follower bool // driven against a follower instead of the leader
}

var workloads = []workload{
	{name: "SET, 1 client", write: true, clients: 1},
	{name: "SET, 50 clients", write: true, clients: 50},
	{name: "SET, 50 clients, pipeline 16", write: true, clients: 50, pipeline: 16},
	{name: "SET, 50 clients, via a follower", write: true, clients: 50, follower: true},
	{name: "GET (linearizable), 1 client", clients: 1},
	{name: "GET (linearizable), 50 clients", clients: 50},
	{name: "GET (linearizable), 1 client, follower", clients: 1, follower: true},
	{name: "GET (linearizable), 50 clients, follower", clients: 50, follower: true},
}

// do makes the op that w runs against e, or nil if e cannot run it.
func (w workload) do(e endpoint, keys int, value string) op {
	switch {
	case w.pipeline > 0:
		if e.pipeline == nil {
			return nil
		}
		return func(ctx context.Context, c int, rng *rand.Rand) (int, error) {
			batch := make([]string, w.pipeline)
			for i := range batch {
				batch[i] = key(rng, keys)
			}
			return w.pipeline, e.pipeline(ctx, c, batch, value)
		}
	case w.write:
		return func(ctx context.Context, c int, rng *rand.Rand) (int, error) {
			return 1, e.set(ctx, c, key(rng, keys), value)
		}
	default:
		return func(ctx context.Context, c int, rng *rand.Rand) (int, error) {
			return 1, e.get(ctx, c, key(rng, keys))
		}
	}
}

func value(size int) string { return strings.Repeat("v", size) }
