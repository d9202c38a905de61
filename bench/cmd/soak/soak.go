package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twistgo/twist/bench"
)

// config is one soak's settings.
type config struct {
	Duration, Warmup         time.Duration
	Twistd                   string // the binary; "" builds cmd/twistd
	SVG, CSV, Log            string // outputs (Log: twistd's log); "" for none
	Crowd                    int    // connections kept open, each calling once a second
	ChurnRate                int    // connections opened and closed per second
	CallRate                 int    // pipelined calls per second on each RPC protocol
	Slow                     int    // slow readers at once
	Stalled                  int    // readers at once that stop reading for good
	Idle                     int    // idle or half-sent connections at once
	IdleTimeout, ReadTimeout time.Duration
	// WriteTimeout is twistd's --write-timeout: longer than the slow
	// readers' pause, which is longer than IdleTimeout.
	WriteTimeout time.Duration
	// RSSDrift is how far RSS may move after the warm-up (maxDrift, 10%,
	// by default).
	RSSDrift float64
	Progress io.Writer // a line every ten seconds; nil for none
}

func defaultConfig() config {
	return config{
		Duration: 10 * time.Minute, Warmup: time.Minute,
		Crowd: 1000, ChurnRate: 200, CallRate: 2000, Slow: 4, Stalled: 2, Idle: 100,
		IdleTimeout: 3 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 8 * time.Second,
		RSSDrift: maxDrift,
	}
}

// counters are what the load got done, each answer checked.
type counters struct {
	framedID, framedNoID, wireID, driver, crowd, http atomic.Int64 // answers and responses checked
	churnCalls                                        atomic.Int64
	noReply                                           atomic.Int64 // calls sent without reply, none came
	churn, resets                                     atomic.Int64 // connections opened and closed; of them reset
	slowCalls, slowBytes                              atomic.Int64
	slowPauses                                        atomic.Int64 // slow readers that paused past the idle time-out, and got everything
	stalled, stalledAnswers, stalledDropped           atomic.Int64 // stalled readers closed by the write time-out; their answers read before; their calls or responses dropped
	idleClosed, readClosed                            atomic.Int64 // connections the server timed out
	late                                              atomic.Int64 // connections the soak itself left idle past the time-out, running late
}

// answered is the number of answers and HTTP responses checked so far.
func (c *counters) answered() int64 {
	return c.framedID.Load() + c.framedNoID.Load() + c.wireID.Load() + c.driver.Load() + c.crowd.Load() + c.http.Load() + c.churnCalls.Load() + c.slowCalls.Load()
}

// failures collects what went wrong, keeping the first of each kind.
type failures struct {
	mu    sync.Mutex
	n     int
	kinds map[string]int
	first []string
}

// add records a failure; kind groups those alike (the first word of the
// format is enough).
func (f *failures) add(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kinds == nil {
		f.kinds = map[string]int{}
	}
	f.n++
	f.kinds[format]++
	if f.kinds[format] <= 3 && len(f.first) < 30 {
		f.first = append(f.first, msg)
	}
}

func (f *failures) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *failures) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return nil
	}
	return fmt.Errorf("%d failures of the load, the first:\n  %s", f.n, strings.Join(f.first, "\n  "))
}

// soak is a run in progress.
type soak struct {
	cfg  config
	srv  *server
	n    counters
	fail failures
	// files are the HTTP server's files by path, with their contents.
	files map[string][]byte
	// stopping is closed when the load is to stop: workers finish what is
	// in flight and return.
	stopping <-chan struct{}
}

// result is a finished soak.
type result struct {
	cfg      config
	started  time.Time
	elapsed  time.Duration
	samples  []sample
	flat     []flatness
	n        *counters
	baseFDs  int
	afterFDs int
	logs     *logWatch
	errs     []error
}

// run soaks twistd for cfg.Duration. The result is nil only if twistd did
// not start.
func run(ctx context.Context, cfg config) (*result, error) {
	dir, err := os.MkdirTemp("", "soak")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := cfg.Twistd
	if bin == "" {
		if bin, err = buildTwistd(dir); err != nil {
			return nil, err
		}
	}
	s := &soak{cfg: cfg, files: map[string][]byte{}}
	www := filepath.Join(dir, "www")
	if err := s.writeFiles(www); err != nil {
		return nil, err
	}
	if s.srv, err = startServer(bin, www, cfg); err != nil {
		return nil, err
	}
	defer func() {
		select {
		case <-s.srv.exited:
		default:
			s.srv.kill()
		}
	}()
	res := &result{cfg: cfg, n: &s.n, logs: s.srv.log, started: time.Now()}
	if res.baseFDs, err = countFDs(s.srv.pid); err != nil {
		return nil, err
	}
	if err := s.waitStatus(10 * time.Second); err != nil {
		return nil, fmt.Errorf("twistd's status page: %v", err)
	}
	s.progress("soak: twistd (pid %d) serves framed RPC on %s, MongoDB wire on %s, HTTP on %s; %d descriptors open; load for %v",
		s.srv.pid, s.srv.framed, s.srv.mongo, s.srv.http, res.baseFDs, cfg.Duration)

	loadCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	s.stopping = loadCtx.Done()
	samplerDone := make(chan []sample)
	go func() { samplerDone <- s.sample(loadCtx, res.started) }()
	var wg sync.WaitGroup
	s.startLoad(&wg)
	wg.Wait() // the workers return once the load stops and their calls are answered
	res.samples = <-samplerDone
	res.elapsed = time.Since(res.started)

	// Every connection of the load is closed: the server must be back to
	// its descriptors before the load.
	res.afterFDs, err = waitFDs(s.srv.pid, res.baseFDs, 15*time.Second)
	if err != nil {
		res.errs = append(res.errs, err)
	}
	if err := s.srv.stop(60 * time.Second); err != nil {
		res.errs = append(res.errs, err)
	}
	if ctx.Err() != nil {
		res.errs = append(res.errs, errors.New("interrupted"))
	}
	res.errs = append(res.errs, s.fail.err(), s.srv.log.check())
	res.flat = checkFlat(res.samples, cfg.Warmup, cfg.RSSDrift)
	for _, f := range res.flat {
		if f.err != nil {
			res.errs = append(res.errs, f.err)
		}
	}
	if cfg.CSV != "" {
		res.errs = append(res.errs, writeCSV(cfg.CSV, res.samples))
	}
	if cfg.SVG != "" {
		res.errs = append(res.errs, writePlot(cfg.SVG, res.samples, cfg.Warmup))
	}
	return res, errors.Join(res.errs...)
}

func (s *soak) progress(format string, args ...any) {
	if s.cfg.Progress != nil {
		fmt.Fprintf(s.cfg.Progress, format+"\n", args...)
	}
}

// writeFiles writes the HTTP server's files: a small one and a big one of
// random bytes.
func (s *soak) writeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	s.files["/small.txt"] = []byte("Shall I compare thee to a summer's day?\n")
	s.files["/big.bin"] = big
	for name, b := range s.files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// stopped reports whether the load is to stop.
func (s *soak) stopped() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

// sleep waits for d or the end of the load, whichever is first, and
// reports whether the load goes on.
func (s *soak) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.stopping:
		return false
	case <-t.C:
		return true
	}
}

// rss is bench.VmRSS, in a variable so that the sampler reads like the
// others.
var rss = bench.VmRSS
