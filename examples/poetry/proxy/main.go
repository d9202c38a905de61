package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/examples/poetry/internal/serve"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
)

func main() {
	addr := serve.ListenFlags(10002)
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: proxy [--port N] [--iface HOST] [HOST:]PORT")
		os.Exit(2)
	}
	upstream, err := poetry.Address(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	err = serve.Serve(addr(), "the poem of "+upstream, func(n internet.Net) internet.Factory {
		return &proxyFactory{n: n, upstream: upstream, log: os.Stdout}
	})
	if err != nil {
		log.Fatal(err)
	}
}

// proxyFactory is the intro's ProxyService and its factory: it keeps the
// poem once fetched.
type proxyFactory struct {
	n        internet.Net
	upstream string
	log      io.Writer
	poem     *string // the cache; nil until a download succeeded
}

// getPoem returns the cached poem, or a Deferred of its download.
func (f *proxyFactory) getPoem() (any, error) {
	if f.poem != nil {
		fmt.Fprintln(f.log, "Using cached poem.")
		return *f.poem, nil
	}
	fmt.Fprintln(f.log, "Fetching poem from server.")
	return poetry.Get(f.n, f.upstream, nil).AddCallback(func(v any) (any, error) {
		poem := v.(string)
		f.poem = &poem
		return v, nil
	}), nil
}

func (f *proxyFactory) BuildProtocol(net.Addr) internet.Protocol { return &proxyProtocol{f: f} }

type proxyProtocol struct {
	internet.BaseProtocol
	f *proxyFactory
	d *deferred.Deferred // the poem on its way; nil once it came
}

// ConnectionMade sends the poem, cached or fetched alike thanks to Maybe, and
// hangs up, whether it came or not.
func (p *proxyProtocol) ConnectionMade(t internet.Transport) {
	p.BaseProtocol.ConnectionMade(t)
	d := deferred.Maybe(p.f.getPoem)
	p.d = d
	d.AddCallback(func(poem any) (any, error) {
		_, err := t.Write([]byte(poem.(string)))
		return nil, err
	}).AddBoth(func(res any) (any, error) {
		p.d = nil
		t.LoseConnection()
		if fl, ok := res.(*deferred.Failure); ok {
			fmt.Fprintf(p.f.log, "No poem for %v: %v\n", t.RemoteAddr(), fl)
		}
		return nil, nil
	})
}

// ConnectionLost cancels the download of a poem nobody waits for any more,
// so that the upstream connection closes too.
func (p *proxyProtocol) ConnectionLost(error) {
	if d := p.d; d != nil {
		p.d = nil
		d.Cancel()
	}
}
