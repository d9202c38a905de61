package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/cmd/twistd/poem"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

func init() {
	twistd.Register(twistd.ServiceMaker{
		Name:        "fastpoetry",
		Description: "a poetry server that sends the whole poem at once (the Twisted intro's fastpoetry)",
		Flags: func(fs *flag.FlagSet) twistd.MakeService {
			addr := listenFlags(fs, 10000)
			poemFile := fs.String("poem", "", "file with the poem to serve; Shakespeare's Sonnet 18 by default")
			return func(loop *reactor.Reactor) (service.Service, error) {
				text, err := readPoem(*poemFile)
				if err != nil {
					return nil, err
				}
				return service.TCPServer(loop, addr(), newPoetryFactory(text, nil, 0, 0)), nil
			}
		},
	})
	twistd.Register(twistd.ServiceMaker{
		Name:        "slowpoetry",
		Description: "a poetry server that sends the poem a few bytes at a time (the Twisted intro's slowpoetry)",
		Flags: func(fs *flag.FlagSet) twistd.MakeService {
			addr := listenFlags(fs, 10001)
			poemFile := fs.String("poem", "", "file with the poem to serve; Shakespeare's Sonnet 18 by default")
			numBytes := fs.Int("num-bytes", 10, "bytes to send at a time")
			delay := fs.Float64("delay", 0.1, "seconds between sends")
			return func(loop *reactor.Reactor) (service.Service, error) {
				if *numBytes <= 0 || *delay < 0 {
					return nil, errors.New("slowpoetry: --num-bytes must be positive and --delay not negative")
				}
				text, err := readPoem(*poemFile)
				if err != nil {
					return nil, err
				}
				d := time.Duration(*delay * float64(time.Second))
				return service.TCPServer(loop, addr(), newPoetryFactory(text, loop, *numBytes, d)), nil
			}
		},
	})
}

// readPoem returns the poem in file, or the built-in one for "".
func readPoem(file string) ([]byte, error) {
	if file == "" {
		return poem.Sonnet18, nil
	}
	return os.ReadFile(file)
}

// PoetryFactory serves a poem to each connection and closes it: all at once,
// or, with a clock, chunk bytes every delay. Its log lines have the system
// "PoetryFactory", as the Twisted intro's.
type PoetryFactory struct {
	poem  []byte
	clk   clock.Clock // nil: send at once
	chunk int
	delay time.Duration
	log   *slog.Logger
}

func newPoetryFactory(poem []byte, clk clock.Clock, chunk int, delay time.Duration) *PoetryFactory {
	return &PoetryFactory{poem: poem, clk: clk, chunk: chunk, delay: delay,
		log: slog.Default().With(twistd.System("PoetryFactory"))}
}

// BuildProtocol returns the protocol that sends the poem.
func (f *PoetryFactory) BuildProtocol(net.Addr) internet.Protocol { return &poetry{f: f} }

type poetry struct {
	internet.BaseProtocol
	f    *PoetryFactory
	sent int
	next clock.DelayedCall
}

func (p *poetry) ConnectionMade(t internet.Transport) {
	p.BaseProtocol.ConnectionMade(t)
	if p.f.clk == nil {
		p.f.log.Info(fmt.Sprintf("sending %d bytes of poetry to %s", len(p.f.poem), t.RemoteAddr()))
		t.Write(p.f.poem)
		t.LoseConnection()
		return
	}
	p.sendChunk()
}

// sendChunk sends the next chunk and schedules the one after, or closes the
// connection when the poem is done.
func (p *poetry) sendChunk() {
	p.next = nil
	if p.sent >= len(p.f.poem) {
		p.Transport.LoseConnection()
		return
	}
	end := min(p.sent+p.f.chunk, len(p.f.poem))
	p.f.log.Info(fmt.Sprintf("sending %d bytes", end-p.sent))
	p.Transport.Write(p.f.poem[p.sent:end])
	p.sent = end
	p.next = p.f.clk.CallLater(p.f.delay, p.sendChunk)
}

func (p *poetry) ConnectionLost(reason error) {
	if p.next != nil {
		p.next.Cancel()
		p.next = nil
	}
}
