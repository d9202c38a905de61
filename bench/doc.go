// Package bench measures Twist's RPC side by side with net/rpc and gRPC-go,
// each server in its own process on 127.0.0.1, so that its user CPU time
// per call can be read apart from the clients'.
//
// Every system serves add(1, 2) and is loaded in the same shapes: Conns
// connections with one call in flight on each, and InFlight calls in flight
// on one connection; the MongoDB wire server is loaded through the official
// Go driver with a pool of Conns connections. Twist's framed protocol is
// measured twice: with a minimal client in this package that writes the
// frames directly on a net.Conn and pipelines them (so that the client is
// not what limits the server), and with rpc.Client, Twist's Go client.
//
// The gRPC service is declared with a hand-written grpc.ServiceDesc, its
// messages are protobuf's well-known types (a google.protobuf.ListValue of
// the two numbers in, a google.protobuf.Int64Value out) with gRPC's default
// proto codec: generated messages, as a protoc user would have.
//
// Run the table with
//
//	go run ./cmd/rpcbench
//
// and see its flags with -h. cmd/echobench compares TCP echo servers, and
// cmd/tlsbench Twist's TLS echo (TLS 1.3, ECDSA P-256) with a
// goroutine-per-connection crypto/tls server: CPU per message, memory and
// goroutines per idle connection, CPU per handshake.
package bench
