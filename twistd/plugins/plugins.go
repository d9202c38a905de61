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
	"time"

	"github.com/twistgo/twist/internet"
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
	port        *int
	iface       *string
	idle, read  *time.Duration
	maxConns    *int
	maxConnsPer *int
}

// AddServerFlags registers on fs the flags of a server listening on port
// (and on iface, "" for every interface): --port, --interface (or --iface),
// --idle-timeout, --read-timeout, --max-conns and --max-conns-per-ip.
func AddServerFlags(fs *flag.FlagSet, port int, iface string) *ServerFlags {
	s := &ServerFlags{}
	s.port = fs.Int("port", port, "TCP port to listen on; 0 lets the system choose")
	s.iface = fs.String("interface", iface, "interface (IP address) to listen on; \"\" for all")
	fs.Var(stringValue{s.iface}, "iface", "the same as --interface")
	s.idle = fs.Duration("idle-timeout", policies.DefaultIdleTimeout, "close a connection that sends nothing for this long while nothing is pending; 0 never")
	s.read = fs.Duration("read-timeout", policies.DefaultReadTimeout, "close a connection that takes longer than this to send a message it began; 0 never")
	s.maxConns = fs.Int("max-conns", DefaultMaxConns, "most connections open at once; 0 for no limit")
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

// Wrap returns f wrapped with the policies the flags ask for.
func (s *ServerFlags) Wrap(f internet.Factory) internet.Factory {
	if *s.idle > 0 || *s.read > 0 {
		f = policies.Timeout(f, policies.TimeoutConfig{Idle: *s.idle, Read: *s.read})
	}
	if *s.maxConnsPer > 0 {
		f = policies.LimitConnectionsByPeer(f, *s.maxConnsPer)
	}
	if *s.maxConns > 0 {
		f = policies.LimitTotalConnections(f, *s.maxConns)
	}
	return f
}

// Server returns the TCP server of f on the flags' address, with their
// policies.
func (s *ServerFlags) Server(loop *reactor.Reactor, f internet.Factory) *service.StreamServer {
	return service.TCPServer(loop, s.Addr(), s.Wrap(f))
}

// tcpPlugin is a plugin whose service is one TCP server of the factory that
// factory makes, with the ServerFlags.
func tcpPlugin(name, desc string, port int, factory func(*reactor.Reactor) internet.Factory) twistd.ServiceMaker {
	return twistd.ServiceMaker{Name: name, Description: desc, Flags: func(fs *flag.FlagSet) twistd.MakeService {
		sf := AddServerFlags(fs, port, "")
		return func(loop *reactor.Reactor) (service.Service, error) {
			return sf.Server(loop, factory(loop)), nil
		}
	}}
}
