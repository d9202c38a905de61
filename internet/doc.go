// Package internet holds Twist's transports: TCP, Unix, UDP and TLS
// connections driven by a reactor loop, the Protocol and Factory interfaces
// that user code implements, connectors and reconnecting clients, and
// producer/consumer flow control. It is Twisted's twisted.internet.protocol,
// tcp, unix, udp and ssl.
//
// A protocol's methods run on the loop that owns its connection, one at a
// time: a protocol needs no locks. The data passed to DataReceived is the
// loop's read buffer, valid only during the call.
//
// Net is the seam between code that listens and connects and the reactor it
// runs on: a program passes RealNet(loop), a test twisttest's
// MemoryReactorClock, so that programs never import the testing package.
//
// A TLS connection (ListenTLS, ConnectTLS, TLSFactory or Conn.StartTLS)
// runs its handshake on a goroutine from a bounded pool, with a time-out
// (TLSHandshakeLimits); after it, its records are encrypted and decrypted on
// the loop by crypto/tls itself, with no goroutine. While idle it costs, on
// top of its TCP connection, crypto/tls's state: about 8 KiB of heap, as
// BenchmarkTLSIdleConnectionMemory measures. ConnectionState gives the
// negotiated version, cipher suite and ALPN protocol.
package internet
