package internet

// OutputQueue is implemented by transports that queue what the socket
// does not take at once: *Conn, the TLS transport, and the wrappers of
// package policies. It is how a time-out tells a peer that reads slowly,
// whose output moves, from one that has stopped reading, whose output
// stays where it is (policies.TimeoutConfig's Write).
type OutputQueue interface {
	// QueuedOutput returns how many bytes of output wait in the
	// transport's queue: written by the protocol, not yet taken by the
	// kernel. It reads a field or two, cheap enough to call after every
	// write.
	QueuedOutput() int
	// OutputProgress returns how many bytes of output the peer has yet to
	// take, in the transport's queue and, where the system tells (Linux),
	// in the kernel's send buffer; and a count that grows as the peer
	// takes output and stands still while it takes none. It may cost
	// system calls.
	OutputProgress() (pending int, progress uint64)
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

// OutputProgress returns the queued bytes plus those the kernel has not
// sent or the peer not acknowledged (SIOCOUTQ), and as progress the bytes
// written from the queue plus, on TCP, those the peer acknowledged
// (TCP_INFO's tcpi_bytes_acked): on Linux, output the kernel buffers
// counts as it drains, which for a slow reader of a large buffer is
// seconds before the queue moves (OutputQueue).
func (c *Conn) OutputProgress() (pending int, progress uint64) {
	pending = c.QueuedOutput()
	if c.x != nil {
		progress = c.x.out.flushed
	}
	if c.state&stClosed == 0 {
		unsent, acked := sysOutput(c.Fd())
		pending += unsent
		progress += acked
	}
	return pending, progress
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

// OutputProgress returns the lower transport's, with the plaintext kept
// until the handshake's end counted as pending (OutputQueue).
func (l *tlsLayer) OutputProgress() (pending int, progress uint64) {
	if q, ok := l.lower.(OutputQueue); ok {
		pending, progress = q.OutputProgress()
	}
	return pending + len(l.plainOut), progress
}
