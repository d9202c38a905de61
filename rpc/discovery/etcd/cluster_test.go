package etcd

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestClusterScript runs the cluster example against a real etcd-server:
// three twistd-etcd instances, one killed under a client's calls, no call
// failed, everything stopped.
func TestClusterScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds twistd-etcd and runs four processes")
	}
	for _, bin := range []string{"etcd", "bash", "go"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (etcd: Debian's etcd-server package, which .ci/run installs)", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "examples/cluster/cluster.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("cluster.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"live after the kill: [", ", 0 failed", "== done"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cluster.sh said no %q:\n%s", want, out)
		}
	}
}
