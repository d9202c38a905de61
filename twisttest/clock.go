package twisttest

import "github.com/twistgo/twist/task"

// Clock is the fake clock of package task, re-exported so that a test finds
// every fake it needs here, as Twisted's twisted.internet.testing offers Clock
// next to MemoryReactor: time stands still until Advance moves it.
type Clock = task.Clock

// NewClock returns a Clock set to task.Epoch, with no pending calls.
func NewClock() *Clock { return task.NewClock() }
