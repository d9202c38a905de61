package poetry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
)

// A Transform turns a poem into another.
type Transform func(poem []byte) []byte

// Cummingsify is the intro's transform, after e. e. cummings: the poem in
// lower case. Unlike the intro's, it never fails at random, so that its
// output is the same every time.
func Cummingsify(poem []byte) []byte { return bytes.ToLower(poem) }

// Transforms are the transforms a TransformFactory offers by default.
var Transforms = map[string]Transform{"cummingsify": Cummingsify}

// TransformFactory serves the transform protocol (the intro's
// TransformService): each request is one netstring "name.poem", and the
// answer, if name is a known transform, the netstring of the transformed
// poem; the server then closes the connection.
type TransformFactory struct {
	// Transforms are the transforms offered by name; nil means Transforms.
	Transforms map[string]Transform
	// Log, if set, receives a line per request.
	Log io.Writer
}

// BuildProtocol returns the protocol that answers one request.
func (f *TransformFactory) BuildProtocol(net.Addr) internet.Protocol {
	p := &transformServer{f: f}
	p.Handler = p
	return p
}

type transformServer struct {
	basic.NetstringReceiver
	f *TransformFactory
}

// StringReceived answers the request and hangs up; a request that is not
// "name.poem" or names no transform gets no answer.
func (p *transformServer) StringReceived(s []byte) {
	defer p.Transport.LoseConnection()
	name, poem, ok := bytes.Cut(s, []byte("."))
	if !ok {
		return
	}
	xforms := p.f.Transforms
	if xforms == nil {
		xforms = Transforms
	}
	xform := xforms[string(name)]
	if p.f.Log != nil {
		fmt.Fprintf(p.f.Log, "%s request: %d bytes of poetry, known: %v\n", name, len(poem), xform != nil)
	}
	if xform != nil {
		_ = p.SendString(xform(poem))
	}
}

// ErrNoTransform is the failure of Xform when the server closed the
// connection without an answer: it has no such transform, or failed.
var ErrNoTransform = errors.New("poetry: the transform server sent no poem")

// Xform asks the transform server at addr to apply the transform name to
// poem (the intro's TransformProxy.xform): the Deferred fires with the
// transformed poem, a string, or fails with the reason the connection could
// not be made or with ErrNoTransform.
func Xform(n internet.Net, addr, name, poem string) *deferred.Deferred {
	d := deferred.New()
	f := &xformFactory{d: d, request: []byte(name + "." + poem)}
	n.ConnectTCP(addr, f)
	return d
}

type xformFactory struct {
	internet.BaseClientFactory
	d       *deferred.Deferred
	request []byte
}

func (f *xformFactory) BuildProtocol(net.Addr) internet.Protocol {
	p := &xformClient{f: f}
	p.Handler = p
	return p
}

func (f *xformFactory) ClientConnectionFailed(_ internet.Connector, reason error) {
	f.d.Errback(reason)
}

type xformClient struct {
	basic.NetstringReceiver
	f      *xformFactory
	answer *string
}

func (p *xformClient) ConnectionMade(t internet.Transport) {
	p.NetstringReceiver.ConnectionMade(t)
	_ = p.SendString(p.f.request)
}

func (p *xformClient) StringReceived(s []byte) {
	answer := string(s)
	p.answer = &answer
	p.Transport.LoseConnection()
}

func (p *xformClient) ConnectionLost(error) {
	if p.answer == nil {
		p.f.d.Errback(ErrNoTransform)
		return
	}
	p.f.d.Callback(*p.answer)
}
