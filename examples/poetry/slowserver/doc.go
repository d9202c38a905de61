// Command slowserver is the Twisted introduction's slow poetry server: it
// sends its poem to each client a few bytes at a time, pausing between
// sends, then closes the connection, so that a client sees the poem trickle
// in as it would over a slow network.
//
//	go run ./examples/poetry/slowserver [--port 10001] [--iface localhost] [--num-bytes 10] [--delay 0.1] [poem-file]
//
// Without a file it serves Shakespeare's Sonnet 18.
package main
