//go:build unix

package looptest

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// StartChild runs the test named test of this test binary in a child
// process, with env ("NAME=value") added to its environment, and returns
// the words of the child's first line after "listening ": the addresses it
// serves on. With pin, the child runs on CPU 0 when taskset is there and
// the machine has two CPUs or more, so that a benchmark pinned elsewhere
// measures its own CPU time. The child exits when the benchmark ends, which
// closes its standard input.
func StartChild(b *testing.B, test, env string, pin bool) []string {
	args := []string{os.Args[0], "-test.run=^" + test + "$"}
	if path, err := exec.LookPath("taskset"); pin && err == nil && runtime.NumCPU() > 1 {
		args = append([]string{path, "-c", "0"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("server: %v", err)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	addrs, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		b.Fatalf("server said %q", line)
	}
	return strings.Fields(addrs)
}
