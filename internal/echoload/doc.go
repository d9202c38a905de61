// Command echoload is a load client for echo servers: it keeps one message
// in flight on each of its connections for a while and prints the messages
// per second; or it opens many idle connections and holds them, for
// measuring a server's memory per connection.
//
//	go run ./internal/echoload -addr 127.0.0.1:8000 -conns 50 -duration 10s
//	go run ./internal/echoload -addr 127.0.0.1:8000 -idle 10000 -hold 10s
package main
