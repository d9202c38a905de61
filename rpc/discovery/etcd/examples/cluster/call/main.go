// Command call is the client of the cluster example: it finds the
// instances of a service in etcd and calls add on them, balanced, until it
// has seen the live set shrink to -until-live instances (one was killed)
// and made -after more calls, or made -n calls when -until-live is 0. Any
// failed call is an error: add is idempotent, so a call on an instance that
// dies is retried on another.
//
//	call -target etcd://127.0.0.1:2379/calc -want 3 -until-live 2 -ready ready.txt
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/twistgo/twist/rpc/discovery/etcd"
)

func main() {
	target := flag.String("target", "etcd://127.0.0.1:2379/calc", "etcd://host:port/service")
	want := flag.Int("want", 3, "instances to wait for before calling")
	n := flag.Int("n", 1000, "calls to make when -until-live is 0")
	untilLive := flag.Int("until-live", 0, "call until this many instances are live, then -after more calls")
	after := flag.Int("after", 500, "calls made after the live set shrank to -until-live")
	ready := flag.String("ready", "", "file created once calling starts")
	timeout := flag.Duration("timeout", 20*time.Second, "time limit of the whole run")
	conn := etcd.Config{}
	conn.AddFlags(flag.CommandLine) // TLS and auth; the endpoints are -target's
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c, err := etcd.Dial(ctx, *target, etcd.WithEtcd(conn), etcd.WithPolicy(etcd.RoundRobin))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for len(c.Live()) < *want {
		if ctx.Err() != nil {
			log.Fatalf("only %v live, want %d", c.Live(), *want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("live: %v\n", c.Live())
	if *ready != "" {
		if err := os.WriteFile(*ready, nil, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	calls, failed, left := 0, 0, *n
	if *untilLive > 0 {
		left = -1
	}
	for left != 0 {
		var sum int
		if err := c.Call(ctx, "add", []any{calls, 1}, &sum); err != nil || sum != calls+1 {
			failed++
			log.Printf("add(%d, 1) = %d, %v", calls, sum, err)
			if ctx.Err() != nil {
				break
			}
		}
		calls++
		if left > 0 {
			left--
		} else if *untilLive > 0 && len(c.Live()) <= *untilLive {
			fmt.Printf("live after the kill: %v\n", c.Live())
			left = *after
		}
	}
	fmt.Printf("%d calls, %d failed\n", calls, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
