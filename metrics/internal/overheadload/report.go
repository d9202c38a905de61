package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// config is what report measures.
type config struct {
	workloads      []string
	conns, n, warm int
	runs, rounds   int
	window         time.Duration
	keep           string
}

// twistPrefix starts the names of the functions counted as Twist's: those
// of its module, and of the bench module's servers (the same in both
// builds).
const twistPrefix = "github.com/twistgo/twist"

// pollerWait are the functions of the poller's wait, which Twist's count
// leaves out: which way a wait goes (a non-blocking poll first or not, and
// a blocking wait after it if that found nothing) depends on whether the
// next request has arrived when the loop looks, which is timing, not
// instructions, and with one connection differs from run to run by a few
// instructions per round trip. Neither build counts anything in them.
var pollerWait = []string{
	twistPrefix + "/reactor.(*poller).wait",
	twistPrefix + "/reactor.epollPoll",
}

// added returns, per round trip of wl, the most clock reads and atomic
// adds the counting does: valgrind counts an atomic add as one
// instruction, and a clock read (a vDSO call, which valgrind hides) not at
// all, so the harness adds them at their cost measured here. A turn of the
// loop, at most one per round trip (or per wave), times one wait in 16
// (reactor.idleSampleMask: two reads) and counts the bytes of one read and
// one write (two adds); an RPC call counts itself (one add) and times one
// call in 64 (rpc.LatencySampleEvery: two reads).
func added(wl string) (clockReads, atomics float64) {
	w := workloads[wl]
	turns := 1 / float64(w.inFlight())
	calls := float64(w.calls)
	return turns*2/16 + calls*2/64, turns*2 + calls
}

// servers is the bench server of each workload: the command (built in
// bench/cmd) and its -serve name.
var servers = map[string][2]string{
	"echo":     {"echobench", "echo-twist-1"},
	"framed":   {"rpcbench", "twist"},
	"framed64": {"rpcbench", "twist"},
	"mongo":    {"rpcbench", "twist"},
}

// counts are the instructions counted under callgrind per round trip:
// Twist's functions' own, and all of them.
type counts struct {
	twist, all float64
	// fns are Twist's functions' counts, by "file:function".
	fns map[string]float64
}

// report measures cfg's workloads and writes the tables to w.
func report(w io.Writer, cfg config) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir := cfg.keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "overhead"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	edited, err := applyEdits(root, offEdits)
	if err != nil {
		return err
	}
	overlay, err := writeOverlay(root, filepath.Join(dir, "off-src"), edited)
	if err != nil {
		return err
	}
	for _, v := range []string{"on", "off"} {
		args := []string{"build", "-trimpath", "-o", filepath.Join(dir, v) + "/"}
		if v == "off" {
			args = append(args, "-overlay", overlay)
		}
		cmd := exec.Command("go", append(args, "./cmd/echobench", "./cmd/rpcbench")...)
		cmd.Dir = filepath.Join(root, "bench")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building the %q servers: %v", v, err)
		}
	}

	fmt.Fprintf(w, "overheadload %s: instructions per round trip under callgrind, over %d round trips after %d, %d runs of each build\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), cfg.n, cfg.warm, cfg.runs)
	fmt.Fprintf(w, "%-8s %5s %6s %10s %10s %7s %10s %10s\n", "", "conns", "run", "twist on", "twist off", "delta", "all on", "all off")
	type key struct {
		wl    string
		conns int
	}
	got := make(map[key]*counted)
	for _, wl := range cfg.workloads {
		for _, conns := range shapes(cfg, wl) {
			c := new(counted)
			for run := 1; run <= cfg.runs; run++ {
				var on, off counts
				for _, v := range []string{"on", "off"} {
					out := filepath.Join(dir, fmt.Sprintf("%s.%d.%s.%d.callgrind", wl, conns, v, run))
					n, err := callgrind(cfg, conns, self, filepath.Join(dir, v), wl, out)
					if err != nil {
						return fmt.Errorf("%s, %s: %v", wl, v, err)
					}
					if v == "on" {
						on = n
					} else {
						off = n
					}
				}
				c.add(on, off)
				fmt.Fprintf(w, "%-8s %5d %6d %10.1f %10.1f %+7.1f %10.1f %10.1f\n", wl, conns, run, on.twist, off.twist, on.twist-off.twist, on.all, off.all)
			}
			fmt.Fprintf(w, "%-8s %5d %6s %10.1f %10.1f %7s %10.1f %10.1f\n", wl, conns, "spread",
				spread(c.twistOn), spread(c.twistOff), "", spread(c.allOn), spread(c.allOff))
			if conns == 1 {
				// One connection's counts should repeat: say where they did not.
				varying(w, "on", c.fnsOn)
				varying(w, "off", c.fnsOff)
			}
			got[key{wl, conns}] = c
		}
	}

	clock, atomic := clockCost(), atomicCost()
	fmt.Fprintf(w, "\nserver CPU per round trip outside valgrind (\"on\" build, taskset -c 0, load from CPU 1), medians of %d windows of %v;\na clock read costs %.1f ns, an atomic add %.1f ns\n",
		cfg.rounds, cfg.window, clock, atomic)
	fmt.Fprintf(w, "%-8s %8s %8s %8s %8s %8s %8s %9s %9s %6s\n", "", "user ns", "sys ns", "user/cpu", "delta", "all", "added ns", "% of CPU", "at most", "<= 1%")
	var over []string
	for _, wl := range cfg.workloads {
		user, sys, err := timed(cfg, self, filepath.Join(dir, "on"), wl)
		if err != nil {
			return fmt.Errorf("%s, timed: %v", wl, err)
		}
		// A delta of instructions is their share of all the instructions of
		// a round trip, of the user CPU time (the kernel's work is the same
		// in both builds). All: the fewest counted in the benchmarks' shape.
		// As counted in that shape; and at most, with the delta of one
		// connection if it is larger (every round trip in a turn of its
		// own), and the clock reads and atomic adds at their cost.
		sh := shapes(cfg, wl)
		many, one := got[key{wl, sh[0]}], got[key{wl, sh[len(sh)-1]}]
		all := slices.Min(many.allOn)
		userShare := user / (user + sys)
		share := many.delta() / all * userShare * 100
		reads, adds := added(wl)
		addedNs := reads*clock + adds*atomic
		worst := max(many.delta(), one.delta())
		bound := (worst/all*userShare + addedNs/(user+sys)) * 100
		ok := "yes"
		if bound > 1 {
			ok = "NO"
			over = append(over, wl)
		}
		fmt.Fprintf(w, "%-8s %8.0f %8.0f %8.3f %8.1f %8.1f %8.1f %8.3f%% %8.3f%% %6s\n",
			wl, user, sys, userShare, worst, all, addedNs, share, bound, ok)
	}
	if over != nil {
		return fmt.Errorf("the instrumentation costs more than 1%% of CPU on %s", strings.Join(over, ", "))
	}
	return nil
}

// shapes are the numbers of connections wl is measured with: the
// benchmarks' shape, and one connection, each round trip in a loop turn of
// its own, which is the most the per-turn counting can cost per round
// trip, and the count that repeats. A pipelined workload has one
// connection, and waves of round trips: one turn per wave.
func shapes(cfg config, wl string) []int {
	if workloads[wl].inFlight() > 1 {
		return []int{1}
	}
	return []int{cfg.conns, 1}
}

// counted are the counts of the runs of one workload and shape, per round
// trip.
type counted struct {
	twistOn, twistOff, allOn, allOff []float64
	fnsOn, fnsOff                    []map[string]float64
}

func (c *counted) add(on, off counts) {
	c.fnsOn = append(c.fnsOn, on.fns)
	c.fnsOff = append(c.fnsOff, off.fns)
	c.twistOn = append(c.twistOn, on.twist)
	c.twistOff = append(c.twistOff, off.twist)
	c.allOn = append(c.allOn, on.all)
	c.allOff = append(c.allOff, off.all)
}

// delta is what the counting costs, Twist's instructions on less off, in
// the mean.
func (c *counted) delta() float64 { return mean(c.twistOn) - mean(c.twistOff) }

// varying writes to w the three functions whose counts per round trip
// differ most between runs, if one differs by more than half an
// instruction.
func varying(w io.Writer, build string, runs []map[string]float64) {
	type fn struct {
		name   string
		spread float64
	}
	names := make(map[string]bool)
	for _, r := range runs {
		for name := range r {
			names[name] = true
		}
	}
	var fns []fn
	for name := range names {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = r[name] // 0 in a run without it
		}
		fns = append(fns, fn{name, spread(xs)})
	}
	slices.SortFunc(fns, func(a, b fn) int { return cmp.Compare(b.spread, a.spread) })
	for _, f := range fns[:min(3, len(fns))] {
		if f.spread > 0.5 {
			fmt.Fprintf(w, "  %s varies by %.1f in %s\n", build, f.spread, f.name)
		}
	}
}

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func spread(xs []float64) float64 { return slices.Max(xs) - slices.Min(xs) }

// moduleRoot returns the directory of the module github.com/twistgo/twist
// that the current directory is in.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	b, err := os.ReadFile(mod)
	if err != nil || !bytes.HasPrefix(b, []byte("module github.com/twistgo/twist\n")) {
		return "", errors.New("run it in the repository of github.com/twistgo/twist, outside bench/")
	}
	return filepath.Dir(mod), nil
}

// callgrind runs wl's server from bin under callgrind, makes cfg.warm and
// then cfg.n round trips, counting the second, and returns the counts per
// round trip, read from out.
func callgrind(cfg config, conns int, self, bin, wl, out string) (counts, error) {
	s, err := startServer(bin, wl, out+".log", "taskset", "-c", "0", "valgrind", "--tool=callgrind",
		"--instr-atstart=no", "--callgrind-out-file="+out)
	if err != nil {
		return counts{}, err
	}
	defer s.stop()
	if _, err := s.load(self, conns, cfg.warm, 0); err != nil {
		return counts{}, err
	}
	pid := strconv.Itoa(s.cmd.Process.Pid)
	if err := exec.Command("callgrind_control", "-i", "on", pid).Run(); err != nil {
		return counts{}, fmt.Errorf("callgrind_control -i on: %v", err)
	}
	made, err := s.load(self, conns, cfg.n, 0)
	if err != nil {
		return counts{}, err
	}
	if err := exec.Command("callgrind_control", "-i", "off", pid).Run(); err != nil {
		return counts{}, fmt.Errorf("callgrind_control -i off: %v", err)
	}
	if err := s.stop(); err != nil {
		return counts{}, err
	}
	ann, err := exec.Command("callgrind_annotate", "--auto=no", "--inclusive=no", "--threshold=100", out).Output()
	if err != nil {
		return counts{}, fmt.Errorf("callgrind_annotate: %v", err)
	}
	fns, all, err := parseAnnotate(ann, twistPrefix, pollerWait)
	if err != nil {
		return counts{}, err
	}
	c := counts{all: float64(all) / float64(made), fns: make(map[string]float64, len(fns))}
	for name, n := range fns {
		c.fns[name] = float64(n) / float64(made)
		c.twist += c.fns[name]
	}
	return c, nil
}

// parseAnnotate returns, from callgrind_annotate's output with one event
// (Ir), the self counts of the functions whose names start with prefix but
// for those in exclude, by "file:function" (a function's code inlined from
// other files is counted apart), and the program's total.
func parseAnnotate(out []byte, prefix string, exclude []string) (fns map[string]uint64, total uint64, err error) {
	fns = make(map[string]uint64)
	seen := false
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseUint(strings.ReplaceAll(f[0], ",", ""), 10, 64)
		if err != nil {
			continue
		}
		name := f[len(f)-1]
		if strings.HasPrefix(name, "[") && len(f) > 2 { // "N file:function [object]"
			name = f[len(f)-2]
		}
		if strings.Contains(line, "PROGRAM TOTALS") {
			total, seen = n, true
			continue
		}
		if _, fn, ok := strings.Cut(name, ":"); ok && strings.HasPrefix(fn, prefix) && !slices.Contains(exclude, fn) {
			fns[name] += n
		}
	}
	if !seen {
		return nil, 0, errors.New("callgrind_annotate printed no PROGRAM TOTALS")
	}
	return fns, total, nil
}

// timed runs wl's server from bin outside valgrind and returns its user
// and system CPU time per round trip, in nanoseconds: the medians of
// cfg.rounds windows.
func timed(cfg config, self, bin, wl string) (user, sys float64, err error) {
	s, err := startServer(bin, wl, os.DevNull, "taskset", "-c", "0")
	if err != nil {
		return 0, 0, err
	}
	defer s.stop()
	conns := shapes(cfg, wl)[0]
	if _, err := s.load(self, conns, 0, time.Second); err != nil {
		return 0, 0, err
	}
	var us, ss []float64
	for range cfg.rounds {
		u0, s0, err := s.cpu()
		if err != nil {
			return 0, 0, err
		}
		made, err := s.load(self, conns, 0, cfg.window)
		if err != nil {
			return 0, 0, err
		}
		u1, s1, err := s.cpu()
		if err != nil {
			return 0, 0, err
		}
		us = append(us, float64(u1-u0)/float64(made))
		ss = append(ss, float64(s1-s0)/float64(made))
	}
	return median(us), median(ss), s.stop()
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// clockCost returns what a read of the monotonic clock costs here, in
// nanoseconds, as the instrumentation reads it (time.Since).
func clockCost() float64 {
	const reads = 1 << 22
	epoch := time.Now()
	var sink time.Duration
	start := time.Now()
	for range reads {
		sink += time.Since(epoch)
	}
	took := time.Since(start)
	if sink == 0 {
		panic("no time passed")
	}
	return float64(took.Nanoseconds()) / reads
}

// atomicCost returns what an uncontended atomic add costs here, in
// nanoseconds.
func atomicCost() float64 {
	const adds = 1 << 24
	var n atomic.Uint64
	start := time.Now()
	for range adds {
		n.Add(1)
	}
	return float64(time.Since(start).Nanoseconds()) / adds
}

// server is a bench server process: it announces its listeners on its
// standard output and answers "cpu" lines on its standard input.
type server struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	addrs map[string]string
	wl    string
	done  bool
	err   error
}

// startServer starts wl's server from bin, after the command prefix,
// which runs it (taskset, valgrind), with its standard error to logPath,
// and waits for it to be ready.
func startServer(bin, wl, logPath string, prefix ...string) (*server, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	args := append(prefix, filepath.Join(bin, servers[wl][0]), "-serve="+servers[wl][1])
	cmd := exec.Command(args[0], args[1:]...)
	if slices.Contains(prefix, "valgrind") {
		// callgrind asserts on the runtime's preemption signals; and the
		// garbage collector's cycles, paced by the clock, change the paths
		// of the code that follows them (a sync.Pool emptied).
		cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1", "GOGC=off")
	}
	cmd.Stderr = log
	s := &server{cmd: cmd, addrs: make(map[string]string), wl: wl}
	if s.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.out = bufio.NewScanner(stdout)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for s.out.Scan() {
		f := strings.Fields(s.out.Text())
		if len(f) == 3 && f[0] == "listen" {
			s.addrs[f[1]] = f[2]
		}
		if len(f) == 1 && f[0] == "ready" {
			return s, nil
		}
	}
	s.stop()
	return nil, fmt.Errorf("%s exited before it was ready (its log: %s)", strings.Join(args, " "), logPath)
}

// load runs this program as the load, taskset -c 1, making n round trips
// (or, if n is 0, as many as fit in d), and returns how many it made.
func (s *server) load(self string, conns, n int, d time.Duration) (int, error) {
	addr, ok := s.addrs[listener[s.wl]]
	if !ok {
		return 0, fmt.Errorf("the server announced no %s listener", listener[s.wl])
	}
	cmd := exec.Command("taskset", "-c", "1", self, "-load", s.wl, "-addr", addr,
		"-conns", strconv.Itoa(conns), "-n", strconv.Itoa(n), "-window", d.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("the load: %v", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// cpu returns the server's user and system CPU time so far, in
// nanoseconds.
func (s *server) cpu() (user, sys int64, err error) {
	if _, err := io.WriteString(s.in, "cpu\n"); err != nil {
		return 0, 0, err
	}
	if !s.out.Scan() {
		return 0, 0, errors.New("the server did not answer cpu")
	}
	if _, err := fmt.Sscanf(s.out.Text(), "cpu %d %d", &user, &sys); err != nil {
		return 0, 0, fmt.Errorf("the server answered cpu with %q", s.out.Text())
	}
	return user, sys, nil
}

// stop closes the server's standard input, which stops it, and waits for
// it to exit.
func (s *server) stop() error {
	if !s.done {
		s.done = true
		s.in.Close()
		s.err = s.cmd.Wait()
		if s.err != nil {
			if ee, ok := s.err.(*exec.ExitError); ok {
				if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
					s.err = fmt.Errorf("the server was killed by %v", st.Signal())
				}
			}
		}
	}
	return s.err
}
