package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
)

const testTTL = 2 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// etcdServer is an embedded etcd on loopback ports that can be stopped and
// started again on the same ports and data.
type etcdServer struct {
	t      testing.TB
	dir    string
	client string // host:port
	peer   string
	tls    *transport.TLSInfo // of the client port; nil for plain TCP
	access Config             // how clients reach it
	e      *embed.Etcd
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startEtcd(t testing.TB) *etcdServer {
	return startEtcdTLS(t, nil, Config{})
}

// startEtcdTLS starts etcd with TLS on its client port as info says (plain
// TCP if nil); clients reach it with access's certificates.
func startEtcdTLS(t testing.TB, info *transport.TLSInfo, access Config) *etcdServer {
	s := &etcdServer{t: t, dir: t.TempDir(), client: freePort(t), peer: freePort(t), tls: info, access: access}
	scheme := "http://"
	if info != nil {
		scheme = "https://"
	}
	s.access.Endpoints = []string{scheme + s.client}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *etcdServer) start() {
	cfg := embed.NewConfig()
	cfg.Dir = s.dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.BcryptCost = 4 // bcrypt's least: TestAuth's passwords need no strength
	cu, _ := url.Parse(s.access.Endpoints[0])
	if s.tls != nil {
		cfg.ClientTLSInfo = *s.tls
	}
	pu, _ := url.Parse("http://" + s.peer)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		s.t.Fatal("etcd did not start")
	}
	s.e = e
}

func (s *etcdServer) stop() {
	if s.e != nil {
		s.e.Close()
		s.e = nil
	}
}

func (s *etcdServer) newClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := s.access.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// instance is one rpc server registered in etcd.
type instance struct {
	name string
	addr string
	loop *reactor.Reactor
	port *internet.Port
	srv  *rpc.Server
	cli  *clientv3.Client
	reg  *Registration
	once sync.Once
}

// startInstance serves "whoami" (idempotent) and "once" (not) on loopback
// and registers them.
func startInstance(t testing.TB, e *etcdServer, name string, weight int) *instance {
	t.Helper()
	in := &instance{name: name, srv: rpc.NewServer(rpc.WithLogger(quiet))}
	if err := in.srv.Register("whoami", func() string { return name }); err != nil {
		t.Fatal(err)
	}
	if err := in.srv.Register("once", func() string { return name }); err != nil {
		t.Fatal(err)
	}
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	in.loop = loop
	in.port, err = internet.ListenTCP(loop, "127.0.0.1:0", in.srv.Factory())
	if err != nil {
		t.Fatal(err)
	}
	in.addr = in.port.Addr().String()
	go func() { _ = loop.Run() }()
	in.cli = e.newClient(t)
	in.reg, err = Register(context.Background(), in.cli, "calc", Instance{
		Address: in.addr, Functions: []string{"whoami", "once"}, Idempotent: []string{"whoami"}, Weight: weight,
	}, WithTTL(testTTL), WithInstanceName(name), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.kill)
	return in
}

// kill is a crash: the port closes, the connections are aborted, and the
// lease is no longer kept alive (the key lingers until it expires).
func (in *instance) kill() {
	in.once.Do(func() {
		in.cli.Close()
		stopped, cancel := context.WithCancel(context.Background())
		cancel()
		_ = in.reg.Close(stopped) // stops the keep-alive; etcd is not reached
		in.loop.CallFromThread(func() { in.port.StopListening() })
		<-in.srv.Drain(stopped)
		in.loop.CallFromThread(func() { _ = in.loop.Stop() })
		<-in.loop.Done()
	})
}

// stop is a graceful stop: the key goes first, then the port, then the
// connections drain.
func (in *instance) stop(t testing.TB) {
	in.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := in.reg.Close(ctx); err != nil {
			t.Error(err)
		}
		in.loop.CallFromThread(func() { in.port.StopListening() })
		<-in.srv.Drain(ctx)
		in.loop.CallFromThread(func() { _ = in.loop.Stop() })
		<-in.loop.Done()
		in.cli.Close()
	})
}

func dialService(t testing.TB, e *etcdServer, opts ...ClientOption) *Client {
	t.Helper()
	return dialServiceNamed(t, e, "calc", opts...)
}

func dialServiceNamed(t testing.TB, e *etcdServer, service string, opts ...ClientOption) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, "etcd://"+e.client+"/"+service, append([]ClientOption{WithClientLogger(quiet), WithEtcd(e.access)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// waitLive waits until the client's live set has n instances.
func waitLive(t testing.TB, c *Client, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(c.Live()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("live %v, want %d instances", c.Live(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func callCounts(t testing.TB, c *Client, fn string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var who string
		err := c.Call(ctx, fn, nil, &who)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got[who]++
	}
	return got
}

func TestPoliciesSpreadCallsOverAllInstances(t *testing.T) {
	e := startEtcd(t)
	for i, w := range []int{1, 1, 2} {
		startInstance(t, e, fmt.Sprintf("s%d", i), w)
	}
	for _, tc := range []struct {
		name   string
		policy Policy
	}{{"RoundRobin", RoundRobin}, {"LeastOutstanding", LeastOutstanding}, {"PowerOfTwo", PowerOfTwo}} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialService(t, e, WithPolicy(tc.policy))
			waitLive(t, c, 3)
			got := callCounts(t, c, "whoami", 400)
			for _, s := range []string{"s0", "s1", "s2"} {
				if got[s] < 40 {
					t.Errorf("%s got %d of 400 calls: %v", s, got[s], got)
				}
			}
			if tc.policy == RoundRobin && (got["s2"] != 200 || got["s0"] != 100) {
				t.Errorf("weighted round robin gave %v, want s2 200, s0 and s1 100", got)
			}
		})
	}
}

func TestKillDuringIdempotentCallsFailsNone(t *testing.T) {
	e := startEtcd(t)
	var ins []*instance
	for i := range 3 {
		ins = append(ins, startInstance(t, e, fmt.Sprintf("s%d", i), 1))
	}
	c := dialService(t, e, WithPolicy(LeastOutstanding))
	waitLive(t, c, 3)
	l := startLoad(t, c)
	l.waitCalls(300)
	died := time.Now()
	ins[1].kill()
	out := waitOut(t, c, ins[1].addr)
	// Calls are routed to the instances of the live set only, under the
	// client's lock, so the last call routed to s1 came before out.
	t.Logf("death to the last call routed to the killed instance: at most %v (TTL %v)", out.Sub(died), testTTL)
	if out.Sub(died) > testTTL+time.Second {
		t.Errorf("killed instance taken out %v after its death, want at most TTL+1s", out.Sub(died))
	}
	l.waitCalls(300)
	l.stop()
	// After the kill the instance takes no call.
	if got := callCounts(t, c, "whoami", 60); got["s1"] != 0 {
		t.Fatalf("killed instance still called: %v", got)
	}
}

// waitOut waits until the instance at addr has left c's live set, and
// returns when that was seen.
func waitOut(t testing.TB, c *Client, addr string) time.Time {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		in := slices.ContainsFunc(c.live, func(ep *endpoint) bool { return ep.addr == addr })
		changed := c.changed
		c.mu.Unlock()
		if !in {
			return time.Now()
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s still live after 10 s", addr)
		}
	}
}

// load makes idempotent calls from 8 goroutines until stopped; every failed
// call fails the test.
type load struct {
	t       testing.TB
	done    atomic.Int64
	failed  atomic.Int64
	wg      sync.WaitGroup
	stopped chan struct{}
}

func startLoad(t testing.TB, c *Client) *load {
	l := &load{t: t, stopped: make(chan struct{})}
	for range 8 {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stopped:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				var who string
				if err := c.Call(ctx, "whoami", nil, &who); err != nil {
					l.failed.Add(1)
					t.Error(err)
				}
				cancel()
				l.done.Add(1)
			}
		})
	}
	return l
}

// waitCalls waits for n more calls to be done.
func (l *load) waitCalls(n int64) {
	target := l.done.Load() + n
	for l.done.Load() < target {
		time.Sleep(time.Millisecond)
	}
}

func (l *load) stop() {
	close(l.stopped)
	l.wg.Wait()
	if l.failed.Load() != 0 {
		l.t.Fatalf("%d of %d calls failed", l.failed.Load(), l.done.Load())
	}
}

func TestRollingRestartLosesNoIdempotentCall(t *testing.T) {
	e := startEtcd(t)
	var ins []*instance
	for i := range 3 {
		ins = append(ins, startInstance(t, e, fmt.Sprintf("s%d", i), 1))
	}
	c := dialService(t, e, WithPolicy(PowerOfTwo))
	waitLive(t, c, 3)
	l := startLoad(t, c)
	var fresh []string
	for i, in := range ins {
		l.waitCalls(200)
		in.stop(t)
		fresh = append(fresh, startInstance(t, e, fmt.Sprintf("s%d-new", i), 1).addr)
		waitLive(t, c, 3)
	}
	l.waitCalls(200)
	l.stop()
	// The client ends with the three new instances and none of the old.
	slices.Sort(fresh)
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(c.Live(), fresh) {
		if time.Now().After(deadline) {
			t.Fatalf("live %v, want %v", c.Live(), fresh)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNonIdempotentCallOnLostInstanceFailsClearly(t *testing.T) {
	e := startEtcd(t)
	in := startInstance(t, e, "s0", 1)
	c := dialService(t, e)
	waitLive(t, c, 1)
	in.kill()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Call(ctx, "once", nil, nil)
	if !errors.Is(err, ErrInstanceLost) {
		t.Fatalf("call on a killed instance: %v, want ErrInstanceLost", err)
	}
}

func TestNewInstanceIsUsedWithoutRestart(t *testing.T) {
	e := startEtcd(t)
	startInstance(t, e, "s0", 1)
	c := dialService(t, e)
	waitLive(t, c, 1)
	startInstance(t, e, "s1", 1)
	waitLive(t, c, 2)
	if got := callCounts(t, c, "whoami", 10); got["s1"] != 5 {
		t.Fatalf("new instance got %v", got)
	}
}

func TestGracefulStopRemovesInstanceAtOnce(t *testing.T) {
	e := startEtcd(t)
	a := startInstance(t, e, "s0", 1)
	startInstance(t, e, "s1", 1)
	c := dialService(t, e)
	waitLive(t, c, 2)
	if err := a.reg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitLive(t, c, 1)
	if got := callCounts(t, c, "once", 10); got["s0"] != 0 {
		t.Fatalf("deregistered instance still called: %v", got)
	}
}

func TestReRegistersAfterEtcdWasAwayLongerThanTTL(t *testing.T) {
	e := startEtcd(t)
	in := startInstance(t, e, "s0", 1)
	renewed := in.reg.Renewed()
	// Stopping takes seconds (etcd waits for its clients' streams to end,
	// and keeps the lease alive meanwhile); the outage starts after it.
	e.stop()
	time.Sleep(testTTL + time.Second) // the outage itself, not a synchronisation
	e.start()
	select {
	case <-renewed:
	case <-time.After(testTTL):
		t.Fatal("not registered again within the TTL after etcd came back")
	}
	// The key is there, under a live lease, and it outlives the old one.
	cli := e.newClient(t)
	resp, err := cli.Get(context.Background(), in.reg.Key())
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("key after re-registration: %v, %v", resp, err)
	}
	ttl, err := cli.TimeToLive(context.Background(), clientv3.LeaseID(resp.Kvs[0].Lease))
	if err != nil || ttl.TTL <= 0 {
		t.Fatalf("lease of the re-created key: %+v, %v", ttl, err)
	}
}

func TestCompactionDuringWatchLosesNoInstance(t *testing.T) {
	e := startEtcd(t)
	startInstance(t, e, "s0", 1)
	cli := e.newClient(t)
	updates := make(chan map[string]Instance, 16)
	r := &resolver{
		cli: cli, prefix: serviceKey(DefaultPrefix, "calc"), maxInstances: DefaultMaxInstances,
		maxValue: DefaultMaxValueSize, logger: quiet, update: func(m map[string]Instance) { updates <- m },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	set, rev, err := r.list(ctx)
	if err != nil || len(set) != 1 {
		t.Fatalf("list: %v, %v", set, err)
	}
	// A second instance comes, and the history holding it is compacted
	// before the watch starts from the list's revision.
	startInstance(t, e, "s1", 1)
	resp, err := cli.Put(ctx, "/unrelated", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	r.watch(ctx, set, rev) // returns on the compaction
	if ctx.Err() != nil {
		t.Fatal("the watch did not notice the compaction")
	}
	go r.run(ctx)
	if m := <-updates; len(m) != 2 {
		t.Fatalf("after re-listing: %v, want both instances", m)
	}
}
