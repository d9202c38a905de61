package poetry

import (
	"bytes"
	"net"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
)

// Get downloads the poem served at addr: the returned Deferred fires with the
// poem, a string, once the server closes the connection, or fails with the
// reason the connection could not be made (the intro's get_poetry).
// progress, if not nil, is told the size of each piece that arrives.
//
// Cancelling the Deferred stops the attempt or closes the connection, so that
// the server sees its client go away, and fails it with
// deferred.ErrCancelled.
func Get(n internet.Net, addr string, progress func(nbytes int)) *deferred.Deferred {
	f := &clientFactory{progress: progress}
	f.d = deferred.NewWithCanceller(func(*deferred.Deferred) {
		f.d = nil // what the connector reports from now on is not the result
		f.c.Disconnect()
	})
	d := f.d
	f.c = n.ConnectTCP(addr, f)
	return d
}

// clientFactory builds the protocol of one download and fires d with its
// outcome, unless d was cancelled.
type clientFactory struct {
	internet.BaseClientFactory
	d        *deferred.Deferred
	c        internet.Connector
	progress func(int)
	poem     bytes.Buffer
}

func (f *clientFactory) BuildProtocol(net.Addr) internet.Protocol { return &clientProtocol{f: f} }

// fire gives d its outcome once.
func (f *clientFactory) fire(v any, err error) {
	d := f.d
	if d == nil {
		return
	}
	f.d = nil
	if err != nil {
		d.Errback(err)
	} else {
		d.Callback(v)
	}
}

func (f *clientFactory) ClientConnectionFailed(_ internet.Connector, reason error) {
	f.fire(nil, reason)
}

type clientProtocol struct {
	internet.BaseProtocol
	f *clientFactory
}

func (p *clientProtocol) DataReceived(data []byte) {
	p.f.poem.Write(data)
	if p.f.progress != nil {
		p.f.progress(len(data))
	}
}

// ConnectionLost delivers the poem: the server closing the connection is
// what says that the poem is complete.
func (p *clientProtocol) ConnectionLost(error) { p.f.fire(p.f.poem.String(), nil) }
