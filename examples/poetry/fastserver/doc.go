// Command fastserver is the Twisted introduction's fast poetry server: it
// sends its whole poem to each client at once and closes the connection.
//
//	go run ./examples/poetry/fastserver [--port 10000] [--iface localhost] [poem-file]
//
// Without a file it serves Blake's The Tyger.
package main
