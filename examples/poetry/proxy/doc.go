// Command proxy is the Twisted introduction's caching, cancelling poetry
// proxy: it serves the poem of an upstream poetry server, fetching it for the
// first client and from its cache for the others, and it gives up the
// upstream download when the client it is for goes away before the poem
// arrives.
//
//	go run ./examples/poetry/proxy [--port 10002] [--iface localhost] [HOST:]PORT
package main
