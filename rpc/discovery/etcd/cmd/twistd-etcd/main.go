// Command twistd-etcd is twistd with one more plugin, rpc-etcd: the rpc
// plugin's server, registered in etcd while it runs. It shows how a program
// of your own adds etcd registration to twistd, since the core's twistd
// cannot depend on etcd:
//
//	twistd-etcd -n rpc-etcd --port 9000 --etcd 127.0.0.1:2379 --service calc --advertise 10.0.0.5:9000
//
// etcd is reached over TLS with --etcd-cacert (and a client certificate with
// --etcd-cert and --etcd-key), and as a user with --etcd-user and
// --etcd-password-file.
//
// On SIGTERM the key is deleted first, so that clients move away, and then
// the server stops listening and drains.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc/discovery/etcd"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
	"github.com/twistgo/twist/twistd/plugins"
)

func main() {
	plugins.RegisterAll()
	twistd.Register(rpcEtcd)
	twistd.Main()
}

var rpcEtcd = twistd.ServiceMaker{
	Name:        "rpc-etcd",
	Description: "the rpc plugin's server, registered in etcd while it runs",
	Flags: func(fs *flag.FlagSet) twistd.MakeService {
		makeRPC := plugins.RPC.Flags(fs)
		conn := &etcd.Config{Endpoints: []string{"127.0.0.1:2379"}}
		conn.AddFlags(fs)
		name := fs.String("service", "rpc", "service name to register under")
		advertise := fs.String("advertise", "", "host:port clients connect to (required)")
		idempotent := fs.String("idempotent", "add,echo", "comma-separated functions safe to retry on another instance")
		ttl := fs.Duration("ttl", etcd.DefaultTTL, "lease time-to-live of the registration")
		return func(loop *reactor.Reactor) (service.Service, error) {
			if *advertise == "" {
				return nil, errors.New("rpc-etcd: --advertise host:port is required")
			}
			inner, err := makeRPC(loop)
			if err != nil {
				return nil, err
			}
			ms := service.NewMultiService()
			// Children stop in reverse order: the registration goes first,
			// then the listeners and the drain.
			if err := ms.AddService(inner); err != nil {
				return nil, err
			}
			reg := &registration{
				loop: loop, conn: *conn, service: *name, ttl: *ttl,
				inst: etcd.Instance{Address: *advertise, Idempotent: strings.Split(*idempotent, ","), Protocols: []string{"twist-rpc"}},
			}
			if err := ms.AddService(reg); err != nil {
				return nil, err
			}
			return ms, nil
		}
	},
}

// registration keeps the instance registered from start to stop. etcd is
// reached off the loop, so that a slow etcd never holds up serving.
type registration struct {
	service.Base
	loop    *reactor.Reactor
	conn    etcd.Config
	service string
	inst    etcd.Instance
	ttl     time.Duration

	cancel context.CancelFunc
	mu     sync.Mutex
	cli    *clientv3.Client
	reg    *etcd.Registration
	done   chan struct{}
}

func (r *registration) StartService() error {
	if err := r.Base.StartService(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.register(ctx)
	return nil
}

// register connects and registers, retrying until it succeeds or the
// service stops.
func (r *registration) register(ctx context.Context) {
	defer close(r.done)
	cli, err := r.conn.New()
	if err != nil {
		slog.Error("etcd client", "err", err)
		return
	}
	r.mu.Lock()
	r.cli = cli
	r.mu.Unlock()
	for {
		reg, err := etcd.Register(ctx, cli, r.service, r.inst, etcd.WithTTL(r.ttl))
		if err == nil {
			r.mu.Lock()
			r.reg = reg
			r.mu.Unlock()
			slog.Info("registered in etcd", "key", reg.Key())
			return
		}
		slog.Warn("etcd registration failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// StopService deletes the key and closes the etcd client. A registration
// that never started (a sibling failed to start first) has nothing to do.
func (r *registration) StopService() *deferred.Deferred {
	if !r.Running() {
		return nil
	}
	r.Base.StopService()
	d := deferred.New()
	go func() {
		r.cancel()
		<-r.done
		r.mu.Lock()
		cli, reg := r.cli, r.reg
		r.mu.Unlock()
		if reg != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := reg.Close(ctx); err != nil {
				slog.Warn("etcd deregistration", "err", err)
			}
			cancel()
		}
		if cli != nil {
			cli.Close()
		}
		r.loop.CallFromThread(func() { d.Callback(nil) })
	}()
	return d
}
