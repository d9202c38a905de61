package twistd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWritePIDFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twistd.pid")
	if err := WritePIDFile(path); err != nil {
		t.Fatal(err)
	}
	if pid, err := ReadPIDFile(path); err != nil || pid != os.Getpid() {
		t.Fatalf("ReadPIDFile = %d, %v", pid, err)
	}
	if err := RemovePIDFile(path); err != nil || exists(path) {
		t.Fatalf("RemovePIDFile = %v, file exists %v", err, exists(path))
	}
}

func TestWritePIDFileRefusesLiveProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twistd.pid")
	// Our parent is alive: the go tool or a shell.
	os.WriteFile(path, fmt.Appendf(nil, "%d\n", os.Getppid()), 0o644)
	if err := WritePIDFile(path); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("WritePIDFile = %v, want ErrAlreadyRunning", err)
	}
	if pid, _ := ReadPIDFile(path); pid != os.Getppid() {
		t.Fatalf("pid file changed to %d", pid)
	}
}

func TestWritePIDFileReplacesStale(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs a Unix command")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	for name, content := range map[string]string{
		"dead process": fmt.Sprintf("%d\n", cmd.Process.Pid),
		"garbage":      "not a pid",
		"empty":        "",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "twistd.pid")
			os.WriteFile(path, []byte(content), 0o644)
			if err := WritePIDFile(path); err != nil {
				t.Fatal(err)
			}
			if pid, _ := ReadPIDFile(path); pid != os.Getpid() {
				t.Fatalf("pid file holds %d", pid)
			}
		})
	}
}

func TestRemovePIDFileLeavesOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twistd.pid")
	os.WriteFile(path, fmt.Appendf(nil, "%d\n", os.Getppid()), 0o644)
	if err := RemovePIDFile(path); err == nil || !exists(path) {
		t.Fatalf("RemovePIDFile of another process's file = %v, exists %v", err, exists(path))
	}
}
