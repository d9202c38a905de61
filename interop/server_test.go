package interop

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/mongowire"
	"github.com/twistgo/twist/rpc/rpcdemo"
)

// clientLimit bounds every client run: each does a handful of calls on
// loopback and exits, so only a hung client comes near it.
const clientLimit = 90 * time.Second

// addrs are the loopback addresses a test server listens on.
type addrs struct {
	framed string // the framed protocol
	mongo  string // the MongoDB wire protocol
}

// mongoURL is the connection string of the MongoDB wire protocol port.
func (a addrs) mongoURL() string {
	return "mongodb://" + a.mongo + "/?directConnection=true"
}

// hostPort splits a listening address for clients that take the host and
// the port apart.
func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// errorWriter fails the test with every line written to it.
type errorWriter struct{ t *testing.T }

func (w errorWriter) Write(p []byte) (int, error) {
	w.t.Errorf("the server logged: %s", bytes.TrimSpace(p))
	return len(p), nil
}

// startServer serves the demo functions over both protocols on a loop of
// its own until the test ends. The server logs only what goes wrong with a
// connection (a message it cannot parse, a panic), and anything it logs
// fails the test: a real client must never provoke it.
func startServer(t *testing.T) addrs {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(errorWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	loop, err := reactor.New(reactor.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	s := rpc.NewServer(rpc.WithName("twist-interop", "0"), rpc.WithLogger(logger))
	if err := rpcdemo.Register(s, loop); err != nil {
		t.Fatal(err)
	}
	framed, err := internet.ListenTCP(loop, "127.0.0.1:0", s.Factory())
	if err != nil {
		t.Fatal(err)
	}
	mongo, err := internet.ListenTCP(loop, "127.0.0.1:0", mongowire.NewServer(s, mongowire.WithLogger(logger)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()
	t.Cleanup(func() {
		loop.CallFromThread(func() { _ = loop.Stop() })
		if err := <-done; err != nil {
			t.Errorf("reactor: %v", err)
		}
	})
	return addrs{framed: framed.Addr().String(), mongo: mongo.Addr().String()}
}

// runClient runs a client in dir with env added to this process's
// environment, and returns what it printed on its standard output. A client
// that fails, or is still running after clientLimit, fails the test with
// its output.
func runClient(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := startClient(t, dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// startClient runs a client as runClient does, and returns its standard
// output, its standard error and how it ended, for clients expected to fail.
func startClient(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// A grandchild holding the pipes open must not hold up Wait.
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err = cmd.Run()
	t.Logf("%s %s: %v", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = errors.New("still running after " + clientLimit.String())
	}
	return out.String(), errOut.String(), err
}
