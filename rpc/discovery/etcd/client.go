package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/rpc"
)

// Policy chooses the instance for each call.
type Policy int

const (
	// RoundRobin takes the instances in turn, each as often as its weight
	// (smooth weighted round robin).
	RoundRobin Policy = iota
	// LeastOutstanding takes an instance with the fewest calls in flight;
	// those tied share the calls by weight, in weighted round robin.
	LeastOutstanding
	// PowerOfTwo draws two instances at random, in proportion to their
	// weights, and takes the one with fewer calls in flight (the first
	// drawn on a tie).
	PowerOfTwo
)

var (
	// ErrInstanceLost fails a call whose instance went away (its key was
	// deleted or its connection dropped) before the answer, when the
	// function is not idempotent and so is not retried. The underlying rpc
	// error is wrapped too.
	ErrInstanceLost = errors.New("etcd: the instance was lost during the call")
	// ErrNoInstances fails a call made without a deadline while no instance
	// is connected; a call with a deadline waits for one until then.
	ErrNoInstances = errors.New("etcd: no live instance of the service")
	// ErrClosed fails calls made after Close.
	ErrClosed = errors.New("etcd: client is closed")
)

// ClientOption configures NewClient and Dial.
type ClientOption func(*clientConfig)

type clientConfig struct {
	etcd         Config
	prefix       string
	policy       Policy
	idempotent   map[string]bool
	rpcOpts      []rpc.ClientOption
	logger       *slog.Logger
	maxInstances int
	maxValue     int
}

// WithEtcd sets how Dial reaches etcd (TLS, authentication); the
// endpoints are the target's.
func WithEtcd(c Config) ClientOption { return func(cfg *clientConfig) { cfg.etcd = c } }

// WithPolicy sets the balancing policy (default RoundRobin).
func WithPolicy(p Policy) ClientOption { return func(c *clientConfig) { c.policy = p } }

// WithServicePrefix sets the key prefix the service is registered under
// (default DefaultPrefix).
func WithServicePrefix(p string) ClientOption { return func(c *clientConfig) { c.prefix = p } }

// WithIdempotent names functions that may be retried on another instance when
// theirs is lost, in addition to those each instance registers as idempotent.
func WithIdempotent(names ...string) ClientOption {
	return func(c *clientConfig) {
		if c.idempotent == nil {
			c.idempotent = map[string]bool{}
		}
		for _, n := range names {
			c.idempotent[n] = true
		}
	}
}

// WithRPCOptions passes options to the rpc.Client of every instance.
func WithRPCOptions(opts ...rpc.ClientOption) ClientOption {
	return func(c *clientConfig) { c.rpcOpts = append(c.rpcOpts, opts...) }
}

// WithClientLogger sets where the client logs (default slog.Default()).
func WithClientLogger(l *slog.Logger) ClientOption { return func(c *clientConfig) { c.logger = l } }

// WithMaxInstances caps the instances tracked (default DefaultMaxInstances).
func WithMaxInstances(n int) ClientOption { return func(c *clientConfig) { c.maxInstances = n } }

// WithMaxValueSize caps the size of a registration value read from etcd
// (default DefaultMaxValueSize).
func WithMaxValueSize(n int) ClientOption { return func(c *clientConfig) { c.maxValue = n } }

// endpoint is one registered instance and, while connected, its rpc.Client.
type endpoint struct {
	key         string
	addr        string          // inst.Address, which never changes
	ctx         context.Context // done once the instance is forgotten
	cancel      context.CancelFunc
	firstTry    chan struct{} // closed after the first dial attempt
	outstanding atomic.Int64

	// Guarded by Client.mu.
	inst    Instance
	weight  int // inst's, at least 1
	conn    *rpc.Client
	current int // smooth weighted round robin's running weight
}

// Client calls the instances of one service registered in etcd, keeping one
// multiplexed rpc.Client per live instance and balancing the calls across
// them. Its methods may be called from any goroutine.
type Client struct {
	cfg     clientConfig
	etcd    *clientv3.Client
	ownEtcd bool
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	closed  bool
	eps     map[string]*endpoint
	live    []*endpoint
	changed chan struct{} // closed and replaced when live changes
}

// Dial connects to the etcd named by target, "etcd://host:port[,host:port...]/service",
// as WithEtcd says (TLS, authentication), and returns a Client of the service
// (see NewClient).
func Dial(ctx context.Context, target string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("etcd: target: %w", err)
	}
	service := strings.Trim(u.Path, "/")
	if u.Scheme != "etcd" || u.Host == "" || service == "" {
		return nil, fmt.Errorf("etcd: target %q is not etcd://host:port/service", target)
	}
	var cfg clientConfig
	for _, o := range opts {
		o(&cfg)
	}
	cfg.etcd.Endpoints = strings.Split(u.Host, ",")
	ccfg, err := cfg.etcd.ClientConfig()
	if err != nil {
		return nil, err
	}
	ccfg.Context = context.WithoutCancel(ctx)
	cli, err := clientv3.New(ccfg)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(ctx, cli, service, opts...)
	if err != nil {
		cli.Close()
		return nil, err
	}
	c.ownEtcd = true
	return c, nil
}

// NewClient resolves service through cli and returns once the instances
// registered now have been listed and each dialled once (or ctx is done).
// Instances that come later are used as soon as they are connected; one whose
// key goes away or whose connection drops takes no new call from then on.
func NewClient(ctx context.Context, cli *clientv3.Client, service string, opts ...ClientOption) (*Client, error) {
	cfg := clientConfig{
		prefix: DefaultPrefix, idempotent: map[string]bool{}, logger: slog.Default(),
		maxInstances: DefaultMaxInstances, maxValue: DefaultMaxValueSize,
	}
	for _, o := range opts {
		o(&cfg)
	}
	rctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, etcd: cli, cancel: cancel, done: make(chan struct{}),
		eps: map[string]*endpoint{}, changed: make(chan struct{}),
	}
	listed := make(chan []*endpoint, 1)
	r := &resolver{
		cli: cli, prefix: serviceKey(cfg.prefix, service), maxInstances: cfg.maxInstances,
		maxValue: cfg.maxValue, logger: cfg.logger,
		update: func(set map[string]Instance) {
			eps := c.update(set)
			select {
			case listed <- eps:
			default:
			}
		},
	}
	go func() {
		defer close(c.done)
		r.run(rctx)
	}()
	select {
	case eps := <-listed:
		for _, ep := range eps {
			select {
			case <-ep.firstTry:
			case <-ctx.Done():
			}
		}
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// update makes the endpoints match set, and returns the new ones.
func (c *Client) update(set map[string]Instance) []*endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	for key, ep := range c.eps {
		if in, ok := set[key]; !ok || in.Address != ep.addr {
			c.forget(ep)
		} else {
			ep.inst, ep.weight = in, in.weight()
		}
	}
	var added []*endpoint
	for key, in := range set {
		if _, ok := c.eps[key]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		ep := &endpoint{key: key, addr: in.Address, inst: in, weight: in.weight(), ctx: ctx, cancel: cancel, firstTry: make(chan struct{})}
		c.eps[key] = ep
		added = append(added, ep)
		go c.connect(ep, true)
	}
	return added
}

// forget drops ep, failing its calls in flight; c.mu is held.
func (c *Client) forget(ep *endpoint) {
	delete(c.eps, ep.key)
	ep.cancel()
	if ep.conn != nil {
		c.down(ep)
	}
}

// down takes ep out of the live set and closes its connection; c.mu is held.
func (c *Client) down(ep *endpoint) {
	go ep.conn.Close()
	ep.conn = nil
	c.live = slices.DeleteFunc(c.live, func(e *endpoint) bool { return e == ep })
	c.signal()
}

func (c *Client) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// connect dials ep until connected or forgotten, with a capped back-off;
// first says whether this is ep's first connection.
func (c *Client) connect(ep *endpoint, first bool) {
	delay := 50 * time.Millisecond
	for {
		dctx, cancel := context.WithTimeout(ep.ctx, 5*time.Second)
		conn, err := rpc.Dial(dctx, ep.addr, c.cfg.rpcOpts...)
		cancel()
		if first {
			close(ep.firstTry)
			first = false
		}
		if err == nil {
			c.mu.Lock()
			if ep.ctx.Err() == nil && !c.closed {
				ep.conn = conn
				c.live = append(c.live, ep)
				c.signal()
				conn = nil
			}
			c.mu.Unlock()
			if conn != nil {
				conn.Close()
			}
			return
		}
		select {
		case <-ep.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// lost takes ep out after its connection conn failed a call, and dials it
// again unless it was already taken out.
func (c *Client) lost(ep *endpoint, conn *rpc.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ep.conn != conn {
		return
	}
	c.down(ep)
	if ep.ctx.Err() == nil && !c.closed {
		go c.connect(ep, false)
	}
}

// Call calls the function name on one live instance, chosen by the policy,
// and decodes its answer into result, as rpc.Client.Call does. If the
// instance is lost before the answer, a function registered as idempotent
// is called again on another instance, within ctx's deadline; any other fails
// with an error matching ErrInstanceLost and the rpc error.
func (c *Client) Call(ctx context.Context, name string, args []any, result any) error {
	var tried []*endpoint
	for {
		ep, conn, err := c.pick(ctx, tried)
		if err != nil {
			return err
		}
		ep.outstanding.Add(1)
		err = conn.Call(ctx, name, args, result)
		ep.outstanding.Add(-1)
		if err == nil || !transportError(err) {
			return err
		}
		c.lost(ep, conn)
		if !c.idempotent(ep, name) || ctx.Err() != nil {
			return fmt.Errorf("%w: %s at %s, calling %s: %w", ErrInstanceLost, ep.key, ep.addr, name, err)
		}
		tried = append(tried, ep)
	}
}

// transportError reports whether err says the call's instance is gone, as
// opposed to an answer or a time-out. A call written on a connection that
// has just died fails with the transport's own error, not the rpc one.
func transportError(err error) bool {
	for _, e := range []error{
		rpc.ErrConnectionLost, rpc.ErrNotConnected, rpc.ErrClientClosed,
		internet.ErrConnectionLost, internet.ErrConnectionDone, internet.ErrConnectionClosed,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (c *Client) idempotent(ep *endpoint, name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.idempotent[name] || slices.Contains(ep.inst.Idempotent, name)
}

// pick chooses a live instance not in tried, waiting for one within ctx's
// deadline.
func (c *Client) pick(ctx context.Context, tried []*endpoint) (*endpoint, *rpc.Client, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, nil, ErrClosed
		}
		cands := c.live
		if len(tried) > 0 {
			// A retry, which is rare: the common path copies nothing.
			cands = slices.DeleteFunc(slices.Clone(cands), func(ep *endpoint) bool { return slices.Contains(tried, ep) })
		}
		if len(cands) > 0 {
			ep := c.choose(cands)
			conn := ep.conn
			c.mu.Unlock()
			return ep, conn, nil
		}
		changed := c.changed
		c.mu.Unlock()
		if _, ok := ctx.Deadline(); !ok {
			return nil, nil, ErrNoInstances
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w: %w", ErrNoInstances, ctx.Err())
		}
	}
}

// choose applies the policy to cands (not empty, not modified); c.mu is
// held.
func (c *Client) choose(cands []*endpoint) *endpoint {
	switch c.cfg.policy {
	case LeastOutstanding:
		// The instances with the fewest calls in flight share the call by
		// weight, so that idle instances are not all passed over for one.
		least := cands[0].outstanding.Load()
		for _, ep := range cands[1:] {
			least = min(least, ep.outstanding.Load())
		}
		return roundRobin(cands, func(ep *endpoint) bool { return ep.outstanding.Load() == least })
	case PowerOfTwo:
		a := weightedDraw(cands, nil)
		if len(cands) == 1 {
			return a
		}
		if b := weightedDraw(cands, a); lighter(b, a) {
			return b
		}
		return a
	default:
		return roundRobin(cands, nil)
	}
}

// roundRobin is smooth weighted round robin over the cands that in takes
// (all if in is nil); c.mu is held.
func roundRobin(cands []*endpoint, in func(*endpoint) bool) *endpoint {
	total := 0
	var best *endpoint
	for _, ep := range cands {
		if in != nil && !in(ep) {
			continue
		}
		ep.current += ep.weight
		total += ep.weight
		if best == nil || ep.current > best.current {
			best = ep
		}
	}
	best.current -= total
	return best
}

// lighter reports whether a has fewer calls in flight than b.
func lighter(a, b *endpoint) bool {
	return a.outstanding.Load() < b.outstanding.Load()
}

// weightedDraw draws one of cands other than skip, in proportion to weight.
func weightedDraw(cands []*endpoint, skip *endpoint) *endpoint {
	total := 0
	for _, ep := range cands {
		if ep != skip {
			total += ep.weight
		}
	}
	n := rand.IntN(total)
	for _, ep := range cands {
		if ep == skip {
			continue
		}
		if n -= ep.weight; n < 0 {
			return ep
		}
	}
	panic("unreachable")
}

// Live returns the addresses of the instances connected now.
func (c *Client) Live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	addrs := make([]string, 0, len(c.live))
	for _, ep := range c.live {
		addrs = append(addrs, ep.addr)
	}
	slices.Sort(addrs)
	return addrs
}

// Close stops resolving, closes every instance's connection (failing the
// calls in flight with rpc.ErrClientClosed) and, for a client of Dial, the
// etcd client.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	for _, ep := range c.eps {
		c.forget(ep)
	}
	c.mu.Unlock()
	c.cancel()
	<-c.done
	if c.ownEtcd {
		c.etcd.Close()
	}
}
