package deferred

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
)

// debugging is the switch of debug mode, read when a Deferred is made and
// fired: any goroutine may flip it.
var debugging atomic.Bool

// SetDebugging turns debug mode on or off, at any time (Twisted's
// Deferred.setDebugging). A Deferred made while it is on records the stack
// that made it, and the stack that first fires it: firing it again then
// panics with an *AlreadyCalledError that shows both, and an "Unhandled error
// in Deferred" report about it carries both. Each costs a stack capture per
// Deferred: leave debug mode off in production.
func SetDebugging(on bool) { debugging.Store(on) }

// Debugging reports whether debug mode is on (Twisted's getDebugging).
func Debugging() bool { return debugging.Load() }

// debugInfo is what debug mode records about a Deferred: program counters,
// turned into text only when shown.
type debugInfo struct {
	creator, invoker []uintptr
}

// callers returns the program counters of the caller's stack, skipping the
// skip innermost frames as runtime.Callers does.
func callers(skip int) []uintptr {
	var buf [maxStack]uintptr
	n := runtime.Callers(skip, buf[:])
	return append([]uintptr(nil), buf[:n]...)
}

// noteCreated records the stack that made d, in debug mode. It returns d.
func (d *Deferred) noteCreated() *Deferred {
	if debugging.Load() {
		d.debug = &debugInfo{creator: callers(3)}
	}
	return d
}

// noteFired records the stack that first fires d, in debug mode.
func (d *Deferred) noteFired() {
	if d.debug != nil {
		d.debug.invoker = callers(4)
	}
}

// AlreadyCalledError is the panic value of firing a Deferred a second time
// when the Deferred was made in debug mode: ErrAlreadyCalled with the stacks
// that made the Deferred and first fired it (Twisted's AlreadyCalledError
// with its debug information). errors.Is(err, ErrAlreadyCalled) holds.
// Outside debug mode the panic value is ErrAlreadyCalled itself.
type AlreadyCalledError struct {
	// Creator is the stack that made the Deferred, a frame per line.
	Creator string
	// FirstInvoker is the stack that first fired it.
	FirstInvoker string
}

// Error returns the message and both stacks, as Twisted prints them.
func (e *AlreadyCalledError) Error() string {
	return ErrAlreadyCalled.Error() + "\nC: Deferred was created:\n" + e.Creator + "I: First Invoker was:\n" + e.FirstInvoker
}

// Unwrap returns ErrAlreadyCalled.
func (e *AlreadyCalledError) Unwrap() error { return ErrAlreadyCalled }

// alreadyCalled returns the panic value of a second firing of d.
func (d *Deferred) alreadyCalled() any {
	if d.debug == nil {
		return ErrAlreadyCalled
	}
	return &AlreadyCalledError{Creator: formatStack(d.debug.creator), FirstInvoker: formatStack(d.debug.invoker)}
}

// formatStack renders program counters a frame per line: function, then
// file and line.
func formatStack(pcs []uintptr) string {
	if len(pcs) == 0 {
		return ""
	}
	var b strings.Builder
	frames := runtime.CallersFrames(pcs)
	for {
		fr, more := frames.Next()
		if fr.Function != "" {
			fmt.Fprintf(&b, "\t%s\n\t\t%s:%d\n", fr.Function, fr.File, fr.Line)
		}
		if !more {
			return b.String()
		}
	}
}
