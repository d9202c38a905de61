package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twistgo/twist/protocols/bgp"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
)

// probeRun is a Probe on a real loop in its own goroutine, for tests.
type probeRun struct {
	t     *testing.T
	loop  *reactor.Reactor
	probe *Probe
	store *Store
}

// startProbe runs a probe for cfg until the test ends.
func startProbe(t *testing.T, cfg *Config) *probeRun {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	loop, err := reactor.New(reactor.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenStore(filepath.Join(t.TempDir(), "probe.db"), loop, log)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := NewProbe(loop, cfg, store, log)
	if err != nil {
		t.Fatal(err)
	}
	pr := &probeRun{t: t, loop: loop, probe: probe, store: store}
	started := make(chan error, 1)
	loop.CallWhenRunning(func() { started <- probe.Start() })
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()
	if err := <-started; err != nil {
		loop.Stop()
		<-done
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := threads.BlockingCallFromThread(loop, func() (any, error) { return probe.Stop(), nil }); err != nil {
			t.Errorf("stopping the probe: %v", err)
		}
		loop.Stop()
		<-done
		store.Close()
		loop.Close()
	})
	return pr
}

// call runs f on the probe's loop and returns its value.
func (pr *probeRun) call(f func() any) any {
	pr.t.Helper()
	v, err := threads.BlockingCallFromThread(pr.loop, func() (any, error) { return f(), nil })
	if err != nil {
		pr.t.Fatal(err)
	}
	return v
}

func (pr *probeRun) peer() *bgp.Peer { return pr.probe.Peers()[0] }

func (pr *probeRun) state() bgp.State {
	return pr.call(func() any { return pr.peer().State() }).(bgp.State)
}

// eventually polls cond until it holds or the time runs out: the routers
// are other processes, whose progress the test can only watch.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		<-tick.C
	}
}

func (pr *probeRun) waitState(s bgp.State, timeout time.Duration) {
	pr.t.Helper()
	eventually(pr.t, timeout, "session not "+s.String(), func() bool { return pr.state() == s })
}

// waitStored waits until the database holds the session in state s, and
// returns it.
func (pr *probeRun) waitStored(s bgp.State) Session {
	pr.t.Helper()
	var got Session
	eventually(pr.t, 5*time.Second, "database never showed "+s.String(), func() bool {
		ss, err := pr.store.Sessions()
		if err != nil {
			pr.t.Fatal(err)
		}
		if len(ss) == 1 && ss[0].State == s.String() {
			got = ss[0]
			return true
		}
		return false
	})
	return got
}

// needTool returns the path of a router's program, installing its Debian
// package if it is missing; the test is skipped only if that fails.
func needTool(t *testing.T, bin, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	installMu.Lock()
	defer installMu.Unlock()
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	out, err := exec.Command("apt-get", "install", "-y", "--no-install-recommends", pkg).CombinedOutput()
	if p, lerr := exec.LookPath(bin); lerr == nil {
		return p
	}
	tail := out[max(0, len(out)-300):]
	t.Skipf("%s is not installed and `apt-get install %s` failed (%v): %s", bin, pkg, err, tail)
	return ""
}

var installMu sync.Mutex

// freePort returns a TCP port free on ip now.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// router is a BIRD or GoBGP process started by a test.
type router struct {
	t    *testing.T
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *os.File
	// ready reports whether the router answers its control socket.
	ready func() bool
}

func (r *router) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.args[0], r.args[1:]...)
	r.cmd.Dir = r.dir
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if os.Getuid() == 0 {
		// Routers run unprivileged, as they would for any user.
		r.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	done, cmd := make(chan struct{}), r.cmd
	r.done = done
	go func() { cmd.Wait(); close(done) }()
	eventually(r.t, 10*time.Second, r.args[0]+" did not come up", func() bool {
		select {
		case <-done:
			r.t.Fatalf("%s exited: %v", r.args[0], cmd.ProcessState)
		default:
		}
		return r.ready()
	})
}

// kill ends the router at once, as a crash would.
func (r *router) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Signal(syscall.SIGCONT)
		r.cmd.Process.Kill()
		<-r.done
		r.cmd = nil
	}
}

func (r *router) signal(s syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(s); err != nil {
		r.t.Fatal(err)
	}
}

func newRouter(t *testing.T, name string) *router {
	dir := t.TempDir()
	// The unprivileged router makes its socket there.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o777)
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	r := &router{t: t, dir: dir, log: log}
	t.Cleanup(func() {
		r.kill()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("%s log:\n%s", name, b[max(0, len(b)-4000):])
		}
	})
	return r
}

// output runs a router's CLI and returns what it printed.
func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s failed: %v: %s", name, err, out)
	}
	return string(out)
}

// probeConfig is a probe at 127.0.0.1 with one peer.
func probeConfig(t *testing.T, peer PeerConfig, routes ...RouteConfig) *Config {
	return &Config{RouterID: "127.0.0.1", LocalAS: 65000, Listen: fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1")),
		StatsInterval: 0.2, Peers: []PeerConfig{peer}, Routes: routes}
}

func listenPort(t *testing.T, cfg *Config) int {
	ap, err := netip.ParseAddrPort(cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	return int(ap.Port())
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// checkStatusPage serves the probe's status page and checks its one session
// line: peer, AS, state and routes received.
func checkStatusPage(t *testing.T, pr *probeRun, peer, as, state, received string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	if err, _ := pr.call(func() any { return pr.probe.ServeStatus(addr, "") }).(error); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status page: %v %v %v", resp.Status, resp.Header, err)
	}
	lines := strings.Split(string(body), "\n")
	if len(lines) < 3 {
		t.Fatalf("status page:\n%s", body)
	}
	if f := strings.Fields(lines[2]); len(f) < 7 || f[0] != peer || f[1] != as || f[2] != state || f[5] != received {
		t.Fatalf("status page line %q, want %s %s %s ... %s", lines[2], peer, as, state, received)
	}
	// Twist's status page of the probe's loop, below /twist/. Until the
	// page's first sample is taken it answers 503 with Retry-After.
	eventually(t, 5*time.Second, "/twist/status.json has no sample", func() bool {
		resp, err = http.Get("http://" + addr + "/twist/status.json")
		if err != nil {
			t.Fatal(err)
		}
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode != http.StatusServiceUnavailable
	})
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"main"`) {
		t.Fatalf("/twist/status.json: %v %v\n%s", resp.Status, err, body)
	}
}
