// Package testlog captures log output in tests: a buffer that the loops, the
// Deferred cleanup goroutine and the test may use at once, and a way to send
// log/slog's default logger to one for the length of a test. It depends on
// the standard library only, so that any package's own tests may use it.
package testlog
