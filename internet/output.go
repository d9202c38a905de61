package internet

// OutputQueue is implemented by transports that queue what the socket
// does not take at once: *Conn, the TLS transport, and the wrappers of
// package policies. It is how a time-out tells a peer that reads slowly,
// whose output moves, from one that has stopped reading, whose output
// stays queued (policies.TimeoutConfig's Write).
type OutputQueue interface {
	// QueuedOutput returns how many bytes of output wait in the
	// transport: written by the protocol, not yet taken by the kernel. It
	// reads a field or two, cheap enough to call after every write.
	QueuedOutput() int
	// OutputProgress returns a count that grows as the peer takes the
	// connection's output, and stands still while it takes none. It may
	// cost a system call.
	OutputProgress() uint64
}

var (
	_ OutputQueue = (*Conn)(nil)
	_ OutputQueue = (*tlsLayer)(nil)
)

// QueuedOutput returns the bytes queued for the socket (OutputQueue).
// After StartTLS, the plaintext kept until the handshake's end counts too.
func (c *Conn) QueuedOutput() int {
	if c.x == nil {
		return 0
	}
	queued := c.x.out.size
	if c.x.tls != nil {
		queued += len(c.x.tls.plainOut)
	}
	return queued
}

// OutputProgress returns the bytes written from the queue so far plus,
// on Linux TCP, the bytes the peer has acknowledged (TCP_INFO's
// tcpi_bytes_acked), so that the output the kernel buffers counts as it
// drains (OutputQueue): the queue moves only once the kernel's buffer has
// room again, which for a slow reader of a large buffer takes seconds.
func (c *Conn) OutputProgress() uint64 {
	var n uint64
	if c.x != nil {
		n = c.x.out.flushed
	}
	if c.state&stClosed == 0 {
		n += sysBytesAcked(c.Fd())
	}
	return n
}

// QueuedOutput returns the lower transport's queued ciphertext, with the
// plaintext kept until the handshake's end (OutputQueue).
func (l *tlsLayer) QueuedOutput() int {
	queued := len(l.plainOut)
	if q, ok := l.lower.(OutputQueue); ok {
		queued += q.QueuedOutput()
	}
	return queued
}

// OutputProgress returns the lower transport's (OutputQueue).
func (l *tlsLayer) OutputProgress() uint64 {
	if q, ok := l.lower.(OutputQueue); ok {
		return q.OutputProgress()
	}
	return 0
}
