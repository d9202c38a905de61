// Package plugins holds twistd's built-in plugins, each a twistd.ServiceMaker
// over an importable protocol package: Echo, Discard and Daytime
// (protocols/wire), FastPoetry and SlowPoetry (protocols/poetry),
// PortForward (protocols/portforward), SOCKS (protocols/socks) and RPC (the
// demo functions of rpc/rpcdemo). A program that is a twistd registers the
// ones it wants and calls twistd.Main:
//
//	func main() {
//		twistd.Register(plugins.SOCKS)
//		twistd.Register(myPlugin)
//		twistd.Main()
//	}
//
// Every server plugin takes the flags of ServerFlags: where to listen, and
// the time-outs and connection caps of package policies, each with a
// default.
package plugins

import (
	"flag"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/internet/endpoints"
	"github.com/twistgo/twist/protocols/policies"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

// All are the built-in plugins.
var All = []twistd.ServiceMaker{Echo, Discard, Daytime, FastPoetry, SlowPoetry, PortForward, SOCKS, RPC}

// RegisterAll registers every built-in plugin with twistd.
func RegisterAll() {
	for _, sm := range All {
		twistd.Register(sm)
	}
}

// DefaultMaxConns is the default of --max-conns: a cap well under the
// descriptor limits servers are given, so that a flood of connections is
// refused before it exhausts them.
const DefaultMaxConns = 10000

// ServerFlags are the flags every server plugin has.
type ServerFlags struct {
	fs          *flag.FlagSet
	listen      stringList
	port        *int
	iface       *string
	idle, read  *time.Duration
	write       *time.Duration
	maxConns    *int
	maxConnsPer *int
	total       *policies.ConnectionLimit
	perIP       *policies.PeerLimit
}

// AddServerFlags registers on fs the flags of a server listening on port
// (and on iface, "" for every interface): --port, --interface (or --iface),
// --listen, --idle-timeout, --read-timeout, --write-timeout, --max-conns
// and --max-conns-per-ip.
func AddServerFlags(fs *flag.FlagSet, port int, iface string) *ServerFlags {
	s := &ServerFlags{fs: fs}
	fs.Var(&s.listen, "listen", "listen on this endpoint `description` (tcp:8080:interface=127.0.0.1, ssl:..., unix:...), repeatable; in place of --port unless --port is given too")
	s.port = fs.Int("port", port, "TCP port to listen on; 0 lets the system choose")
	s.iface = fs.String("interface", iface, "interface (IP address) to listen on; \"\" for all")
	fs.Var(stringValue{s.iface}, "iface", "the same as --interface")
	s.idle = fs.Duration("idle-timeout", policies.DefaultIdleTimeout, "close a connection that sends nothing for this long while nothing is pending; 0 never")
	s.read = fs.Duration("read-timeout", policies.DefaultReadTimeout, "close a connection that takes longer than this to send a message it began; 0 never")
	s.write = fs.Duration("write-timeout", policies.DefaultWriteTimeout, "abort a connection that reads none of its queued output for this long (a slower reader is not idle); 0 never")
	s.maxConns = fs.Int("max-conns", DefaultMaxConns, "most connections open at once, on all the plugin's ports together; 0 for no limit")
	s.maxConnsPer = fs.Int("max-conns-per-ip", 0, "most connections open at once from one IP address; 0 for no limit")
	return s
}

// stringValue is a flag.Value on a string that another flag owns: an alias.
type stringValue struct{ p *string }

func (v stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (v stringValue) Set(s string) error { *v.p = s; return nil }

// Addr returns the address to listen on.
func (s *ServerFlags) Addr() string { return net.JoinHostPort(*s.iface, strconv.Itoa(*s.port)) }

// Wrap returns f wrapped with the policies the flags ask for, and with
// policies.LimitQueuedOutput: a connection stops reading while its output
// is above the transport's high-water mark. The connection caps are shared
// by every factory Wrap returns, so that they bind all of a plugin's ports
// together.
func (s *ServerFlags) Wrap(f internet.Factory) internet.Factory {
	f = policies.LimitQueuedOutput(f)
	if *s.idle > 0 || *s.read > 0 || *s.write > 0 {
		f = policies.Timeout(f, policies.TimeoutConfig{Idle: *s.idle, Read: *s.read, Write: *s.write})
	}
	if *s.maxConnsPer > 0 {
		if s.perIP == nil {
			s.perIP = &policies.PeerLimit{Max: *s.maxConnsPer}
		}
		f = &policies.WrappingFactory{Wrapped: f, Policy: s.perIP}
	}
	if *s.maxConns > 0 {
		if s.total == nil {
			s.total = &policies.ConnectionLimit{Max: *s.maxConns}
		}
		f = &policies.WrappingFactory{Wrapped: f, Policy: s.total}
	}
	return f
}

// Server returns the TCP server of f on the address of --port and
// --interface, with the flags' policies.
func (s *ServerFlags) Server(loop *reactor.Reactor, f internet.Factory) *service.StreamServer {
	return service.TCPServer(loop, s.Addr(), s.Wrap(f))
}

// Servers returns the servers of f the flags ask for, with their policies:
// one per --listen, and the one of --port unless --listen was given alone.
// One factory serves them all, so a connection cap is shared.
func (s *ServerFlags) Servers(loop *reactor.Reactor, f internet.Factory) ([]*service.StreamServer, error) {
	f = s.Wrap(f)
	portSet := false
	s.fs.Visit(func(fl *flag.Flag) { portSet = portSet || fl.Name == "port" })
	var servers []*service.StreamServer
	if len(s.listen) == 0 || portSet {
		servers = append(servers, service.TCPServer(loop, s.Addr(), f))
	}
	for _, desc := range s.listen {
		e, err := endpoints.ServerFromString(loop, desc)
		if err != nil {
			return nil, err
		}
		servers = append(servers, service.EndpointServer(e, f))
	}
	return servers, nil
}

// Service returns Servers as one service: the server itself if there is
// one, else a MultiService of them.
func (s *ServerFlags) Service(loop *reactor.Reactor, f internet.Factory) (service.Service, error) {
	servers, err := s.Servers(loop, f)
	if err != nil {
		return nil, err
	}
	if len(servers) == 1 {
		return servers[0], nil
	}
	ms := service.NewMultiService()
	for _, srv := range servers {
		if err := ms.AddService(srv); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, " ")
}

func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// tcpPlugin is a plugin whose service is one TCP server of the factory that
// factory makes, with the ServerFlags.
func tcpPlugin(name, desc string, port int, factory func(*reactor.Reactor) internet.Factory) twistd.ServiceMaker {
	return twistd.ServiceMaker{Name: name, Description: desc, Flags: func(fs *flag.FlagSet) twistd.MakeService {
		sf := AddServerFlags(fs, port, "")
		return func(loop *reactor.Reactor) (service.Service, error) {
			return sf.Service(loop, factory(loop))
		}
	}}
}
