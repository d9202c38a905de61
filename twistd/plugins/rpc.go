package plugins

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/mongowire"
	"github.com/twistgo/twist/rpc/rpcdemo"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/static"
)

// The names of the rpc plugin's two servers within its MultiService.
const (
	RPCFramedName = "framed"
	RPCMongoName  = "mongo"
	RPCHTTPName   = "http"
)

// DefaultDrainTimeout is the default of the rpc plugin's --drain-timeout.
const DefaultDrainTimeout = 10 * time.Second

// RPC serves the demo functions of rpc/rpcdemo over the framed protocol and
// the MongoDB wire protocol, and, with --http-port and --http-path, a
// directory's files over HTTP (a web front end of the functions, say), so
// that one process serves all three. On shutdown it drains: it stops
// listening, answers every call in flight for up to --drain-timeout, then
// closes.
var RPC = twistd.ServiceMaker{
	Name: "rpc",
	Description: "the demo RPC functions (add, echo, sleep, poetry.get, cummingsify, fail) " +
		"over Twist's framed protocol and the MongoDB wire protocol",
	Flags: func(fs *flag.FlagSet) twistd.MakeService {
		sf := AddServerFlags(fs, 9000, "")
		mongoPort := fs.Int("mongo-port", 27017, "TCP port of the MongoDB wire protocol, on --interface; -1 turns it off, 0 lets the system choose (--listen is for the framed protocol)")
		httpPort := fs.Int("http-port", -1, "TCP port of an HTTP server of --http-path's files, on --interface; -1 (the default) turns it off, 0 lets the system choose")
		httpPath := fs.String("http-path", "", "the `directory` (or file) served on --http-port, with web.Limits' defaults")
		d := rpc.DefaultLimits()
		var l rpc.Limits
		fs.IntVar(&l.MaxMessage, "max-message", d.MaxMessage, "largest framed message accepted, in `bytes`")
		fs.Var(intAlias{&l.MaxMessage}, "max-message-size", "the same as --max-message")
		fs.IntVar(&l.MaxWireMessage, "max-wire-message", d.MaxWireMessage, "largest MongoDB wire-protocol message accepted, in `bytes`")
		fs.IntVar(&l.MaxDepth, "max-depth", d.MaxDepth, "deepest nesting of documents and arrays in a call")
		fs.IntVar(&l.MaxPending, "max-pending", d.MaxPending, "most calls a connection may have outstanding")
		fs.IntVar(&l.MaxOutput, "max-output", d.MaxOutput, "most `bytes` of answers held for one connection")
		timeout := fs.Duration("call-timeout", 0, "time limit of a call; 0 for none")
		drain := fs.Duration("drain-timeout", DefaultDrainTimeout, "on shutdown, how long calls in flight have to be answered")
		return func(loop *reactor.Reactor) (service.Service, error) {
			opts := []rpc.ServerOption{rpc.WithName("twistd rpc", "0.1.0"), rpc.WithLimits(l)}
			if *timeout > 0 {
				opts = append(opts, rpc.WithCallTimeout(*timeout))
			}
			srv := rpc.NewServer(opts...)
			if err := rpcdemo.Register(srv, loop); err != nil {
				return nil, err
			}
			ms := service.NewMultiService()
			// The drain is the first child, so that it is the last to stop:
			// after the listeners.
			if err := ms.AddService(&drainService{loop: loop, srv: srv, timeout: *drain}); err != nil {
				return nil, err
			}
			framed, err := sf.Servers(loop, srv.Factory())
			if err != nil {
				return nil, err
			}
			for i, s := range framed {
				name := RPCFramedName
				if i > 0 {
					name = fmt.Sprintf("%s-%d", RPCFramedName, i+1)
				}
				if err := addNamed(ms, s, name); err != nil {
					return nil, err
				}
			}
			if *mongoPort >= 0 {
				host, _, _ := net.SplitHostPort(sf.Addr())
				mongo := service.TCPServer(loop, net.JoinHostPort(host, strconv.Itoa(*mongoPort)), sf.Wrap(mongowire.NewServer(srv)))
				if err := addNamed(ms, mongo, RPCMongoName); err != nil {
					return nil, err
				}
			}
			if *httpPort >= 0 {
				if *httpPath == "" {
					return nil, errors.New("rpc: --http-port needs --http-path")
				}
				files, err := static.Open(*httpPath)
				if err != nil {
					return nil, fmt.Errorf("rpc: %w", err)
				}
				host, _, _ := net.SplitHostPort(sf.Addr())
				site := service.TCPServer(loop, net.JoinHostPort(host, strconv.Itoa(*httpPort)), sf.Wrap(web.NewSite(files)))
				if err := addNamed(ms, site, RPCHTTPName); err != nil {
					return nil, err
				}
			}
			return ms, nil
		}
	},
}

// intAlias is a flag.Value on an int that another flag owns.
type intAlias struct{ p *int }

func (v intAlias) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v intAlias) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

// addNamed names s and adds it to ms.
func addNamed(ms *service.MultiService, s *service.StreamServer, name string) error {
	if err := s.SetName(name); err != nil {
		return err
	}
	return ms.AddService(s)
}

// drainService drains an RPC server when it stops: its connections answer
// the calls in flight, for up to timeout, then close.
type drainService struct {
	service.Base
	loop    *reactor.Reactor
	srv     *rpc.Server
	timeout time.Duration
}

// RPCServer returns the server the service drains: the status page finds
// the rpc plugin's server by it.
func (s *drainService) RPCServer() *rpc.Server { return s.srv }

func (s *drainService) StopService() *deferred.Deferred {
	s.Base.StopService()
	log := slog.Default().With(twistd.System("rpc"))
	log.Info(fmt.Sprintf("draining: answering the calls in flight, for up to %v", s.timeout))
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	drained := s.srv.Drain(ctx)
	d := deferred.New()
	go func() {
		<-drained
		timedOut := ctx.Err() != nil
		cancel()
		s.loop.CallFromThread(func() {
			if timedOut {
				log.Warn(fmt.Sprintf("drain time-out: connections still busy after %v were closed", s.timeout))
			} else {
				log.Info("drained")
			}
			d.Callback(nil)
		})
	}()
	return d
}
