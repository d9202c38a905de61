package twistd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, l *LogFile, s string) {
	t.Helper()
	if _, err := l.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestLogFileRotatesBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twistd.log")
	l, err := OpenLogFile(path, LogFileOptions{RotateLength: 10, MaxRotated: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	write(t, l, "123456789\n") // reaches the limit: the next write rotates
	if exists(path + ".1") {
		t.Fatal("rotated before the write that passes the limit")
	}
	write(t, l, "second\n")
	if got := readFile(t, path+".1"); got != "123456789\n" {
		t.Fatalf("twistd.log.1 = %q", got)
	}
	if got := readFile(t, path); got != "second\n" {
		t.Fatalf("twistd.log = %q", got)
	}
}

func TestLogFileKeepsBoundedNumberOfFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twistd.log")
	l, _ := OpenLogFile(path, LogFileOptions{RotateLength: 1, MaxRotated: 3})
	defer l.Close()
	for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
		write(t, l, s)
	}
	// Newest first: the current file, then .1, .2, .3; .4 and older deleted.
	for name, want := range map[string]string{"": "f", ".1": "e", ".2": "d", ".3": "c"} {
		if got := readFile(t, path+name); got != want {
			t.Errorf("twistd.log%s = %q, want %q", name, got, want)
		}
	}
	if exists(path + ".4") {
		t.Error("twistd.log.4 kept past MaxRotated")
	}
}

func TestLogFileAppendsToExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twistd.log")
	os.WriteFile(path, []byte("old\n"), 0o644)
	l, _ := OpenLogFile(path, LogFileOptions{RotateLength: 100})
	write(t, l, "new\n")
	l.Close()
	if got := readFile(t, path); got != "old\nnew\n" {
		t.Fatalf("got %q", got)
	}
}

func TestLogFileRotatesDaily(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twistd.log")
	now := time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC)
	l, _ := OpenLogFile(path, LogFileOptions{Daily: true, MaxRotated: 2, Now: func() time.Time { return now }})
	defer l.Close()
	write(t, l, "day1\n")
	for i, want := range []string{"2026_11_21", "2026_11_22", "2026_11_23"} {
		now = now.Add(24 * time.Hour)
		write(t, l, "next\n")
		if !exists(path + "." + want) {
			t.Fatalf("day %d: no twistd.log.%s", i, want)
		}
	}
	if got := readFile(t, path+".2026_11_22"); got != "next\n" {
		t.Fatalf("twistd.log.2026_11_22 = %q", got)
	}
	if exists(path + ".2026_11_21") {
		t.Fatal("oldest daily file kept past MaxRotated")
	}
}

func TestLogFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "twistd.log")
	l, _ := OpenLogFile(path, LogFileOptions{})
	defer l.Close()
	write(t, l, "before\n")
	// logrotate moves the file away, then signals.
	os.Rename(path, filepath.Join(dir, "moved"))
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	write(t, l, "after\n")
	if got := readFile(t, path); got != "after\n" {
		t.Fatalf("reopened file = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "moved")); got != "before\n" {
		t.Fatalf("moved file = %q", got)
	}
}

func TestLogFileClosed(t *testing.T) {
	l, _ := OpenLogFile(filepath.Join(t.TempDir(), "x.log"), LogFileOptions{})
	l.Close()
	if _, err := l.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Write after Close = %v", err)
	}
}
