package etcd_test

import (
	"context"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/twistgo/twist/rpc/discovery/etcd"
)

// A server registers itself while it serves, and deletes its key before
// draining, so that clients move away first.
func ExampleRegister() {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}, DialTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	reg, err := etcd.Register(ctx, cli, "calc", etcd.Instance{
		Address: "10.0.0.5:9000", Functions: []string{"add"}, Idempotent: []string{"add"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// ... serve; on shutdown:
	_ = reg.Close(ctx)
	// then srv.Drain(ctx)
}

// A client finds the instances of a service in etcd and spreads its calls
// over them; add is retried on another instance if its own is lost.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := etcd.Dial(ctx, "etcd://127.0.0.1:2379/calc", etcd.WithPolicy(etcd.PowerOfTwo), etcd.WithIdempotent("add"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var sum int
	if err := c.Call(ctx, "add", []any{1, 2}, &sum); err != nil {
		log.Fatal(err)
	}
}
