//go:build unix

package browser

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twistgo/twist/rpc"
)

var screenshot = flag.String("screenshot", "", "also save the page's screenshot to this `file` (docs/status.png is made so)")

// chromiumPath returns Debian's chromium, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (Debian's chromium; .ci/run installs it)")
	return ""
}

// twistd is a twistd process serving the rpc plugin with its status page.
type twistd struct {
	rpcAddr, statusURL string
	mu                 sync.Mutex
	log                strings.Builder
}

var (
	rpcAt    = regexp.MustCompile(`RPCServer starting on (\d+)`)
	statusAt = regexp.MustCompile(`status page at (http://\S+/)`)
)

// startTwistd builds cmd/twistd and runs `twistd -n rpc --status`, until
// the test ends.
func startTwistd(t *testing.T, token string) *twistd {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "twistd")
	// Built in the main module, whose go.mod has twistd's dependencies.
	build := exec.Command("go", "build", "-o", bin, "./cmd/twistd")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building twistd: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-n", "--pidfile", "", "rpc", "--port", "0", "--interface", "127.0.0.1",
		"--mongo-port", "-1", "--status", "127.0.0.1:0", "--status-auth", token)
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &twistd{}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			if m := rpcAt.FindStringSubmatch(sc.Text()); m != nil {
				d.rpcAddr = "127.0.0.1:" + m[1]
			}
			if m := statusAt.FindStringSubmatch(sc.Text()); m != nil {
				d.statusURL = m[1]
				close(ready)
			}
			d.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		cmd.Wait()
	})
	select {
	case <-ready:
	case <-done:
		t.Fatalf("twistd exited before serving its status page:\n%s", d.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("twistd did not serve its status page:\n%s", d.output())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rpcAddr == "" {
		t.Fatalf("no RPC port in the log:\n%s", d.log.String())
	}
	return d
}

func (d *twistd) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// load calls add in a loop until ctx ends, and now and then fail, which
// answers an error.
func load(ctx context.Context, t *testing.T, addr string) {
	c, err := rpc.Dial(ctx, addr)
	if err != nil {
		t.Errorf("dialing the rpc plugin: %v", err)
		return
	}
	defer c.Close()
	for i := 0; ctx.Err() == nil; i++ {
		var sum int
		if i%50 == 0 {
			_ = c.Call(ctx, "fail", nil, nil)
			continue
		}
		if err := c.Call(ctx, "add", []any{i, 1}, &sum); err != nil && ctx.Err() == nil {
			t.Errorf("add: %v", err)
			return
		}
	}
}

// The status page in headless Chromium: it goes live, its numbers change
// as load is applied, and the console shows no error.
func TestStatusPageInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	const token = "browser-token"
	d := startTwistd(t, token)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // as root in CI
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first Run starts the browser: it gets no time-out of its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var (
		consoleMu sync.Mutex
		console   []string
	)
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				consoleMu.Lock()
				console = append(console, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				consoleMu.Unlock()
			}
		}
	}()

	loadCtx, stopLoad := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { load(loadCtx, t, d.rpcAddr) })
	defer func() { stopLoad(); wg.Wait() }()

	run, cancelRun := context.WithTimeout(ctx, 60*time.Second)
	defer cancelRun()
	calls := `Number((document.querySelector("#rpc tbody tr td:nth-child(3)") || {}).textContent.replace(/,/g, "")) || 0`
	var first, second float64
	var png []byte
	err := chromedp.Do(run,
		chromedp.Navigate(d.statusURL+"?token="+token),
		chromedp.Poll[chromedp.Void](`document.getElementById("live").textContent === "live"`, chromedp.WithPollingInterval(100*time.Millisecond)),
		chromedp.Poll[chromedp.Void](calls+` > 0`, chromedp.WithPollingInterval(100*time.Millisecond)),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			var err error
			first, err = chromedp.Evaluate[float64](calls)(ctx, tg)
			return chromedp.Void{}, err
		},
		// The next live update shows more calls.
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			var err error
			second, err = chromedp.Poll[float64](fmt.Sprintf(`(%s) > %v && (%s)`, calls, first, calls),
				chromedp.WithPollingInterval(100*time.Millisecond))(ctx, tg)
			return chromedp.Void{}, err
		},
		// A few more updates, so that the charts have some points.
		chromedp.Poll[chromedp.Void](`Number(document.body.dataset.samples) >= 8`, chromedp.WithPollingInterval(100*time.Millisecond)),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			var err error
			png, err = chromedp.FullScreenshot(100)(ctx, tg)
			return chromedp.Void{}, err
		},
	)
	if err != nil {
		t.Fatalf("%v\ntwistd's log:\n%s", err, d.output())
	}
	if second <= first {
		t.Errorf("RPC calls shown: %v then %v, want a rise", first, second)
	}
	t.Logf("RPC calls shown: %v, then %v", first, second)
	consoleMu.Lock()
	for _, m := range console {
		t.Errorf("console: %s", m)
	}
	consoleMu.Unlock()

	out := filepath.Join(t.TempDir(), "status.png")
	if *screenshot != "" {
		out = *screenshot
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(png))
}
