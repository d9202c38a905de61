// Package promtool checks a Prometheus text exposition with promtool,
// Prometheus's own checker (Debian's prometheus package, which .ci/run
// installs), for the tests that scrape /metrics.
package promtool

import (
	"bytes"
	"os/exec"
	"testing"
)

// Check runs `promtool check metrics` on text and reports what it finds as
// errors of t. It returns false, having logged why, when promtool is not
// installed and nothing was checked.
func Check(t testing.TB, text []byte) bool {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed (Debian's prometheus package; .ci/run installs it): the scrape is not checked by Prometheus itself")
		return false
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	return true
}
