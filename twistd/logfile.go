package twistd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// DefaultRotateLength is the size at which a LogFile rotates by default,
// Twisted's LogFile rotateLength (1,000,000 bytes).
const DefaultRotateLength = 1_000_000

// DefaultMaxRotated is the number of rotated files twistd keeps by default.
const DefaultMaxRotated = 10

// dailySuffix is the date layout of a daily log file's rotated copies.
const dailySuffix = "2006_01_02"

// LogFileOptions configure a LogFile.
type LogFileOptions struct {
	// RotateLength is the size in bytes past which the file is rotated
	// before the next write; 0 turns rotation by size off.
	RotateLength int64
	// Daily rotates the file on the first write of each new day instead of
	// by size. A rotated file is named after the day it covers:
	// twistd.log.2026_11_21.
	Daily bool
	// MaxRotated is the number of rotated files kept, the oldest being
	// deleted; 0 or less keeps them all.
	MaxRotated int
	// Now returns the time, for the daily rotation; nil means time.Now.
	// Tests set it.
	Now func() time.Time
}

// LogFile is an io.Writer on a log file that rotates it (Twisted's LogFile
// and DailyLogFile). Rotation by size renames twistd.log to twistd.log.1,
// after shifting twistd.log.1 to twistd.log.2 and so on. Reopen reopens the
// file under its name, for a log rotated by another program (twistd calls it
// on SIGHUP). A LogFile is safe for concurrent use.
type LogFile struct {
	path string
	opts LogFileOptions

	mu   sync.Mutex
	f    *os.File
	size int64
	day  string // the day the current file covers, in dailySuffix layout
}

// OpenLogFile opens (creating, or appending to) the log file at path.
func OpenLogFile(path string, opts LogFileOptions) (*LogFile, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &LogFile{path: path, opts: opts}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// open opens the file and takes its size, and its day from its modification
// time so that a file from yesterday is rotated on the first write today.
func (l *LogFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, fi.Size()
	l.day = l.opts.Now().Format(dailySuffix)
	if l.size > 0 {
		l.day = fi.ModTime().In(l.opts.Now().Location()).Format(dailySuffix)
	}
	return nil
}

// Write writes p to the file, rotating it first if it is due.
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if err := l.rotateIfDue(); err != nil {
		return 0, err
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

func (l *LogFile) rotateIfDue() error {
	if l.opts.Daily {
		if today := l.opts.Now().Format(dailySuffix); today != l.day {
			return l.rotate()
		}
		return nil
	}
	if l.opts.RotateLength > 0 && l.size >= l.opts.RotateLength {
		return l.rotate()
	}
	return nil
}

// Rotate rotates the file now.
func (l *LogFile) Rotate() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return os.ErrClosed
	}
	return l.rotate()
}

func (l *LogFile) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	l.f = nil
	var err error
	if l.opts.Daily {
		err = l.rotateDaily()
	} else {
		err = l.rotateNumbered()
	}
	// Reopen even if renaming failed, so that logging goes on.
	return errors.Join(err, l.open())
}

// rotateNumbered shifts name.N to name.N+1 (dropping those past MaxRotated)
// and renames name to name.1.
func (l *LogFile) rotateNumbered() error {
	n := 0
	for {
		if _, err := os.Stat(l.numbered(n + 1)); err != nil {
			break
		}
		n++
	}
	for i := n; i >= 1; i-- {
		if l.opts.MaxRotated > 0 && i >= l.opts.MaxRotated {
			if err := os.Remove(l.numbered(i)); err != nil {
				return err
			}
			continue
		}
		if err := os.Rename(l.numbered(i), l.numbered(i+1)); err != nil {
			return err
		}
	}
	return os.Rename(l.path, l.numbered(1))
}

func (l *LogFile) numbered(i int) string { return fmt.Sprintf("%s.%d", l.path, i) }

// rotateDaily renames name to name.DAY, unless that exists (as Twisted's
// DailyLogFile, which then keeps writing), and deletes the oldest dated
// files past MaxRotated.
func (l *LogFile) rotateDaily() error {
	dated := l.path + "." + l.day
	if _, err := os.Stat(dated); err == nil {
		return nil
	}
	if err := os.Rename(l.path, dated); err != nil {
		return err
	}
	if l.opts.MaxRotated <= 0 {
		return nil
	}
	old, err := filepath.Glob(l.path + ".[0-9][0-9][0-9][0-9]_[0-9][0-9]_[0-9][0-9]")
	if err != nil {
		return err
	}
	slices.Sort(old) // the date layout sorts oldest first
	var errs []error
	for len(old) > l.opts.MaxRotated {
		errs = append(errs, os.Remove(old[0]))
		old = old[1:]
	}
	return errors.Join(errs...)
}

// Reopen closes the file and opens it again under its name, so that after
// another program has moved it away, writes go to a new file.
func (l *LogFile) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return os.ErrClosed
	}
	err := l.f.Close()
	l.f = nil
	return errors.Join(err, l.open())
}

// Close closes the file. Writes after Close fail with os.ErrClosed.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return os.ErrClosed
	}
	err := l.f.Close()
	l.f = nil
	return err
}
