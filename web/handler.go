package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
)

// HandlerResource serves any http.Handler, run on a thread pool so that it
// may block (Twisted's WSGIResource serves a WSGI application the same
// way). It is a leaf: the handler sees the request's whole URL.
//
// The handler's writes reach the client as they are made, each through the
// loop; when the client reads slower than the handler writes, Write blocks
// until the connection drains. The request's context is cancelled when the
// client goes away and when the response is done. A panic in the handler
// is logged and ends the response (500 if nothing was written yet).
type HandlerResource struct {
	// Handler serves the requests.
	Handler http.Handler
	// Pool runs the handler; nil uses threads.Default().
	Pool *threads.Pool
}

// NewHandlerResource returns a HandlerResource serving h on the default pool.
func NewHandlerResource(h http.Handler) *HandlerResource { return &HandlerResource{Handler: h} }

// GetChild returns nil: HandlerResource is a leaf.
func (h *HandlerResource) GetChild(name string, req *Request) Resource { return nil }

// PutChild panics: the handler routes below itself.
func (h *HandlerResource) PutChild(name string, child Resource) {
	panic("web: PutChild on a HandlerResource")
}

// IsLeaf returns true.
func (h *HandlerResource) IsLeaf() bool { return true }

// errNoLoop is the failure of a HandlerResource on a transport without a loop.
var errNoLoop = errors.New("web: HandlerResource needs a connection on a loop")

// Render hands the request to the handler on the pool.
func (h *HandlerResource) Render(req *Request) ([]byte, error) {
	loop := req.Loop()
	if loop == nil {
		return nil, errNoLoop
	}
	hr, cancel, err := h.httpRequest(req)
	if err != nil {
		return ErrorPage(req, http.StatusBadRequest, "Bad Request", "The request target is not a URL."), nil
	}
	w := &responseWriter{loop: loop, req: req, header: http.Header{}, cancel: cancel}
	w.cond.L = &w.mu
	req.NotifyFinish().AddBoth(func(any) (any, error) {
		cancel()
		w.StopProducing()
		return nil, nil
	})
	pool := h.Pool
	if pool == nil {
		pool = threads.Default()
	}
	if err := pool.CallInThread(func() { w.serve(h.Handler, hr) }); err != nil {
		cancel()
		return ErrorPage(req, http.StatusServiceUnavailable, "Service Unavailable", "The server is too busy."), nil
	}
	return nil, NotDoneYet
}

// httpRequest builds the net/http request for req.
func (h *HandlerResource) httpRequest(req *Request) (*http.Request, context.CancelFunc, error) {
	u, err := url.ParseRequestURI(req.URI)
	if err != nil {
		return nil, nil, err
	}
	hdr := make(http.Header, req.RequestHeaders.Len())
	for k, v := range req.RequestHeaders.All() {
		hdr.Add(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hr := (&http.Request{
		Method: req.Method, URL: u, Proto: req.ClientProto, ProtoMajor: 1, ProtoMinor: req.minor,
		Header: hdr, Body: io.NopCloser(bytes.NewReader(req.Content)), ContentLength: int64(len(req.Content)),
		Host: req.GetHeader("Host"), RequestURI: req.URI, TLS: req.TLS(),
	}).WithContext(ctx)
	if a := req.ClientAddress(); a != nil {
		hr.RemoteAddr = a.String()
	}
	hr.Close = req.close
	return hr, cancel, nil
}

// responseWriter is the handler's http.ResponseWriter: its methods run on
// a worker, and reach the request through the loop. It is the request's
// streaming producer, so that a slow client pauses the handler's writes.
type responseWriter struct {
	loop   *reactor.Reactor
	req    *Request // only on the loop
	cancel context.CancelFunc
	header http.Header // the handler's, until the head is sent

	// worker side
	code        int
	wroteHeader bool
	sentHead    bool

	registered bool // on the loop: w is the request's producer

	mu      sync.Mutex
	cond    sync.Cond
	paused  bool
	stopped bool
}

var _ http.Flusher = (*responseWriter)(nil)

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader, w.code = true, code
}

// Write sends b now, waiting first while the connection is backed up.
func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if !w.wait() {
		return 0, ErrRequestFinished
	}
	head := w.takeHead(b)
	data := bytes.Clone(b)
	_, err := threads.BlockingCallFromThread(w.loop, func() (any, error) {
		if head != nil {
			head()
		}
		return nil, w.req.Write(data)
	})
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// Flush does nothing more than Write did: each write is sent at once.
func (w *responseWriter) Flush() {}

// takeHead returns, for the first write, the function that sets the
// response's status and header on the loop, sniffing a Content-Type from
// the first bytes as net/http does.
func (w *responseWriter) takeHead(first []byte) func() {
	if w.sentHead {
		return nil
	}
	w.sentHead = true
	code, hdr := w.code, w.header.Clone()
	if _, ok := hdr["Content-Type"]; !ok && first != nil && hdr.Get("Content-Encoding") == "" {
		hdr.Set("Content-Type", http.DetectContentType(first))
	}
	return func() {
		w.req.SetResponseCode(code)
		for k, vs := range hdr {
			for _, v := range vs {
				w.req.ResponseHeaders.Add(k, v)
			}
		}
		if !w.req.Finished() && w.req.RegisterProducer(w, true) == nil {
			w.registered = true
		}
	}
}

// wait blocks while the producer is paused; false once it is stopped.
func (w *responseWriter) wait() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.paused && !w.stopped {
		w.cond.Wait()
	}
	return !w.stopped
}

// serve runs the handler and ends the response.
func (w *responseWriter) serve(h http.Handler, hr *http.Request) {
	defer w.cancel()
	var failed any
	func() {
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				failed = v
				slog.Error("web: panic in http.Handler", "uri", truncate(hr.RequestURI), "panic", v, "stack", string(debug.Stack()))
			}
		}()
		h.ServeHTTP(w, hr)
	}()
	if failed != nil && !w.sentHead {
		w.code, w.wroteHeader, w.header = http.StatusInternalServerError, true, http.Header{"Content-Length": {"0"}}
	}
	w.WriteHeader(http.StatusOK)
	head := w.takeHead(nil)
	w.loop.CallFromThread(func() {
		if head != nil {
			if _, ok := w.header["Content-Length"]; !ok {
				w.req.SetHeader("Content-Length", "0")
			}
			head()
		}
		if w.registered {
			w.req.UnregisterProducer()
		}
		if failed != nil && head == nil {
			// Part of the response has gone: cut it short.
			w.req.Abort(fmt.Errorf("web: panic in http.Handler: %v", failed))
			return
		}
		w.req.Finish()
	})
}

// PauseProducing is called on the loop when the connection is backed up.
func (w *responseWriter) PauseProducing() {
	w.mu.Lock()
	w.paused = true
	w.mu.Unlock()
}

// ResumeProducing is called on the loop when the connection has drained.
func (w *responseWriter) ResumeProducing() {
	w.mu.Lock()
	w.paused = false
	w.cond.Broadcast()
	w.mu.Unlock()
}

// StopProducing is called when the client went away or the response ended.
func (w *responseWriter) StopProducing() {
	w.mu.Lock()
	w.stopped = true
	w.cond.Broadcast()
	w.mu.Unlock()
}

var _ internet.PushProducer = (*responseWriter)(nil)
