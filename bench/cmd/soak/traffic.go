package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ioTimeout bounds every wait of the load on the server, but the slow
// readers' and the time-outs': an answer later than this is a failure.
const ioTimeout = 20 * time.Second

// startLoad starts every worker of the load on wg.
func (s *soak) startLoad(wg *sync.WaitGroup) {
	cfg := s.cfg
	seed := uint64(time.Now().UnixNano())
	rnd := func(i int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(i))) }
	worker := 0
	goWork := func(f func(r *rand.Rand)) {
		worker++
		r := rnd(worker)
		wg.Go(func() { f(r) })
	}
	// Pipelined calls: with ids on four connections of each protocol,
	// without ids on two framed ones.
	for i := range 4 {
		goWork(func(r *rand.Rand) {
			s.pipeline(r, fmt.Sprintf("framed with ids %d", i), s.srv.framed, framed{}, true, cfg.CallRate/6, &s.n.framedID)
		})
		goWork(func(r *rand.Rand) {
			s.pipeline(r, fmt.Sprintf("wire with ids %d", i), s.srv.mongo, wire{}, true, cfg.CallRate/4, &s.n.wireID)
		})
	}
	for i := range 2 {
		goWork(func(r *rand.Rand) {
			s.pipeline(r, fmt.Sprintf("framed without ids %d", i), s.srv.framed, framed{}, false, cfg.CallRate/6, &s.n.framedNoID)
		})
	}
	for i := range cfg.Crowd {
		goWork(func(r *rand.Rand) { s.crowdMember(r, i) })
	}
	wg.Go(s.driver)
	wg.Go(s.httpLoad)
	const churners = 8
	for range churners {
		goWork(func(r *rand.Rand) { s.churn(r, churners) })
	}
	for i := range cfg.Slow {
		goWork(func(r *rand.Rand) { s.slowReader(r, i) })
	}
	for i := range cfg.Stalled {
		goWork(func(r *rand.Rand) { s.stalledReader(r, i) })
	}
	for i := range cfg.Idle {
		goWork(func(r *rand.Rand) { s.idler(r, i) })
	}
}

// dial connects to addr, failing the soak if it cannot.
func (s *soak) dial(what, addr string) (*net.TCPConn, bool) {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		s.fail.add("%s: dial: %v", what, err)
		return nil, false
	}
	return c.(*net.TCPConn), true
}

// pipeline sends random calls at perSecond on one connection, without
// waiting for answers (up to 256 outstanding), and checks each answer:
// with ids, it must answer a call outstanding with that id; without, the
// oldest outstanding call. One call in twenty asks for no reply: an answer
// to it is a failure too. At the end of the load it waits for every
// answer.
func (s *soak) pipeline(r *rand.Rand, name, addr string, p codec, withIDs bool, perSecond int, n *atomic.Int64) {
	c, ok := s.dial(name, addr)
	if !ok {
		return
	}
	defer c.Close()
	var (
		mu      sync.Mutex
		byID    = map[int32]call{}
		fifo    []call
		closing atomic.Bool
	)
	outstanding := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(byID) + len(fifo)
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		br := bufio.NewReaderSize(c, 64<<10)
		for {
			id, reply, kind, err := p.read(br)
			if err != nil {
				if !closing.Load() {
					s.fail.add("%s: connection lost: %v", name, err)
				}
				return
			}
			mu.Lock()
			var want call
			if withIDs {
				want, ok = byID[id]
				delete(byID, id)
			} else if ok = len(fifo) > 0; ok {
				want, fifo = fifo[0], fifo[1:]
			}
			mu.Unlock()
			if !ok {
				s.fail.add("%s: an answer (id %d) to no call outstanding: a second answer, or one to a call sent without reply", name, id)
				continue
			}
			if err := want.check(reply, kind); err != nil {
				s.fail.add("%s: %v", name, err)
				continue
			}
			n.Add(1)
		}
	}()
	batch := max(1, perSecond/100)
	tick := time.NewTicker(time.Duration(batch) * time.Second / time.Duration(max(1, perSecond)))
	defer tick.Stop()
	nextID := int32(1)
	var buf []byte
	for s.tick(tick) {
		mu.Lock()
		if len(byID)+len(fifo) > 256 {
			mu.Unlock()
			continue
		}
		buf = buf[:0]
		for range batch {
			cl := randomCall(r)
			cl.noReply = r.IntN(20) == 0
			id := int32(-1)
			if withIDs {
				id = nextID
				nextID++
			}
			switch {
			case cl.noReply:
				s.n.noReply.Add(1)
			case withIDs:
				byID[id] = cl
			default:
				fifo = append(fifo, cl)
			}
			buf = p.append(buf, id, cl)
		}
		mu.Unlock()
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write(buf); err != nil {
			s.fail.add("%s: write: %v", name, err)
			return
		}
	}
	// Every call sent must be answered.
	deadline := time.Now().Add(ioTimeout)
	for outstanding() > 0 && time.Now().Before(deadline) {
		select {
		case <-readerDone:
			deadline = time.Now()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if left := outstanding(); left > 0 {
		s.fail.add("%s: %d calls sent and never answered", name, left)
	}
	closing.Store(true)
	c.Close()
	<-readerDone
}

// tick waits for t's next tick and reports whether the load goes on.
func (s *soak) tick(t *time.Ticker) bool {
	select {
	case <-s.stopping:
		return false
	case <-t.C:
		return !s.stopped()
	}
}

// crowdMember keeps one connection open (framed or wire, by i), calling
// once a second, each answer checked: with cfg.Crowd of them, the server
// holds a thousand live connections, well inside its idle time-out. If
// this goroutine itself runs so late that its connection sat idle past the
// time-out, the server was right to close it: that is counted as late, and
// the member connects again.
func (s *soak) crowdMember(r *rand.Rand, i int) {
	// The crowd gathers over the first five seconds.
	if !s.sleep(time.Duration(i) * 5 * time.Second / time.Duration(max(1, s.cfg.Crowd))) {
		return
	}
	name, addr, p := "crowd framed", s.srv.framed, codec(framed{})
	if i%2 == 1 {
		name, addr, p = "crowd wire", s.srv.mongo, wire{}
	}
	for !s.stopped() {
		if !s.crowdConn(r, name, addr, p) {
			return
		}
	}
}

// crowdConn is one connection of a crowd member; it reports whether to
// connect again.
func (s *soak) crowdConn(r *rand.Rand, name, addr string, p codec) bool {
	c, ok := s.dial(name, addr)
	if !ok {
		return false
	}
	defer c.Close()
	br := bufio.NewReader(c)
	last := time.Now() // of the connection or the last answer
	for id := int32(1); s.sleep(time.Duration(800+r.IntN(400)) * time.Millisecond); id++ {
		cl := randomCall(r)
		sent := time.Now()
		c.SetDeadline(sent.Add(ioTimeout))
		_, err := c.Write(p.append(nil, id, cl))
		var got int32
		var reply bson.RawValue
		var kind string
		if err == nil {
			got, reply, kind, err = p.read(br)
		}
		if err != nil {
			// The server's idle time is at least this gap: it read the
			// call no sooner, and wrote the last answer no later.
			if gap := sent.Sub(last); gap >= s.cfg.IdleTimeout {
				s.n.late.Add(1)
				return true
			}
			s.fail.add("%s: %v, %v after the previous answer", name, err, sent.Sub(last).Round(time.Millisecond))
			return false
		}
		last = time.Now()
		if got != id {
			s.fail.add("%s: answer to id %d, want %d", name, got, id)
			return false
		}
		if err := cl.check(reply, kind); err != nil {
			s.fail.add("%s: %v", name, err)
			continue
		}
		s.n.crowd.Add(1)
	}
	return false
}

// driver calls through the MongoDB Go driver: four callers sharing a pool
// of four connections, with the driver's handshake, its monitoring
// connection and its own request ids.
func (s *soak) driver() {
	client, err := mongo.Connect(options.Client().
		ApplyURI("mongodb://" + s.srv.mongo + "/?directConnection=true").
		SetMaxPoolSize(4).SetTimeout(ioTimeout))
	if err != nil {
		s.fail.add("driver: connect: %v", err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		if err := client.Disconnect(ctx); err != nil {
			s.fail.add("driver: disconnect: %v", err)
		}
	}()
	db := client.Database("soak")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for s.tick(tick) {
				cl := randomCall(r)
				res := db.RunCommand(context.Background(), bson.D{{Key: cl.fn, Value: cl.args()}})
				raw, err := res.Raw()
				var kind string
				var ce mongo.CommandError
				if errors.As(err, &ce) {
					kind, err = ce.Name, nil
				}
				if err != nil {
					s.fail.add("driver: %s: %v", cl.fn, err)
					continue
				}
				if err := cl.check(raw.Lookup("reply"), kind); err != nil {
					s.fail.add("driver: %v (the reply document: %.200s)", err, raw)
					continue
				}
				s.n.driver.Add(1)
			}
		})
	}
	wg.Wait()
}

// httpLoad sends GETs from four clients sharing keep-alive connections,
// one in five with Connection: close, one in twenty of the 1 MiB file,
// and checks every body.
func (s *soak) httpLoad() {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: s.cfg.IdleTimeout / 2, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: ioTimeout}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for n := i; s.tick(tick); n++ {
				path := "/small.txt"
				if n%20 == 0 {
					path = "/big.bin"
				}
				req, _ := http.NewRequest("GET", "http://"+s.srv.http+path, nil)
				req.Close = n%5 == 0
				resp, err := client.Do(req)
				if err != nil {
					s.fail.add("http: GET %s: %v", path, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, s.files[path]) {
					s.fail.add("http: GET %s: status %d, %d bytes of body, %v", path, resp.StatusCode, len(body), err)
					continue
				}
				s.n.http.Add(1)
			}
		})
	}
	wg.Wait()
}

// churn opens and closes connections, ChurnRate a second over all
// churners: one call or request and an orderly close, or an abrupt reset
// (SO_LINGER 0) with a call, half a message or nothing in flight.
func (s *soak) churn(r *rand.Rand, churners int) {
	tick := time.NewTicker(time.Duration(churners) * time.Second / time.Duration(max(1, s.cfg.ChurnRate)))
	defer tick.Stop()
	for s.tick(tick) {
		s.churnOnce(r)
	}
}

func (s *soak) churnOnce(r *rand.Rand) {
	kind := r.IntN(8)
	addr := []string{s.srv.framed, s.srv.mongo, s.srv.http}[kind%3]
	c, ok := s.dial("churn", addr)
	if !ok {
		return
	}
	defer c.Close()
	s.n.churn.Add(1)
	c.SetDeadline(time.Now().Add(ioTimeout))
	reset := func() {
		c.SetLinger(0)
		s.n.resets.Add(1)
	}
	var p codec = framed{}
	if kind%3 == 1 {
		p = wire{}
	}
	cl := randomCall(r)
	switch kind {
	case 0, 1, 6, 4: // one call, then a close (6 and 4: a reset after the answer)
		if _, err := c.Write(p.append(nil, 1, cl)); err != nil {
			s.fail.add("churn: write: %v", err)
			return
		}
		id, reply, errKind, err := p.read(bufio.NewReader(c))
		if err == nil && id != 1 {
			err = fmt.Errorf("answer to id %d, want 1", id)
		}
		if err == nil {
			err = cl.check(reply, errKind)
		}
		if err != nil {
			s.fail.add("churn: %T call: %v", p, err)
			return
		}
		s.n.churnCalls.Add(1)
		if kind > 1 {
			reset()
		}
	case 2: // an HTTP request with Connection: close: the server closes
		io.WriteString(c, "GET /small.txt HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
		got, err := io.ReadAll(c)
		if err != nil || !bytes.HasPrefix(got, []byte("HTTP/1.1 200 ")) || !bytes.HasSuffix(got, s.files["/small.txt"]) {
			s.fail.add("churn: GET with Connection: close: %d bytes, then %v; want the file, then the server's close", len(got), err)
			return
		}
		s.n.churnCalls.Add(1)
	case 3: // a call, reset before its answer
		c.Write(p.append(nil, 1, cl))
		reset()
	case 5: // half a request, reset
		io.WriteString(c, "GET /small.txt HTTP/1.1\r\nHo")
		reset()
	case 7: // half a call, reset
		b := p.append(nil, 1, cl)
		c.Write(b[:len(b)/2])
		reset()
	}
}
