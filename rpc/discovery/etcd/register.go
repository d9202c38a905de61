// Package etcd registers Twist RPC servers in etcd and gives Go clients
// that discover the registered instances and balance calls across them.
//
// It is a module of its own so that the core module does not depend on
// etcd's client. A server registers one key per instance,
//
//	<prefix>/<service>/<instance> → {"address": "10.0.0.5:9000", "functions": [...], ...}
//
// under a lease that it keeps alive; a client lists the prefix, watches it
// from the revision of that list, and keeps one multiplexed rpc.Client per
// live instance:
//
//	reg, err := etcd.Register(ctx, cli, "calc", etcd.Instance{Address: "10.0.0.5:9000"})
//	...
//	c, err := etcd.Dial(ctx, "etcd://127.0.0.1:2379/calc")
//	err = c.Call(ctx, "add", []any{1, 2}, &sum)
package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultPrefix is the key prefix under which services are registered.
const DefaultPrefix = "/twist/rpc"

// DefaultTTL is the time-to-live of a registration's lease: an instance that
// stops without deleting its key is forgotten this long after its last
// keep-alive.
const DefaultTTL = 10 * time.Second

// Instance is what a server registers about itself: the value of its key,
// encoded as JSON.
type Instance struct {
	// Address is where clients connect ("host:port").
	Address string `json:"address"`
	// Functions lists the functions served; empty means not told.
	Functions []string `json:"functions,omitempty"`
	// Idempotent lists the functions that may safely run twice: a call to
	// one of them that loses its instance is retried on another.
	Idempotent []string `json:"idempotent,omitempty"`
	// Weight is the instance's share of the calls relative to the others';
	// zero or less counts as 1.
	Weight int `json:"weight,omitempty"`
	// Version is the server's version, for the operator.
	Version string `json:"version,omitempty"`
	// Protocols lists the wire protocols served ("twist-rpc", "mongowire").
	Protocols []string `json:"protocols,omitempty"`
}

func (in Instance) weight() int {
	if in.Weight <= 0 {
		return 1
	}
	return in.Weight
}

// RegisterOption configures Register.
type RegisterOption func(*registerConfig)

type registerConfig struct {
	prefix string
	name   string
	ttl    time.Duration
	logger *slog.Logger
}

// WithPrefix sets the key prefix (default DefaultPrefix).
func WithPrefix(p string) RegisterOption { return func(c *registerConfig) { c.prefix = p } }

// WithInstanceName names the instance's key (default: its address).
func WithInstanceName(n string) RegisterOption { return func(c *registerConfig) { c.name = n } }

// WithTTL sets the lease's time-to-live (default DefaultTTL); etcd rounds it
// to whole seconds, at least one.
func WithTTL(d time.Duration) RegisterOption { return func(c *registerConfig) { c.ttl = d } }

// WithLogger sets where a lost and re-created registration is logged
// (default slog.Default()).
func WithLogger(l *slog.Logger) RegisterOption { return func(c *registerConfig) { c.logger = l } }

func serviceKey(prefix, service string) string {
	return strings.TrimSuffix(prefix, "/") + "/" + service + "/"
}

// Registration keeps one instance registered until Close.
type Registration struct {
	cli    *clientv3.Client
	key    string
	value  string
	ttl    int64
	logger *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	lease   clientv3.LeaseID
	renewed chan struct{} // closed and replaced on each (re-)registration
}

// Register puts the instance's key under a fresh lease and keeps the lease
// alive in the background. If etcd is unreachable for longer than the TTL,
// the lease expires and the key goes; the registration then puts the key
// again, under a new lease, as soon as etcd answers. The instance's serving is
// never interrupted by any of this. Register returns once the key is put, or
// with the error of the first attempt.
func Register(ctx context.Context, cli *clientv3.Client, service string, inst Instance, opts ...RegisterOption) (*Registration, error) {
	cfg := registerConfig{prefix: DefaultPrefix, ttl: DefaultTTL, logger: slog.Default()}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.name == "" {
		cfg.name = inst.Address
	}
	if service == "" || strings.Contains(service, "/") || strings.Contains(cfg.name, "/") {
		return nil, fmt.Errorf("etcd: service %q and instance %q must be non-empty and without '/'", service, cfg.name)
	}
	v, err := json.Marshal(inst)
	if err != nil {
		return nil, err
	}
	ttl := int64((cfg.ttl + time.Second - 1) / time.Second)
	r := &Registration{
		cli: cli, key: serviceKey(cfg.prefix, service) + cfg.name, value: string(v), ttl: max(ttl, 1),
		logger: cfg.logger, done: make(chan struct{}), renewed: make(chan struct{}),
	}
	kctx, cancel := context.WithCancel(context.Background())
	ka, err := r.put(ctx, kctx)
	if err != nil {
		cancel()
		return nil, err
	}
	r.cancel = cancel
	go r.keepAlive(kctx, ka)
	return r, nil
}

// Key is the instance's key in etcd.
func (r *Registration) Key() string { return r.key }

// Renewed returns a channel closed when the key is next put again under a
// fresh lease, after the previous one was lost.
func (r *Registration) Renewed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.renewed
}

// put grants a lease, puts the key under it and starts keeping it alive.
// The keep-alive lives as long as kctx, not ctx.
func (r *Registration) put(ctx, kctx context.Context) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	g, err := r.cli.Grant(ctx, r.ttl)
	if err != nil {
		return nil, fmt.Errorf("etcd: grant lease: %w", err)
	}
	if _, err := r.cli.Put(ctx, r.key, r.value, clientv3.WithLease(g.ID)); err != nil {
		return nil, fmt.Errorf("etcd: put %s: %w", r.key, err)
	}
	ka, err := r.cli.KeepAlive(kctx, g.ID)
	if err != nil {
		return nil, fmt.Errorf("etcd: keep lease alive: %w", err)
	}
	r.mu.Lock()
	r.lease = g.ID
	r.mu.Unlock()
	return ka, nil
}

// keepAlive drains the keep-alive answers; etcd's client closes the channel
// when the lease is gone (expired while etcd was away, or revoked), and the
// key is then put again under a new lease, retrying with a capped back-off.
func (r *Registration) keepAlive(ctx context.Context, ka <-chan *clientv3.LeaseKeepAliveResponse) {
	defer close(r.done)
	for {
		for range ka {
		}
		if ctx.Err() != nil {
			return
		}
		r.logger.Warn("etcd registration lost its lease; registering again", "key", r.key)
		delay := 100 * time.Millisecond
		for {
			// Each attempt is bounded, so that Close is not held up.
			actx, cancel := context.WithTimeout(ctx, time.Duration(r.ttl)*time.Second)
			next, err := r.put(actx, ctx)
			cancel()
			if err == nil {
				ka = next
				r.mu.Lock()
				close(r.renewed)
				r.renewed = make(chan struct{})
				r.mu.Unlock()
				r.logger.Info("etcd registration re-created", "key", r.key)
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			// Capped well below the TTL, so that the key is back within a
			// TTL of etcd's return.
			delay = min(2*delay, max(100*time.Millisecond, min(5*time.Second, time.Duration(r.ttl)*time.Second/4)))
		}
	}
}

// Close deletes the key and revokes the lease, so that clients stop sending
// calls here at once. Call it before draining the server. Close stops the
// keep-alive even if etcd cannot be reached; the key then goes when the lease
// expires.
func (r *Registration) Close(ctx context.Context) error {
	r.cancel()
	<-r.done
	r.mu.Lock()
	lease := r.lease
	r.mu.Unlock()
	_, derr := r.cli.Delete(ctx, r.key)
	_, rerr := r.cli.Revoke(ctx, lease)
	return errors.Join(derr, rerr)
}
