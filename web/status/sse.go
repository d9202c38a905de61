package status

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/twistgo/twist/web"
)

// errStalled is the reason a live-update client that does not read is
// dropped with.
var errStalled = errors.New("status: live-update client stopped reading")

// client is one live-update stream: a server-sent events response that
// stays open. It is the connection's push producer, so that the transport
// tells it when its output is above the high-water mark: samples due then
// are skipped, and a client that stays so past StallTimeout is dropped.
type client struct {
	p        *Page
	req      *web.Request
	paused   bool
	pausedAt time.Time
}

// renderEvents opens a live-update stream: the samples kept, the recent
// errors, then each new sample as it is taken.
func (p *Page) renderEvents(req *web.Request) ([]byte, error) {
	if p.clk == nil {
		return nil, errNotStarted
	}
	if len(p.clients) >= p.opts.MaxClients {
		req.SetResponseCode(http.StatusServiceUnavailable)
		req.SetHeader("Retry-After", strconv.Itoa(int(p.opts.StallTimeout/time.Second)))
		req.SetHeader("Content-Type", "text/plain; charset=utf-8")
		return []byte("503 Service Unavailable: too many live status clients\n"), nil
	}
	req.SetHeader("Content-Type", "text/event-stream")
	req.SetHeader("Cache-Control", "no-store")
	if req.Method == "HEAD" {
		return nil, nil
	}
	c := &client{p: p, req: req}
	if err := req.RegisterProducer(c, true); err != nil {
		return nil, err
	}
	p.clients[c] = struct{}{}
	req.NotifyFinish().AddBoth(func(any) (any, error) {
		p.remove(c)
		return nil, nil
	})
	// The browser reconnects after a lost stream; retry sets how soon.
	_ = req.Write([]byte("retry: 2000\n\n"))
	c.send(p.clk.Now(), event("history", p.history), event("errors", p.recentErrors()))
	return nil, web.NotDoneYet
}

func (p *Page) remove(c *client) { delete(p.clients, c) }

// event frames v as one server-sent event. JSON holds no raw newline, so
// the data is one line.
func event(name string, v any) []byte {
	b := make([]byte, 0, 512)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	data, err := json.Marshal(v)
	if err != nil {
		slog.Error("status: encoding an event", "event", name, "err", err)
		data = []byte("null")
	}
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// send writes msgs unless the connection is backed up; a client backed up
// for StallTimeout is dropped.
func (c *client) send(now time.Time, msgs ...[]byte) {
	if c.paused {
		if now.Sub(c.pausedAt) >= c.p.opts.StallTimeout {
			slog.Info("status: dropping a live-update client that does not read", "peer", c.req.ClientAddress())
			c.p.remove(c)
			c.req.Abort(errStalled)
		}
		return
	}
	for _, m := range msgs {
		if c.req.Write(m) != nil {
			return
		}
	}
}

// PauseProducing notes that the connection's output is above its
// high-water mark.
func (c *client) PauseProducing() {
	if !c.paused {
		c.paused, c.pausedAt = true, c.p.clk.Now()
	}
}

// ResumeProducing notes that the output drained.
func (c *client) ResumeProducing() { c.paused = false }

// StopProducing is called when the connection goes; NotifyFinish's
// callback removes the client.
func (c *client) StopProducing() {}
