package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// nodeDir holds package.json and the client scripts run with node.
const nodeDir = "node"

// installLimit bounds npm: mongosh and its dependencies are some 180 MB.
const installLimit = 5 * time.Minute

// hashFile records, inside node_modules, the hash of the package files
// that node_modules was installed from.
var hashFile = filepath.Join(nodeDir, "node_modules", ".twist-lock-hash")

var npm struct {
	once sync.Once
	skip string // why the Node.js suites cannot run
	err  error  // why npm failed
}

// requireNode skips the test when node or npm is not installed, and
// otherwise installs the npm packages once per test run if node_modules is
// missing or was installed from other package files.
func requireNode(t *testing.T) {
	t.Helper()
	npm.once.Do(installNodeModules)
	if npm.skip != "" {
		t.Skip(npm.skip)
	}
	if npm.err != nil {
		t.Fatal(npm.err)
	}
}

func installNodeModules() {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			npm.skip = tool + " is not installed: the Node.js clients cannot run"
			return
		}
	}
	want, install, err := packageHash()
	if err != nil {
		npm.err = err
		return
	}
	if have, err := os.ReadFile(hashFile); err == nil && string(have) == want {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), installLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", install, "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		npm.err = errors.New("npm " + install + " in interop/node: " + err.Error() + "\n" + out.String())
		return
	}
	npm.err = os.WriteFile(hashFile, []byte(want), 0o644)
}

// clientDir is twist-rpc, which npm copies into node_modules.
var clientDir = filepath.Join(nodeDir, "..", "..", "clients", "node")

// packageHash returns the hash of the files npm installs from — the
// package files, and twist-rpc's files that npm copies — and the npm
// command that installs them: ci when there is a lock file, else install.
func packageHash() (hash, install string, err error) {
	h := sha256.New()
	if err := hashClient(h); err != nil {
		return "", "", err
	}
	install = "ci"
	for _, name := range []string{"package.json", "package-lock.json", ".npmrc"} {
		b, err := os.ReadFile(filepath.Join(nodeDir, name))
		if errors.Is(err, fs.ErrNotExist) && name != "package.json" {
			if name == "package-lock.json" {
				install = "install"
			}
			continue
		}
		if err != nil {
			return "", "", err
		}
		h.Write([]byte(name + "\x00"))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), install, nil
}

// hashClient hashes what npm copies of twist-rpc: its package.json and
// the files and folders its "files" field names.
func hashClient(h hash.Hash) error {
	manifest, err := os.ReadFile(filepath.Join(clientDir, "package.json"))
	if err != nil {
		return err
	}
	var pkg struct {
		Files []string `json:"files"`
	}
	if err := json.Unmarshal(manifest, &pkg); err != nil {
		return fmt.Errorf("%s: %v", filepath.Join(clientDir, "package.json"), err)
	}
	h.Write(manifest)
	for _, f := range pkg.Files {
		err := filepath.WalkDir(filepath.Join(clientDir, f), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			h.Write([]byte(path + "\x00"))
			h.Write(b)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
