package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lesismal/nbio"
	nbiolog "github.com/lesismal/nbio/logging"
	"github.com/panjf2000/gnet/v2"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// EchoSize is the default size of the message each echo connection keeps
// in flight.
const EchoSize = 64

// listenEcho is the listener every echo server announces.
const listenEcho = "echo"

// echoServer is one row of the echo table: a server that Serve runs by
// name, and how the table calls it.
type echoServer struct {
	name, desc string
	serve      serveFunc
}

// echoServers are the echo servers, Twist's first: each is the minimal
// echo server of its library, on 127.0.0.1.
var echoServers = []echoServer{
	{"echo-twist-1", "twist 1 loop", serveTwistEcho(1)},
	{"echo-twist-2", "twist 2 loops", serveTwistEcho(2)},
	{"echo-gnet-1", "gnet 1 loop", serveGnetEcho(1)},
	{"echo-gnet-2", "gnet 2 loops", serveGnetEcho(2)},
	// nbio's default is a poller per 4 CPUs, at least one.
	{"echo-nbio-1", "nbio 1 poller", serveNbioEcho(1)},
	{"echo-nbio-2", "nbio 2 pollers", serveNbioEcho(2)},
	{"echo-net", "net, goroutines", serveNetEcho},
}

// The echo servers are run by Serve, like the RPC servers.
func init() {
	for _, s := range echoServers {
		servers[s.name] = s.serve
	}
}

// echoProtocol writes back what it reads.
type echoProtocol struct{ internet.BaseProtocol }

func (e *echoProtocol) DataReceived(data []byte) { _, _ = e.Transport.Write(data) }

// serveTwistEcho serves echoProtocol on a group of loops.
func serveTwistEcho(loops int) serveFunc {
	return func() (map[string]string, func(), error) {
		g, err := reactor.NewGroup(loops)
		if err != nil {
			return nil, nil, err
		}
		gp, err := internet.ListenTCPGroup(g, "127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol {
			return &echoProtocol{}
		}))
		if err != nil {
			return nil, nil, err
		}
		done := make(chan error, 1)
		go func() { done <- g.Run() }()
		return map[string]string{listenEcho: gp.Addr().String()}, func() { g.Stop(); <-done }, nil
	}
}

// gnetEcho is gnet's echo: OnTraffic writes back all it has read.
type gnetEcho struct {
	gnet.BuiltinEventEngine
	booted chan gnet.Engine
}

func (e *gnetEcho) OnBoot(eng gnet.Engine) gnet.Action {
	e.booted <- eng
	return gnet.None
}

func (*gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	_, _ = c.Write(buf)
	return gnet.None
}

// serveGnetEcho serves gnetEcho in multicore mode with loops event loops.
func serveGnetEcho(loops int) serveFunc {
	return func() (map[string]string, func(), error) {
		h := &gnetEcho{booted: make(chan gnet.Engine, 1)}
		done := make(chan error, 1)
		go func() {
			done <- gnet.Run(h, "tcp://127.0.0.1:0", gnet.WithMulticore(true), gnet.WithNumEventLoop(loops), gnet.WithLogger(gnetLogger{}))
		}()
		var eng gnet.Engine
		select {
		case eng = <-h.booted:
		case err := <-done:
			return nil, nil, fmt.Errorf("bench: gnet ended before it booted: %v", err)
		}
		stop := func() { _ = eng.Stop(context.Background()); <-done }
		addr, err := gnetAddr(eng)
		if err != nil {
			stop()
			return nil, nil, err
		}
		return map[string]string{listenEcho: addr}, stop, nil
	}
}

// gnetAddr returns the address of eng's listener, which gnet does not
// tell when it chose the port.
func gnetAddr(eng gnet.Engine) (string, error) {
	fd, err := eng.Dup()
	if err != nil {
		return "", err
	}
	defer syscall.Close(fd)
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return "", err
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		return "", fmt.Errorf("bench: gnet listens on %T", sa)
	}
	return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port)).String(), nil
}

// gnetLogger keeps gnet's log, which goes to standard output by default,
// out of Serve's protocol: errors go to standard error, the rest nowhere.
type gnetLogger struct{}

func (gnetLogger) Debugf(string, ...any)             {}
func (gnetLogger) Infof(string, ...any)              {}
func (gnetLogger) Warnf(string, ...any)              {}
func (gnetLogger) Errorf(format string, args ...any) { log.Printf("gnet: "+format, args...) }
func (gnetLogger) Fatalf(format string, args ...any) { log.Fatalf("gnet: "+format, args...) }

// serveNbioEcho serves nbio's echo, OnData writing back, with pollers
// pollers. Conn.Write keeps a copy of what the socket does not take, so
// data need not be copied first.
func serveNbioEcho(pollers int) serveFunc {
	return func() (map[string]string, func(), error) {
		// nbio logs to standard output by default: keep it out of Serve's
		// protocol.
		nbiolog.Output = os.Stderr
		nbiolog.SetLevel(nbiolog.LevelError)
		g := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{"127.0.0.1:0"}, NPoller: pollers})
		g.OnData(func(c *nbio.Conn, data []byte) { _, _ = c.Write(data) })
		if err := g.Start(); err != nil {
			return nil, nil, err
		}
		return map[string]string{listenEcho: g.Addrs[0]}, g.Stop, nil
	}
}

// serveNetEcho serves the net package's echo: a goroutine per connection
// doing io.Copy. On Linux io.Copy between TCP connections splices, and
// holds a pipe, two more descriptors, while it waits for data.
func serveNetEcho() (map[string]string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return map[string]string{listenEcho: l.Addr().String()}, func() { l.Close() }, nil
}

// MaxIdleConns is the most idle connections an echo server can hold when
// processes may open nofile descriptors: the net server needs three per
// connection (the socket and a splice pipe). It is a multiple of 1,000.
func MaxIdleConns(nofile uint64) int {
	const spare = 64 // the listener, the runtime's, the standard files
	if nofile < spare {
		return 0
	}
	return int((nofile-spare)/3) / 1000 * 1000
}

// EchoConfig says what RunEcho measures and how.
type EchoConfig struct {
	// Warmup is how long the load runs before it is measured, and
	// Duration how long it is measured.
	Warmup, Duration time.Duration
	// Rounds is how many times each server is measured (at least once).
	Rounds int
	// Conns is the number of connections that each keep one message of
	// Size bytes (EchoSize if 0) in flight; none, no load is run.
	Conns, Size int
	// Pipeline, if above 1, is how many messages each connection writes
	// at once, in one write, before it reads them all back.
	Pipeline int
	// Idle is the number of idle connections the server's memory is
	// measured with, and Settle how long they are held before it is
	// read; none, no memory is measured.
	Idle   int
	Settle time.Duration
	// Filter, if not nil, selects the servers to run by name (for
	// example echo-twist-1).
	Filter *regexp.Regexp
	// Command returns the command that runs the named server: a process
	// that calls Serve with its standard input and output.
	Command func(server string) *exec.Cmd
	// Log, if not nil, is told of each measurement as it starts.
	Log io.Writer
}

// EchoResult is what RunEcho measured of one server: each figure is the
// median of the rounds' figures, taken one figure at a time.
type EchoResult struct {
	// Server names the server as the table does.
	Server string
	// MessagesPerSecond is the number of messages echoed per second.
	MessagesPerSecond float64
	// UserPerMessage and SysPerMessage are the server process's user and
	// system CPU time per message, in nanoseconds.
	UserPerMessage, SysPerMessage float64
	// IdleConns is the number of idle connections, and RSSPerConn how
	// much the server's resident set grew with them, in bytes per
	// connection.
	IdleConns  int
	RSSPerConn float64
}

// RunEcho measures every echo server that cfg's filter selects and returns
// their results, in the order of the table. Each measurement has a fresh
// server process: one for the load, one for the idle connections. The
// rounds go through every server in turn, so that what else the machine
// does falls on them all.
func RunEcho(cfg EchoConfig) ([]EchoResult, error) {
	var selected []echoServer
	for _, s := range echoServers {
		if cfg.Filter == nil || cfg.Filter.MatchString(s.name) {
			selected = append(selected, s)
		}
	}
	rounds := make([][]EchoResult, len(selected))
	for round := range max(cfg.Rounds, 1) {
		for i, s := range selected {
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "round %d: %s...\n", round+1, s.desc)
			}
			r, err := measureEcho(cfg, s)
			if err != nil {
				return nil, fmt.Errorf("bench: %s: %w", s.desc, err)
			}
			rounds[i] = append(rounds[i], r)
		}
	}
	results := make([]EchoResult, len(selected))
	for i, rs := range rounds {
		results[i] = EchoResult{
			Server:            selected[i].desc,
			MessagesPerSecond: median(rs, func(r EchoResult) float64 { return r.MessagesPerSecond }),
			UserPerMessage:    median(rs, func(r EchoResult) float64 { return r.UserPerMessage }),
			SysPerMessage:     median(rs, func(r EchoResult) float64 { return r.SysPerMessage }),
			IdleConns:         cfg.Idle,
			RSSPerConn:        median(rs, func(r EchoResult) float64 { return r.RSSPerConn }),
		}
	}
	return results, nil
}

// median returns the median of f over rs, the upper one of an even count.
func median(rs []EchoResult, f func(EchoResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// measureEcho runs one round of s: the load, then the idle connections.
func measureEcho(cfg EchoConfig, s echoServer) (EchoResult, error) {
	r := EchoResult{Server: s.desc, IdleConns: cfg.Idle}
	if cfg.Conns > 0 {
		if err := withServer(cfg.Command(s.name), func(p *serverProcess) error { return echoLoad(cfg, p, &r) }); err != nil {
			return r, err
		}
	}
	if cfg.Idle > 0 {
		err := withServer(cfg.Command(s.name), func(p *serverProcess) error {
			var err error
			r.RSSPerConn, _, err = idleGrowth(p, cfg.Idle, cfg.Settle, dialEcho)
			return err
		})
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// withServer runs f with a fresh server process started by cmd, which it
// then ends.
func withServer(cmd *exec.Cmd, f func(*serverProcess) error) error {
	p, err := startServer(cmd)
	if err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	err = f(p)
	if cerr := p.close(); cerr != nil && err == nil {
		err = fmt.Errorf("the server: %w", cerr)
	}
	return err
}

// echoGrace is how long past the end of its window a client waits for a
// reply before it gives up on the server.
const echoGrace = 10 * time.Second

// echoLoad keeps one message in flight on each of cfg.Conns connections to
// p through the warm-up and the window, and sets r's load figures from
// what the window counted and p's CPU time at both its ends.
func echoLoad(cfg EchoConfig, p *serverProcess, r *EchoResult) error {
	conns, err := dialEcho(p.addrs[listenEcho], cfg.Conns)
	if err != nil {
		return err
	}
	defer closeConns(conns)
	r.MessagesPerSecond, r.UserPerMessage, r.SysPerMessage, err = pingPongLoad(p, conns, cmp.Or(cfg.Size, EchoSize), max(cfg.Pipeline, 1), cfg.Warmup, cfg.Duration)
	return err
}

// pingPongLoad keeps depth messages of size bytes in flight on each of conns
// through the warm-up and the window, and returns the messages echoed per second in
// the window and p's user and system CPU time per message, in nanoseconds.
func pingPongLoad(p *serverProcess, conns []net.Conn, size, depth int, warmup, duration time.Duration) (perSecond, user, sys float64, err error) {
	from := time.Now().Add(warmup)
	until := from.Add(duration)
	counts := make([]int, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { counts[i], errs[i] = pingPong(c, size, depth, from, until) })
	}
	// The clients stop by themselves at until: the harness waits for the
	// clock, to read the server's CPU time at the window's ends.
	time.Sleep(time.Until(from))
	cpu0, err0 := p.cpu()
	time.Sleep(time.Until(until))
	cpu1, err1 := p.cpu()
	wg.Wait()
	if err := errors.Join(append(errs, err0, err1)...); err != nil {
		return 0, 0, 0, err
	}
	msgs := 0
	for _, n := range counts {
		msgs += n
	}
	if msgs == 0 {
		return 0, 0, 0, errors.New("no message was echoed in the window")
	}
	return float64(msgs) / duration.Seconds(),
		float64((cpu1.user - cpu0.user).Nanoseconds()) / float64(msgs),
		float64((cpu1.sys - cpu0.sys).Nanoseconds()) / float64(msgs), nil
}

// pingPong sends depth messages of size bytes on c and reads them back,
// again and again until until, and returns how many came back in
// [from, until).
func pingPong(c net.Conn, size, depth int, from, until time.Time) (int, error) {
	if err := c.SetDeadline(until.Add(echoGrace)); err != nil {
		return 0, err
	}
	msg := make([]byte, size*depth)
	buf := make([]byte, size*depth)
	n := 0
	for {
		if _, err := c.Write(msg); err != nil {
			return n, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return n, err
		}
		now := time.Now()
		if !now.Before(until) {
			return n, nil
		}
		if !now.Before(from) {
			n += depth
		}
	}
}

// idleTimeout bounds how long idleGrowth waits for the server to accept
// its connections.
const idleTimeout = time.Minute

// idleGrowth measures what idle connections cost server p: it opens n
// connections to p's echo listener with open, waits until p has accepted
// them all and then for settle, and returns how much p's resident set (in
// bytes) and its goroutine count grew, per connection. The echo and TLS
// harnesses share it; open says what a connection does before it idles.
func idleGrowth(p *serverProcess, n int, settle time.Duration, open func(addr string, n int) ([]net.Conn, error)) (rss, goroutines float64, err error) {
	pid := p.cmd.Process.Pid
	socks0, err := sockets(pid)
	if err != nil {
		return 0, 0, err
	}
	g0, err := p.goroutines()
	if err != nil {
		return 0, 0, err
	}
	rss0, err := VmRSS(pid)
	if err != nil {
		return 0, 0, err
	}
	conns, err := open(p.addrs[listenEcho], n)
	if err != nil {
		return 0, 0, err
	}
	defer closeConns(conns)
	// A connection is accepted some time after the client's dial returns.
	deadline := time.Now().Add(idleTimeout)
	for {
		s, err := sockets(pid)
		if err != nil {
			return 0, 0, err
		}
		if s >= socks0+n {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("the server accepted %d of %d connections in %v", s-socks0, n, idleTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(settle)
	rss1, err := VmRSS(pid)
	if err != nil {
		return 0, 0, err
	}
	g1, err := p.goroutines()
	if err != nil {
		return 0, 0, err
	}
	return float64(rss1-rss0) / float64(n), float64(g1-g0) / float64(n), nil
}

// dialEcho opens n connections to addr, a few at a time so as to stay
// within the server's backlog.
func dialEcho(addr string, n int) ([]net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return dialConcurrently(n, func() (net.Conn, error) { return d.Dial("tcp", addr) })
}

// dialConcurrently opens n connections with dial, 16 at a time.
func dialConcurrently(n int, dial func() (net.Conn, error)) ([]net.Conn, error) {
	const dialers = 16
	conns := make([]net.Conn, n)
	errs := make([]error, dialers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range dialers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				c, err := dial()
				if err != nil {
					errs[w] = err
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeConns(conns)
		return nil, err
	}
	return conns, nil
}

// closeConns closes the connections that are not nil.
func closeConns(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// VmRSS returns process pid's resident set size in bytes.
func VmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib * 1024, err
		}
	}
	return 0, fmt.Errorf("bench: no VmRSS for process %d", pid)
}

// sockets counts process pid's open sockets.
func sockets(pid int) (int, error) {
	dir := fmt.Sprintf("/proc/%d/fd/", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, fd := range fds {
		// An error is a descriptor closed since the directory was read.
		if target, err := os.Readlink(dir + fd.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n, nil
}

// WriteEchoTable writes results as a table, then Twist's user CPU time per
// message and memory per idle connection as ratios to each other
// server's: below 1, Twist uses less. It returns w's first error.
func WriteEchoTable(w io.Writer, results []EchoResult) error {
	ew := &errWriter{w: w}
	w = ew
	const row = "%-16s %10s %12s %11s %14s\n"
	fmt.Fprintf(w, row, "server", "msgs/s", "user ns/msg", "sys ns/msg", "idle KiB/conn")
	for _, r := range results {
		fmt.Fprintf(w, row, r.Server, fmt.Sprintf("%.0f", r.MessagesPerSecond), fmt.Sprintf("%.0f", r.UserPerMessage),
			fmt.Sprintf("%.0f", r.SysPerMessage), fmt.Sprintf("%.3f", r.RSSPerConn/1024))
	}
	fmt.Fprintln(w, "user ns/msg, sys ns/msg: the server process's CPU time per echoed message")
	if len(results) > 0 {
		fmt.Fprintf(w, "idle KiB/conn: the server's RSS growth with %d idle connections, per connection\n", results[0].IdleConns)
	}
	const ratioRow = "%-16s %-16s %12s %14s\n"
	header := false
	for _, t := range results {
		if !strings.HasPrefix(t.Server, "twist") {
			continue
		}
		for _, peer := range results {
			if strings.HasPrefix(peer.Server, "twist") {
				continue
			}
			if !header {
				fmt.Fprintf(w, ratioRow, "twist/peer", "peer", "user ns/msg", "idle KiB/conn")
				header = true
			}
			fmt.Fprintf(w, ratioRow, t.Server, peer.Server, ratio(t.UserPerMessage, peer.UserPerMessage), ratio(t.RSSPerConn, peer.RSSPerConn))
		}
	}
	return ew.err
}

// ratio formats a/b, or "-" when b is not positive.
func ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
