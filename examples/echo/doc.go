// Command echo is an echo server on a loop group: every byte a client sends
// comes back to it. It is the server side of internal/echoload's
// measurements.
//
//	go run ./examples/echo -port 8000
package main
