package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// An edit turns one piece of the per-round-trip counting into nothing, in
// the "off" build: every match of old in the file at path (relative to the
// repository's root) is replaced with new (regexp.ReplaceAllString's
// template). It must match exactly once: an edit that no longer matches,
// because the code it removes changed, stops the measurement rather than
// measuring the instrumentation minus nothing.
type edit struct {
	path, old, new string
}

// offEdits remove what the instrumentation does per round trip: the loop's
// counters (turns, events, posted calls, timers run, lag; the timing of
// one wait in 16), the connections' byte counts per read and write, and
// the RPC functions' call count and sampled timing. What is counted once
// per connection (accept, close) is left, as it is not per round trip.
var offEdits = []edit{
	{"reactor/reactor.go", `\n\t\tr\.stats\.iterations\+\+`, ``},
	{"reactor/fd.go", `\n\t*r\.stats\.events\+\+`, ``},
	{"reactor/posted.go", `\n\t*r\.stats\.posted\+\+`, ``},
	{"reactor/timer.go", `\n\t*r\.stats\.timersRun\+\+\n\t*r\.stats\.lag\.Observe\([^\n]*`, ``},
	{"reactor/stats.go", `(?s)(func \(r \*Reactor\) wait\(timeout time\.Duration\) \(int, error\) \{).*?\n\}`,
		"${1}\n\treturn r.p.wait(timeout)\n}"},
	{"internet/stats.go", `(?s)(func \(c \*Conn\) countIn\(n int\) \{).*?\n\}`, `${1}}`},
	{"internet/stats.go", `(?s)(func \(c \*Conn\) countOut\(n int\) \{).*?\n\}`, `${1}}`},
	{"rpc/stats.go", `(?s)(func \(st \*callStats\) begin\(s \*Server\) callStart \{).*?\n\}`,
		"${1}\n\treturn callStart{}\n}"},
	{"rpc/stats.go", `(?s)(func \(st \*callStats\) finish\(s \*Server, t callStart, err error\) \{).*?\n\}`, `${1}}`},
}

// applyEdits applies edits to the files under root and returns the edited
// files' contents by path (relative to root). It fails if an edit matches
// other than once.
func applyEdits(root string, edits []edit) (map[string][]byte, error) {
	out := make(map[string][]byte)
	for _, e := range edits {
		src, ok := out[e.path]
		if !ok {
			var err error
			if src, err = os.ReadFile(filepath.Join(root, e.path)); err != nil {
				return nil, err
			}
		}
		re, err := regexp.Compile(e.old)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", e.path, err)
		}
		if n := len(re.FindAllIndex(src, -1)); n != 1 {
			return nil, fmt.Errorf("%s: the off edit %q matches %d times, not once: the counting code changed, and the edit must follow it", e.path, e.old, n)
		}
		out[e.path] = re.ReplaceAll(src, []byte(e.new))
	}
	return out, nil
}

// writeOverlay writes the edited files into dir and, next to them, the
// overlay file that go build -overlay reads to build root's module with
// them in place of the originals; it returns the overlay file's path.
func writeOverlay(root, dir string, files map[string][]byte) (string, error) {
	replace := make(map[string]string)
	for path, b := range files {
		to := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return "", err
		}
		replace[filepath.Join(root, filepath.FromSlash(path))] = to
	}
	b, err := json.Marshal(struct{ Replace map[string]string }{replace})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, b, 0o644)
}
