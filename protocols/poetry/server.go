package poetry

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/internet"
)

// ServerFactory serves Poem to each connection and closes it: all at once
// (the intro's fast server), or Chunk bytes every Delay on Clock (its slow
// server) when Clock is set.
type ServerFactory struct {
	// Poem is the text served.
	Poem []byte
	// Clock paces a slow server; nil sends the poem at once.
	Clock clock.Clock
	// Chunk is how many bytes a slow server sends at a time.
	Chunk int
	// Delay is how long a slow server waits between chunks.
	Delay time.Duration
	// Log, if set, receives a line per poem (and per chunk) sent.
	Log io.Writer
}

// BuildProtocol returns the protocol that sends the poem to one client.
func (f *ServerFactory) BuildProtocol(net.Addr) internet.Protocol { return &serverProtocol{f: f} }

type serverProtocol struct {
	internet.BaseProtocol
	f    *ServerFactory
	sent int
	next clock.DelayedCall
}

func (p *serverProtocol) logf(format string, args ...any) {
	if p.f.Log != nil {
		fmt.Fprintf(p.f.Log, format+"\n", args...)
	}
}

func (p *serverProtocol) ConnectionMade(t internet.Transport) {
	p.BaseProtocol.ConnectionMade(t)
	if p.f.Clock == nil {
		p.logf("sending %d bytes of poetry to %v", len(p.f.Poem), t.RemoteAddr())
		t.Write(p.f.Poem)
		t.LoseConnection()
		return
	}
	p.sendChunk()
}

// sendChunk sends the next chunk and schedules the one after, or closes the
// connection once the poem is out.
func (p *serverProtocol) sendChunk() {
	p.next = nil
	if p.sent == len(p.f.Poem) {
		p.Transport.LoseConnection()
		return
	}
	end := min(p.sent+p.f.Chunk, len(p.f.Poem))
	p.logf("sending %d bytes to %v", end-p.sent, p.Transport.RemoteAddr())
	p.Transport.Write(p.f.Poem[p.sent:end])
	p.sent = end
	p.next = p.f.Clock.CallLater(p.f.Delay, p.sendChunk)
}

// ConnectionLost cancels the next chunk of a client that went away.
func (p *serverProtocol) ConnectionLost(error) {
	if p.next != nil {
		_ = p.next.Cancel()
		p.next = nil
	}
}

// Address turns a command-line argument into "host:port": a bare port means
// 127.0.0.1, as in the intro's clients.
func Address(arg string) (string, error) {
	host, port := "127.0.0.1", arg
	if i := strings.LastIndexByte(arg, ':'); i >= 0 {
		host, port = arg[:i], arg[i+1:]
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("bad port in %q: ports must be integers", arg)
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port), nil
}

// LogPrefix names the factory in logs as the Twisted introduction's does.
func (f *ServerFactory) LogPrefix() string { return "PoetryFactory" }
