package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// runner runs the harnesses, pinned, and remembers what it ran.
type runner struct {
	cfg config
	// bin is the directory of the built harnesses, and root the main
	// module's directory (the bench module's parent).
	bin, root string
	log       io.Writer
}

// A family is a group of workloads run by one harness.
type family struct {
	name, title string
	// about says what the family measures and how, for the report.
	about string
	// needs lists the programs it needs on PATH, and binaries the
	// harnesses (see builds) it runs.
	needs, binaries []string
	run             func(r *runner) ([]workload, []string, error)
}

// result is what one family gave the report.
type result struct {
	family    family
	workloads []workload
	// commands are the commands that measured it.
	commands []string
	// missing says why the family was not measured, or err how it failed.
	missing string
	err     error
}

// run builds the harnesses, runs the families cfg selects and writes the
// report. A family that fails is named in the report and in run's error;
// the others are still reported.
func run(cfg config, log io.Writer) error {
	start := time.Now()
	for _, tool := range []string{"taskset", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed: %w", tool, err)
		}
	}
	modDir, err := moduleDir()
	if err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "benchreport")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	r := &runner{cfg: cfg, bin: bin, root: filepath.Dir(modDir), log: log}
	// The net echo server holds three descriptors per idle connection.
	raiseDescriptorLimit(uint64(3*max(cfg.idle, cfg.tlsIdle, cfg.httpIdle) + 4096))
	var selected []family
	var binaries []string
	for _, f := range families {
		if cfg.filter.MatchString(f.name) {
			selected = append(selected, f)
			binaries = append(binaries, f.binaries...)
		}
	}
	if err := r.build(modDir, binaries); err != nil {
		return err
	}
	m := describeMachine(bin)
	var results []result
	for _, f := range selected {
		res := result{family: f}
		for _, tool := range f.needs {
			if _, err := exec.LookPath(tool); err != nil {
				res.missing = fmt.Sprintf("%s is not installed", tool)
			}
		}
		if res.missing == "" {
			fmt.Fprintf(log, "== %s\n", f.title)
			res.workloads, res.commands, res.err = f.run(r)
		}
		results = append(results, res)
	}
	m.elapsed = time.Since(start)
	m.loadEnd = loadAverage()
	var errs []error
	for _, res := range results {
		if res.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", res.family.name, res.err))
		}
	}
	if err := writeReport(cfg, m, results); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// raiseDescriptorLimit raises the limit on open descriptors, which the
// harnesses inherit, to want. Without the privilege to raise the hard limit
// it leaves it: echobench then holds fewer idle connections, and the
// report says how many.
func raiseDescriptorLimit(want uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Max >= want {
		return
	}
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want})
}

// moduleDir returns the directory of the bench module, the one this
// command is run in.
func moduleDir() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run benchreport inside the bench module")
	}
	return filepath.Dir(gomod), nil
}

// builds says how each harness binary is built: with go build or go test
// -c, of which package, in the bench module or (root) in the main one.
var builds = map[string]struct {
	test, root bool
	pkg        string
}{
	"echobench":     {pkg: "./cmd/echobench"},
	"rpcbench":      {pkg: "./cmd/rpcbench"},
	"httpbench":     {pkg: "./cmd/httpbench"},
	"tlsbench":      {pkg: "./cmd/tlsbench"},
	"crawlbench":    {pkg: "./cmd/crawlbench"},
	"bench.test":    {test: true, pkg: "."},
	"deferred.test": {test: true, root: true, pkg: "./deferred"},
}

// build compiles the named harnesses into r.bin: the commands with one go
// build, each test binary with go test -c.
func (r *runner) build(modDir string, binaries []string) error {
	slices.Sort(binaries)
	binaries = slices.Compact(binaries)
	var cmds []string
	var steps []*exec.Cmd
	for _, name := range binaries {
		b, ok := builds[name]
		switch {
		case !ok:
			return fmt.Errorf("no build for %s", name)
		case b.test:
			cmd := exec.Command("go", "test", "-c", "-o", filepath.Join(r.bin, name), b.pkg)
			cmd.Dir = modDir
			if b.root {
				cmd.Dir = r.root
			}
			steps = append(steps, cmd)
		default:
			cmds = append(cmds, b.pkg)
		}
	}
	if len(cmds) > 0 {
		cmd := exec.Command("go", append([]string{"build", "-o", r.bin + "/"}, cmds...)...)
		cmd.Dir = modDir
		steps = append(steps, cmd)
	}
	for _, cmd := range steps {
		fmt.Fprintf(r.log, "%s\n", strings.Join(cmd.Args, " "))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
		}
	}
	return nil
}

// command returns the command that runs harness name with args, pinned to
// the load's CPU, and how the report shows it.
func (r *runner) command(name string, args ...string) (*exec.Cmd, string) {
	cmd := exec.Command("taskset", append([]string{"-c", loadCPU, filepath.Join(r.bin, name)}, args...)...)
	cmd.Stderr = r.log
	return cmd, strings.Join(append([]string{"taskset", "-c", loadCPU, name}, args...), " ")
}

// json runs harness name with args and decodes its standard output, a
// JSON document, into v. It returns the command as the report shows it.
func (r *runner) json(v any, name string, args ...string) (string, error) {
	cmd, shown := r.command(name, args...)
	fmt.Fprintln(r.log, shown)
	out, err := cmd.Output()
	if err != nil {
		return shown, fmt.Errorf("%s: %w", shown, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		return shown, fmt.Errorf("%s: its output: %w", shown, err)
	}
	return shown, nil
}

// common returns the flags every load harness takes alike.
func (r *runner) common() []string {
	return []string{
		"-json",
		"-rounds", fmt.Sprint(r.cfg.rounds),
		"-duration", r.cfg.duration.String(),
		"-warmup", r.cfg.warmup.String(),
	}
}

// goBench runs a test binary's benchmarks that match pattern, once, pinned
// to the load's CPU with GOMAXPROCS 1, and returns each benchmark's figures
// by unit (ns/op, and any metric it reports).
func (r *runner) goBench(binary, pattern string, env ...string) (map[string]map[string]float64, string, error) {
	cmd, shown := r.command(binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", r.cfg.benchtime, "-test.cpu", "1")
	cmd.Env = append(os.Environ(), env...)
	fmt.Fprintln(r.log, shown)
	out, err := cmd.Output()
	if err != nil {
		return nil, shown, fmt.Errorf("%s: %w\n%s", shown, err, out)
	}
	res, err := parseBenchmarks(out)
	if err != nil {
		return nil, shown, fmt.Errorf("%s: %w", shown, err)
	}
	return res, shown, nil
}

// parseBenchmarks reads go test's benchmark lines ("BenchmarkX/y  N
// 12.5 ns/op  0 B/op ...") and returns each benchmark's values by unit.
func parseBenchmarks(out []byte) (map[string]map[string]float64, error) {
	res := map[string]map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		units := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			var v float64
			if _, err := fmt.Sscan(f[i], &v); err != nil {
				return nil, fmt.Errorf("benchmark line %q: %w", sc.Text(), err)
			}
			units[f[i+1]] = v
		}
		res[f[0]] = units
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no benchmark in its output:\n%s", out)
	}
	return res, nil
}

// medianOf returns the median of vs, the upper one of an even count.
func medianOf(vs []float64) float64 {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	return vs[len(vs)/2]
}
