//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twistgo/twist/protocols/poetry"
)

// twistdBin is the twistd built once for the tests that run it as a process,
// with the twistdtest tag, which adds the stall plugin (stall.go).
var twistdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "twistd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	twistdBin = filepath.Join(dir, "twistd")
	build := exec.Command("go", "build", "-race", "-tags", "twistdtest", "-o", twistdBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building twistd:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a foreground twistd started by a test, logging to its stderr.
type proc struct {
	cmd   *exec.Cmd
	port  int
	mu    sync.Mutex
	log   bytes.Buffer
	lines chan string // the log lines, until the port is known
	done  chan struct{}
}

var startingOn = regexp.MustCompile(`starting on (\d+)`)

// start runs twistd -n with args, which must make it log to standard
// error, and waits until it logs the port it listens on.
func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(twistdBin, args...), done: make(chan struct{})}
	p.cmd.Dir = dir
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		p.cmd.Wait()
	})
	found := make(chan int, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := startingOn.FindStringSubmatch(sc.Text()); m != nil {
				n, _ := strconv.Atoi(m[1])
				found <- n
			}
		}
		close(found)
	}()
	port, ok := <-found
	if !ok {
		<-p.done
		t.Fatalf("twistd exited before listening:\n%s", p.output())
	}
	p.port = port
	return p
}

func (p *proc) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitFor waits until the log holds s, and fails the test if it does not
// come while the process runs.
func (p *proc) waitFor(t *testing.T, s string) {
	t.Helper()
	if !poll(func() bool { return strings.Contains(p.output(), s) }) {
		t.Fatalf("log lacks %q:\n%s", s, p.output())
	}
}

// stop sends sig and returns the exit status once the process is gone and
// its log read.
func (p *proc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	p.cmd.Process.Signal(sig)
	<-p.done
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// fetch reads what the server at addr sends until it closes, and returns it
// with the client's address, the one the server logs.
func fetch(t *testing.T, addr string) (got []byte, client string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return b, c.LocalAddr().String()
}

// logLine matches a line in Twisted's format: time, [system], message.
var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} \[[^\]]+\] \S.*$`)

// checkLogLines fails the test for each line of log not in Twisted's format.
func checkLogLines(t *testing.T, log string) {
	t.Helper()
	for line := range strings.Lines(log) {
		if !logLine.MatchString(strings.TrimSuffix(line, "\n")) {
			t.Errorf("not a Twisted log line: %q", line)
		}
	}
}

// inOrder fails the test unless log holds each of want, in that order.
func inOrder(t *testing.T, log string, want ...string) {
	t.Helper()
	rest := log
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("log lacks %q after the lines before it:\n%s", w, log)
			return
		}
		rest = rest[i+len(w):]
	}
}

func TestForegroundServesAndShutsDownOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			p := start(t, dir, "-n", "--pidfile", "twistd.pid", "fastpoetry", "--port", "0", "--iface", "127.0.0.1")
			if pid, err := readPID(filepath.Join(dir, "twistd.pid")); err != nil || pid != p.cmd.Process.Pid {
				t.Fatalf("pid file: %d, %v; process %d", pid, err, p.cmd.Process.Pid)
			}
			got, client := fetch(t, p.addr())
			if !bytes.Equal(got, poetry.Sonnet18) {
				t.Fatalf("poem = %q", got)
			}
			if code := p.stop(t, sig); code != 0 {
				t.Fatalf("exit status %d\n%s", code, p.output())
			}
			if _, err := os.Stat(filepath.Join(dir, "twistd.pid")); !os.IsNotExist(err) {
				t.Fatalf("pid file left behind: %v", err)
			}
			name := map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}[sig]
			log := p.output()
			checkLogLines(t, log)
			inOrder(t, log,
				"[-] Log opened.\n",
				"starting up.\n",
				"[-] reactor class: github.com/twistgo/twist/reactor.Reactor.\n",
				"[-] PoetryFactory starting on "+strconv.Itoa(p.port)+"\n",
				// The client's port too: the line is Twisted's to the letter.
				"[PoetryFactory] sending "+strconv.Itoa(len(poetry.Sonnet18))+" bytes of poetry to "+client+"\n",
				"[-] Received "+name+", shutting down.\n",
				"[-] (TCP Port "+strconv.Itoa(p.port)+" Closed)\n",
				"[-] Main loop terminated.\n",
				"[-] Server Shut Down.\n",
			)
		})
	}
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func TestJSONLog(t *testing.T) {
	p := start(t, t.TempDir(), "-n", "--log-format", "json", "echo", "--port", "0", "--iface", "127.0.0.1")
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(p.output()), "\n") {
		var rec struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		msgs = append(msgs, rec.Msg)
	}
	if msgs[len(msgs)-1] != "Server Shut Down." {
		t.Fatalf("messages %q", msgs)
	}
}

func TestPIDFileRefusedWhileProcessLives(t *testing.T) {
	dir := t.TempDir()
	// This test process is alive.
	os.WriteFile(filepath.Join(dir, "twistd.pid"), fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644)
	out, err := run(dir, "-n", "--pidfile", "twistd.pid", "echo", "--port", "0")
	if code := exitCode(err); code != 1 || !strings.Contains(out, "another twistd server is running, PID "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("status %d, output %q", code, out)
	}
	if pid, _ := readPID(filepath.Join(dir, "twistd.pid")); pid != os.Getpid() {
		t.Fatalf("pid file changed to %d", pid)
	}
}

func TestStalePIDFileReplaced(t *testing.T) {
	dir := t.TempDir()
	// The pid of a process that has exited.
	dead := exec.Command(twistdBin)
	dead.Run()
	os.WriteFile(filepath.Join(dir, "twistd.pid"), fmt.Appendf(nil, "%d\n", dead.Process.Pid), 0o644)
	p := start(t, dir, "-n", "--pidfile", "twistd.pid", "echo", "--port", "0", "--iface", "127.0.0.1")
	if pid, _ := readPID(filepath.Join(dir, "twistd.pid")); pid != p.cmd.Process.Pid {
		t.Fatalf("pid file holds %d, want %d", pid, p.cmd.Process.Pid)
	}
	p.stop(t, syscall.SIGTERM)
}

func TestStartFailureExitsWithOne(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	dir := t.TempDir()
	out, err := run(dir, "-n", "--pidfile", "twistd.pid", "echo", "--port", port, "--iface", "127.0.0.1")
	if code := exitCode(err); code != 1 || !strings.Contains(out, "Server Shut Down.") {
		t.Fatalf("status %d, output:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "twistd.pid")); !os.IsNotExist(err) {
		t.Fatal("pid file left behind")
	}
	// Issue 12: the error names the address and the cause in plain words,
	// and the Twisted log format carries no slog level.
	want := "twistd: cannot listen on TCP 127.0.0.1:" + port + ": address already in use\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("output does not end with %q:\n%s", want, out)
	}
	for _, bad := range []string{"*service", "level=", "bind:"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}
}

// Issue 12: combined short flags (-no), --rundir (-d) and --umask.
func TestShortFlagsRundirUmask(t *testing.T) {
	rundir := t.TempDir()
	p := start(t, t.TempDir(), "-nod", rundir, "--umask", "027", "fastpoetry", "--port", "0", "--interface", "127.0.0.1")
	fi, err := os.Stat(filepath.Join(rundir, "twistd.pid"))
	if err != nil {
		t.Fatalf("no pid file in the run directory: %v\n%s", err, p.output())
	}
	if perm := fi.Mode().Perm(); perm != 0o640 {
		t.Errorf("pid file mode %v, want -rw-r----- under umask 027", perm)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

func TestVersion(t *testing.T) {
	out, err := run(t.TempDir(), "--version")
	if err != nil || !strings.HasPrefix(out, "twistd (Twist) ") {
		t.Fatalf("%q, %v", out, err)
	}
}

func run(dir string, args ...string) (string, error) {
	cmd := exec.Command(twistdBin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestPluginListAndHelp(t *testing.T) {
	out, err := run(t.TempDir())
	if code := exitCode(err); code != 2 {
		t.Fatalf("no plugin: status %d", code)
	}
	for _, name := range []string{"echo", "discard", "daytime", "fastpoetry", "slowpoetry", "portforward", "socks", "rpc"} {
		if !strings.Contains(out, "  "+name+" ") {
			t.Errorf("plugin list lacks %s:\n%s", name, out)
		}
	}
	out, err = run(t.TempDir(), "slowpoetry", "--help")
	if code := exitCode(err); code != 0 || !strings.Contains(out, "-num-bytes") || !strings.Contains(out, "-delay") {
		t.Fatalf("slowpoetry --help: status %d\n%s", code, out)
	}
	out, err = run(t.TempDir(), "-n", "nosuchplugin")
	if code := exitCode(err); code != 2 || !strings.Contains(out, `unknown plugin "nosuchplugin"`) {
		t.Fatalf("unknown plugin: status %d\n%s", code, out)
	}
}

// poll tries f up to 1000 times, 10ms apart, until it returns true: a bound
// on waits for things that take milliseconds, generous for a loaded machine.
func poll(f func() bool) bool {
	for range 1000 {
		if f() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestDaemonMode(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	out, err := run(dir, "--pidfile", "twistd.pid", "--logfile", "twistd.log", "fastpoetry", "--port", port, "--iface", "127.0.0.1")
	if code := exitCode(err); code != 0 {
		t.Fatalf("daemon start: status %d\n%s", code, out)
	}
	// The parent returned once the daemon reported its start: the pid file
	// and the port are there now.
	pid, err := readPID(filepath.Join(dir, "twistd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	alive := func() bool { return syscall.Kill(pid, 0) == nil }
	if !alive() {
		t.Fatalf("daemon %d not running", pid)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if got, _ := fetch(t, net.JoinHostPort("127.0.0.1", port)); !bytes.Equal(got, poetry.Sonnet18) {
		t.Fatalf("poem = %q", got)
	}
	// A second daemon with the same pid file is refused, and says why.
	out, err = run(dir, "--pidfile", "twistd.pid", "--logfile", "other.log", "echo", "--port", "0")
	if code := exitCode(err); code != 1 || !strings.Contains(out, "another twistd server is running") {
		t.Fatalf("second daemon: status %d\n%s", code, out)
	}

	syscall.Kill(pid, syscall.SIGTERM)
	// Not our child: we cannot wait for it, only watch its pid file go,
	// which it removes last. (Once it exits it may stay a zombie, alive to
	// signal 0, in a container whose init does not reap orphans.)
	if !poll(func() bool {
		_, err := os.Stat(filepath.Join(dir, "twistd.pid"))
		return os.IsNotExist(err)
	}) {
		t.Fatal("pid file still there after SIGTERM")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "twistd.log"))
	if !strings.Contains(string(log), "Server Shut Down.") {
		t.Fatalf("daemon log:\n%s", log)
	}
}

func TestLogFileFlag(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	cmd := exec.Command(twistdBin, "-n", "--pidfile", "", "-l", "twistd.log", "--log-rotate-length", "200",
		"daytime", "--port", port, "--iface", "127.0.0.1")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !poll(func() bool {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("twistd never listened")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// Startup and shutdown logged more than 200 bytes: the file rotated,
	// and the files hold the whole log, oldest first.
	var all []byte
	for i := 9; i >= 0; i-- {
		name := filepath.Join(dir, "twistd.log")
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		b, err := os.ReadFile(name)
		if err == nil {
			all = append(all, b...)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "twistd.log.1")); err != nil {
		t.Fatalf("not rotated: %v", err)
	}
	log := string(all)
	if !strings.Contains(log, "Log opened.") || !strings.HasSuffix(log, "Server Shut Down.\n") {
		t.Fatalf("log across the files:\n%s", log)
	}
}

// TestShutdownWaitsForServices checks that twistd waits for the Deferreds
// of the services' StopService, up to --shutdown-timeout, and exits with
// status 0 either way. The stall plugin's services are a poetry server and
// one that takes --stall to stop, stopped in the reverse order.
func TestShutdownWaitsForServices(t *testing.T) {
	tests := []struct {
		name    string
		options []string
		stall   string
		want    []string // in this order; %d is the port
		not     string
	}{
		{"until they stop", nil, "300ms", []string{
			"[-] Received SIGTERM, shutting down.\n",
			"[stall] stopping, which takes 300ms\n",
			"[-] (TCP Port %d Closed)\n",
			"[stall] stopped\n",
			"[-] Main loop terminated.\n",
			"[-] Server Shut Down.\n",
		}, "did not stop"},
		// Ignoring the limit would show as "[stall] stopped" after a minute.
		{"up to the time limit", []string{"--shutdown-timeout", "200ms"}, "1m", []string{
			"[-] Received SIGTERM, shutting down.\n",
			"[stall] stopping, which takes 1m0s\n",
			"[-] (TCP Port %d Closed)\n",
			"[-] Services did not stop within 200ms; shutting down anyway.\n",
			"[-] Main loop terminated.\n",
			"[-] Server Shut Down.\n",
		}, "[stall] stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"-n", "--pidfile", ""}, tt.options...),
				"stall", "--stall", tt.stall, "--iface", "127.0.0.1")
			p := start(t, t.TempDir(), args...)
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Fatalf("exit status %d\n%s", code, p.output())
			}
			log := p.output()
			checkLogLines(t, log)
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.ReplaceAll(w, "%d", strconv.Itoa(p.port))
			}
			inOrder(t, log, want...)
			if strings.Contains(log, tt.not) {
				t.Errorf("log has %q:\n%s", tt.not, log)
			}
		})
	}
}

// TestSecondSignalExitsAtOnce checks that a signal while the services are
// stopping ends the process at once with status 1, without waiting for
// them or for the time limit, and still removes the pid file.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	names := map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}
	for _, sigs := range [][2]syscall.Signal{
		{syscall.SIGTERM, syscall.SIGTERM},
		{syscall.SIGINT, syscall.SIGINT},
		{syscall.SIGTERM, syscall.SIGINT},
	} {
		t.Run(names[sigs[0]]+" then "+names[sigs[1]], func(t *testing.T) {
			dir := t.TempDir()
			// Neither the stall nor the time limit ends before the second
			// signal; without it, twistd would exit 0 after a minute.
			p := start(t, dir, "-n", "--pidfile", "twistd.pid", "--shutdown-timeout", "1m",
				"stall", "--stall", "1h", "--iface", "127.0.0.1")
			p.cmd.Process.Signal(sigs[0])
			p.waitFor(t, "[stall] stopping")
			if code := p.stop(t, sigs[1]); code != 1 {
				t.Fatalf("exit status %d, want 1\n%s", code, p.output())
			}
			log := p.output()
			checkLogLines(t, log)
			inOrder(t, log,
				"[-] Received "+names[sigs[0]]+", shutting down.\n",
				"[stall] stopping, which takes 1h0m0s\n",
				"[-] Received "+names[sigs[1]]+" again, exiting at once.\n",
			)
			if strings.Contains(log, "Server Shut Down.") {
				t.Errorf("a shutdown that did not finish logged one:\n%s", log)
			}
			if _, err := os.Stat(filepath.Join(dir, "twistd.pid")); !os.IsNotExist(err) {
				t.Errorf("pid file left behind: %v", err)
			}
		})
	}
}

// TestSIGHUPReopensLogFile does what logrotate does: it renames the log
// file and sends SIGHUP; the lines logged after go to a new file under the
// old name, and none to the renamed one.
func TestSIGHUPReopensLogFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "twistd.log")
	cmd := exec.Command(twistdBin, "-n", "--pidfile", "", "-l", "twistd.log",
		"fastpoetry", "--port", "0", "--iface", "127.0.0.1")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	readLog := func(name string) string {
		b, _ := os.ReadFile(name)
		return string(b)
	}
	var port string
	if !poll(func() bool {
		m := startingOn.FindStringSubmatch(readLog(path))
		if m != nil {
			port = m[1]
		}
		return m != nil
	}) {
		t.Fatalf("twistd never logged its port:\n%s", readLog(path))
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	if !poll(func() bool {
		_, err := os.Stat(path)
		return err == nil
	}) {
		t.Fatal("no new log file after SIGHUP")
	}
	_, client := fetch(t, net.JoinHostPort("127.0.0.1", port))
	sending := "[PoetryFactory] sending " + strconv.Itoa(len(poetry.Sonnet18)) + " bytes of poetry to " + client + "\n"
	if !poll(func() bool { return strings.Contains(readLog(path), sending) }) {
		t.Fatalf("new log lacks %q:\n%s", sending, readLog(path))
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	exited = true
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}

	old, cur := readLog(path+".1"), readLog(path)
	checkLogLines(t, old)
	checkLogLines(t, cur)
	inOrder(t, old, "[-] Log opened.\n", "[-] PoetryFactory starting on "+port+"\n")
	inOrder(t, cur, sending, "[-] Server Shut Down.\n")
	for _, s := range []string{sending, "Server Shut Down."} {
		if strings.Contains(old, s) {
			t.Errorf("renamed log has %q:\n%s", s, old)
		}
	}
	if strings.Contains(cur, "Log opened.") {
		t.Errorf("new log has the lines from before SIGHUP:\n%s", cur)
	}
}
