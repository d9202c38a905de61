package client

import (
	"compress/gzip"
	"errors"
	"io"
	"iter"
	"strings"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/web"
)

// ErrDecoding is the reason a body ends when its content coding is
// malformed; the decoder's error is wrapped too.
var ErrDecoding = errors.New("client: content decoding failed")

// DefaultMaxDecodedSize is ContentDecoderAgent's default bound on a
// decoded body.
const DefaultMaxDecodedSize = 64 << 20

// ContentDecoderAgent asks for gzip'd bodies and decodes them as they
// stream (Twisted's ContentDecoderAgent with GzipDecoder): it adds
// "Accept-Encoding: gzip" to each request, and a response whose
// Content-Encoding is gzip (or x-gzip) has that field and Content-Length
// removed, Length -1, and its body delivered decoded. Other codings are
// left as they came. The decoded body is bounded by MaxDecodedSize, so that
// a small compressed body cannot make a huge one: past it the response is
// aborted and the consumer gets ErrBodyTooLarge.
type ContentDecoderAgent struct {
	Agent Requester
	// MaxDecodedSize bounds a decoded body; zero means
	// DefaultMaxDecodedSize.
	MaxDecodedSize int64
}

// Request sends the request with Accept-Encoding and returns a Deferred of
// the *Response, decoding its body.
func (a *ContentDecoderAgent) Request(method, url string, headers *web.Header, body []byte) *deferred.Deferred {
	var h web.Header
	if headers != nil {
		h = headers.Clone()
	}
	h.Set("Accept-Encoding", "gzip")
	return a.decode(a.Agent.Request(method, url, &h, body))
}

// decode sets the decoder on the response d fires with.
func (a *ContentDecoderAgent) decode(d *deferred.Deferred) *deferred.Deferred {
	return d.AddCallback(func(v any) (any, error) {
		r := v.(*Response)
		ce := strings.ToLower(strings.TrimSpace(r.Headers.Get("Content-Encoding")))
		if ce != "gzip" && ce != "x-gzip" || len(r.Headers.Values("Content-Encoding")) != 1 {
			return r, nil
		}
		r.Headers.Del("Content-Encoding")
		r.Headers.Del("Content-Length")
		r.Length = -1
		max := a.MaxDecodedSize
		if max <= 0 {
			max = DefaultMaxDecodedSize
		}
		inner := r.wrap
		r.wrap = func(p BodyConsumer) BodyConsumer {
			g := newGunzipper(r, p, max)
			if inner != nil {
				return inner(g)
			}
			return g
		}
		return r, nil
	})
}

// gunzipper decodes a gzip'd body as it arrives. compress/gzip pulls from
// an io.Reader while bodies are pushed, so the decoder runs as a coroutine
// (iter.Pull): each DataReceived hands it the bytes and runs it until it
// has used them all; it yields whenever it needs input or has a buffer of
// output, which is delivered to the consumer from the loop.
type gunzipper struct {
	r        *Response
	out      BodyConsumer
	max      int64
	produced int64
	in       []byte // input not yet read by the decoder
	eof      bool   // the body is complete
	started  bool   // some input arrived
	ended    bool   // out has had ConnectionLost
	pending  []byte // decoded, to deliver
	err      error  // the decoder's failure
	next     func() (bool, bool)
	stop     func()
}

const gunzipChunk = 32 << 10

func newGunzipper(r *Response, out BodyConsumer, max int64) *gunzipper {
	g := &gunzipper{r: r, out: out, max: max}
	g.next, g.stop = iter.Pull(g.decode)
	return g
}

// decode is the coroutine: it yields true for more input, false to have
// its output delivered.
func (g *gunzipper) decode(yield func(bool) bool) {
	src := &pullReader{g: g, yield: yield}
	zr, err := gzip.NewReader(src)
	if err != nil {
		g.err = err
		return
	}
	buf := make([]byte, gunzipChunk)
	for {
		n, err := zr.Read(buf)
		if n > 0 {
			g.pending = buf[:n]
			if !yield(false) {
				return
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			g.err = err
			return
		}
	}
}

// pullReader feeds the coroutine the body's bytes, yielding for more.
type pullReader struct {
	g     *gunzipper
	yield func(bool) bool
}

var errStopped = errors.New("client: decoding stopped")

func (p *pullReader) Read(b []byte) (int, error) {
	g := p.g
	for len(g.in) == 0 {
		if g.eof {
			return 0, io.EOF
		}
		if !p.yield(true) {
			return 0, errStopped
		}
	}
	n := copy(b, g.in)
	g.in = g.in[n:]
	return n, nil
}

func (g *gunzipper) DataReceived(b []byte) {
	if g.ended || len(b) == 0 {
		return
	}
	g.started = true
	g.in = b
	g.run()
	g.in = nil
}

// run resumes the decoder until it needs input or ends, delivering what it
// decodes; it reports whether the decoder has finished.
func (g *gunzipper) run() bool {
	for !g.ended {
		needInput, ok := g.next()
		if len(g.pending) > 0 {
			out := g.pending
			g.pending = nil
			g.produced += int64(len(out))
			if g.produced > g.max {
				g.finish(ErrBodyTooLarge)
				return true
			}
			g.out.DataReceived(out)
		}
		if !ok {
			if g.err != nil {
				g.finish(&responseError{errors.Join(ErrDecoding, g.err)})
			}
			return true
		}
		if needInput && len(g.in) == 0 {
			return false
		}
	}
	return true
}

// finish ends the body with reason and stops the response and decoder.
func (g *gunzipper) finish(reason error) {
	if g.ended {
		return
	}
	g.ended = true
	g.stop()
	g.out.ConnectionLost(reason)
	g.r.Abort()
}

func (g *gunzipper) ConnectionLost(reason error) {
	if g.ended {
		return
	}
	if !errors.Is(reason, ErrResponseDone) {
		g.ended = true
		g.stop()
		g.out.ConnectionLost(reason)
		return
	}
	if !g.started {
		// An empty body (HEAD, 204) decodes to nothing.
		g.ended = true
		g.stop()
		g.out.ConnectionLost(reason)
		return
	}
	g.eof = true
	if g.run() && !g.ended {
		g.ended = true
		g.stop()
		g.out.ConnectionLost(reason)
	}
}
