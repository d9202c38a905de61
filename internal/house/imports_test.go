package house

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/twistgo/twist/"

// layer ranks the rooms of docs/design.md's import rule: clock, deferred <-
// reactor <- internet <- protocols <- service/twistd <- rpc, web <- crawl <-
// cmd. A package may import packages of its own layer or of lower ones.
// Rooms outside the chain (task, threads, twisttest, examples, internal, ...)
// are not ranked. The longest matching path counts: twistd/plugins, which
// gathers every built-in server for the twistd program, sits with cmd, and
// so does web/webplugin, the web server's plugin, which builds on it.
var layer = map[string]int{
	"clock": 0, "deferred": 0,
	"reactor":   1,
	"internet":  2,
	"protocols": 3,
	"service":   4, "twistd": 4,
	"rpc": 5, "web": 5,
	"crawl": 6,
	"cmd":   7, "twistd/plugins": 7, "web/webplugin": 7,
}

type pkg struct {
	ImportPath, Name                   string
	Imports, TestImports, XTestImports []string
}

// TestImportRule checks docs/design.md's rule on imports: layers import
// downwards only, nothing imports a program under cmd/ (but its own
// packages), nothing outside tests imports twisttest (test-helper packages,
// named *test as httptest is, count as tests), and a protocol package never
// imports the runner.
func TestImportRule(t *testing.T) {
	pkgs := list(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages: is the module root right?", len(pkgs))
	}
	for _, p := range pkgs {
		from := strings.TrimPrefix(p.ImportPath, module)
		all := append(append(append([]string(nil), p.Imports...), p.TestImports...), p.XTestImports...)
		for _, imp := range all {
			to, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if strings.HasPrefix(to, "cmd/") && !sameProgram(from, to) {
				t.Errorf("%s imports %s: nothing imports a program under cmd/", from, to)
			}
			if strings.HasPrefix(from, "protocols/") && (to == "twistd" || strings.HasPrefix(to, "twistd/")) {
				t.Errorf("%s imports %s: a protocol package never imports the runner", from, to)
			}
			lf, okf := rank(from)
			lt, okt := rank(to)
			if okf && okt && lt > lf && !strings.HasPrefix(to, "cmd/") {
				t.Errorf("%s imports %s: imports flow down the layers of docs/design.md", from, to)
			}
		}
		for _, imp := range p.Imports {
			if imp == module+"twisttest" && !strings.HasSuffix(p.Name, "test") {
				t.Errorf("%s imports twisttest outside its tests", from)
			}
		}
	}
}

// rank returns the layer of a package path: that of the longest entry of
// layer that is the path or a directory above it.
func rank(path string) (int, bool) {
	for p := path; ; {
		if l, ok := layer[p]; ok {
			return l, true
		}
		i := strings.LastIndex(p, "/")
		if i < 0 {
			return 0, false
		}
		p = p[:i]
	}
}

// sameProgram reports whether from is cmd/X or below it, and to below cmd/X.
func sameProgram(from, to string) bool {
	prog := strings.Join(strings.SplitN(to, "/", 3)[:2], "/")
	return from == prog || strings.HasPrefix(from, prog+"/")
}

// list returns the packages of the module, from go list.
func list(t *testing.T) []pkg {
	cmd := exec.Command("go", "list", "-json=ImportPath,Name,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
