package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildTwistd builds cmd/twistd into dir and returns the binary's path.
func buildTwistd(dir string) (string, error) {
	bin := filepath.Join(dir, "twistd")
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	// Build inside the core module (bench's go.mod points at it with a
	// replace): its go.sum, not bench's, lists what twistd imports.
	root, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}", "github.com/twistgo/twist").Output()
	if err != nil {
		return "", fmt.Errorf("finding the twist module: %v", err)
	}
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/twistd")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building twistd: %v\n%s", err, out)
	}
	return bin, nil
}

// server is the twistd process under soak.
type server struct {
	cmd                 *exec.Cmd
	pid                 int
	framed, mongo, http string // addresses
	status              string // of the --status page
	log                 *logWatch
	exited              chan struct{}
	exitErr             error
}

// startServer runs `twistd rpc` serving the three protocols on loopback
// ports the system chooses, and the files of dir over HTTP; it returns
// once the three listen.
func startServer(bin, dir string, cfg config) (*server, error) {
	cmd := exec.Command(bin, "-n", "--pidfile", "", "--log-format", "json",
		"rpc", "--interface", "127.0.0.1", "--port", "0", "--mongo-port", "0",
		"--http-port", "0", "--http-path", dir,
		"--idle-timeout", cfg.IdleTimeout.String(), "--read-timeout", cfg.ReadTimeout.String(),
		"--write-timeout", cfg.WriteTimeout.String(), "--status", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = cmd.Stderr
	var logFile *os.File
	if cfg.Log != "" {
		if logFile, err = os.Create(cfg.Log); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, log: newLogWatch(), exited: make(chan struct{})}
	logDone := make(chan struct{})
	go func() {
		var r io.Reader = stderr
		if logFile != nil {
			r = io.TeeReader(stderr, logFile)
			defer logFile.Close()
		}
		s.log.read(r)
		close(logDone)
	}()
	go func() {
		<-logDone // Wait closes the pipe: read it to its end first
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	select {
	case <-s.log.ready:
	case <-s.exited:
		return nil, fmt.Errorf("twistd exited at start: %v\n%s", s.exitErr, s.log.tail())
	case <-time.After(30 * time.Second):
		s.kill()
		return nil, fmt.Errorf("twistd did not listen within 30 s\n%s", s.log.tail())
	}
	s.framed, s.mongo, s.http = s.log.ports["RPCServer"], s.log.ports["MongoWireServer"], s.log.ports["Site"]
	s.status = s.log.ports["status"]
	return s, nil
}

// stop sends SIGTERM and waits for the exit: an error unless twistd drains
// and exits with status 0 within timeout.
func (s *server) stop(timeout time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.exited:
	case <-time.After(timeout):
		s.kill()
		return fmt.Errorf("twistd still running %v after SIGTERM", timeout)
	}
	if s.exitErr != nil {
		return fmt.Errorf("twistd exited with %v after SIGTERM", s.exitErr)
	}
	if !s.log.saw("drained") {
		return errors.New(`twistd exited without logging "drained"`)
	}
	return nil
}

// kill ends the process, if it still runs, and waits for it.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// The log lines the soak provokes, by category: the time-outs it waits
// for, and the lines of starting and stopping. Anything else twistd logs
// is unexpected: at level WARN or above it fails the soak.
var provoked = []struct {
	category string
	re, err  *regexp.Regexp // the message, and the error attribute if not nil
}{
	// A call answered after its connection was reset (SO_LINGER 0).
	{"answer to a reset connection", regexp.MustCompile(`^rpc: cannot send answer$`), regexp.MustCompile(`connection reset by peer|broken pipe`)},
	{"idle time-out", regexp.MustCompile(`^policies: closing the connection from \S+: it sent nothing for \S+ \(idle time-out\)$`), nil},
	{"read time-out", regexp.MustCompile(`^policies: closing the connection from \S+: it did not finish a message within \S+ \(read time-out\)$`), nil},
	// The stalled readers (logWatch.writeTimeouts has their addresses).
	{"write time-out", writeTimeoutLine, nil},
	{"start and stop", regexp.MustCompile(`^(Log opened\.|twistd .* starting up\.|reactor class: .*|\S+ starting on \d+|status page at \S+|Received SIGTERM, shutting down\.|\(TCP Port \d+ Closed\)|draining: answering the calls in flight, for up to \S+|drained|Main loop terminated\.|Server Shut Down\.)$`), nil},
}

// logWatch reads twistd's JSON log lines and classifies them.
type logWatch struct {
	mu         sync.Mutex
	ports      map[string]string
	ready      chan struct{} // closed once the four ports are known
	isReady    bool
	counts     map[string]int // provoked lines by category
	unexpected map[string]int // other lines by level and message, numbers masked
	errors     []string       // unexpected lines at WARN or above, the first few
	nErrors    int
	// writeTimeouts are the peers aborted by the write time-out, with
	// when the soak read the line.
	writeTimeouts map[string]time.Time
	last          []string // the last lines, for a failure's message
}

func newLogWatch() *logWatch {
	return &logWatch{ports: map[string]string{}, ready: make(chan struct{}), counts: map[string]int{}, unexpected: map[string]int{},
		writeTimeouts: map[string]time.Time{}}
}

var (
	startingOn       = regexp.MustCompile(`^(\S+) starting on (\d+)$`)
	statusAt         = regexp.MustCompile(`^status page at http://(\S+)/$`)
	writeTimeoutLine = regexp.MustCompile(`^policies: aborting the connection from (\S+): it read nothing for \S+, \d+ bytes unread \(write time-out\)$`)
	digits           = regexp.MustCompile(`\d+`)
)

// read classifies each line of r until its end.
func (w *logWatch) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		w.line(sc.Text())
	}
}

func (w *logWatch) line(text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = append(w.last, text)
	if len(w.last) > 20 {
		w.last = w.last[1:]
	}
	var entry struct{ Level, Msg, Error string }
	if err := json.Unmarshal([]byte(text), &entry); err != nil || entry.Level == "" {
		// Not slog's: a panic's trace, say.
		entry.Level, entry.Msg = "ERROR", text
	}
	if m := startingOn.FindStringSubmatch(entry.Msg); m != nil {
		w.ports[m[1]] = "127.0.0.1:" + m[2]
	}
	if m := statusAt.FindStringSubmatch(entry.Msg); m != nil {
		w.ports["status"] = m[1]
	}
	if len(w.ports) == 4 && !w.isReady {
		close(w.ready)
		w.isReady = true
	}
	if m := writeTimeoutLine.FindStringSubmatch(entry.Msg); m != nil {
		w.writeTimeouts[m[1]] = time.Now()
	}
	for _, p := range provoked {
		if p.re.MatchString(entry.Msg) && (p.err == nil || p.err.MatchString(entry.Error)) {
			w.counts[p.category]++
			return
		}
	}
	key := entry.Level + " " + digits.ReplaceAllString(entry.Msg, "N")
	w.unexpected[key]++
	if entry.Level != "INFO" && entry.Level != "DEBUG" {
		w.nErrors++
		if len(w.errors) < 10 {
			w.errors = append(w.errors, text)
		}
	}
}

// writeTimedOut reports when the line of the write time-out that aborted
// the connection from peer was read, if it was.
func (w *logWatch) writeTimedOut(peer string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.writeTimeouts[peer]
	return at, ok
}

// saw reports whether a line with message msg was logged.
func (w *logWatch) saw(msg string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.last {
		if strings.Contains(l, `"msg":"`+msg+`"`) {
			return true
		}
	}
	return false
}

// tail returns the last lines logged.
func (w *logWatch) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.last, "\n")
}

// check returns an error listing the unexpected warnings and errors.
func (w *logWatch) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.nErrors == 0 {
		return nil
	}
	return fmt.Errorf("twistd logged %d warnings or errors the soak did not provoke, the first:\n  %s", w.nErrors, strings.Join(w.errors, "\n  "))
}

// summary returns the classified counts, provoked first, then unexpected,
// each sorted.
func (w *logWatch) summary() (provokedLines, unexpectedLines []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, n := range w.counts {
		provokedLines = append(provokedLines, fmt.Sprintf("%s: %d", k, n))
	}
	for k, n := range w.unexpected {
		unexpectedLines = append(unexpectedLines, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(provokedLines)
	sort.Strings(unexpectedLines)
	return provokedLines, unexpectedLines
}
