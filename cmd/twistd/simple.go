package main

import (
	"flag"
	"net"
	"strconv"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

func init() {
	twistd.Register(tcpPlugin("echo", "a TCP echo server (RFC 862)", 8007,
		func(*reactor.Reactor) internet.Factory { return &echoFactory{} }))
	twistd.Register(tcpPlugin("discard", "a TCP discard server (RFC 863)", 8009,
		func(*reactor.Reactor) internet.Factory { return &discardFactory{} }))
	twistd.Register(tcpPlugin("daytime", "a TCP daytime server (RFC 867)", 8013,
		func(loop *reactor.Reactor) internet.Factory { return &daytimeFactory{loop: loop} }))
}

// listenFlags registers the --port and --iface flags every server plugin
// has, and returns the function that makes the address from them.
func listenFlags(fs *flag.FlagSet, port int) func() string {
	p := fs.Int("port", port, "TCP port to listen on; 0 lets the system choose")
	iface := fs.String("iface", "", "interface (IP address) to listen on; all by default")
	return func() string { return net.JoinHostPort(*iface, strconv.Itoa(*p)) }
}

// tcpPlugin is a plugin whose service is a TCPServer with the factory that
// factory makes, and whose flags are --port and --iface.
func tcpPlugin(name, desc string, port int, factory func(*reactor.Reactor) internet.Factory) twistd.ServiceMaker {
	return twistd.ServiceMaker{Name: name, Description: desc, Flags: func(fs *flag.FlagSet) twistd.MakeService {
		addr := listenFlags(fs, port)
		return func(loop *reactor.Reactor) (service.Service, error) {
			return service.TCPServer(loop, addr(), factory(loop)), nil
		}
	}}
}

// echoFactory serves Echo: whatever arrives is sent back.
type echoFactory struct{}

func (*echoFactory) BuildProtocol(net.Addr) internet.Protocol { return &echo{} }

type echo struct{ internet.BaseProtocol }

func (e *echo) DataReceived(b []byte) { e.Transport.Write(b) }

// discardFactory serves Discard: whatever arrives is dropped.
type discardFactory struct{}

func (*discardFactory) BuildProtocol(net.Addr) internet.Protocol { return &internet.BaseProtocol{} }

// daytimeFactory serves Daytime: the time as text, then the connection
// closes. RFC 867 leaves the format free; this is Twisted's (asctime, UTC).
type daytimeFactory struct{ loop *reactor.Reactor }

func (f *daytimeFactory) BuildProtocol(net.Addr) internet.Protocol { return &daytime{loop: f.loop} }

type daytime struct {
	internet.BaseProtocol
	loop *reactor.Reactor
}

func (d *daytime) ConnectionMade(t internet.Transport) {
	t.Write([]byte(d.loop.Now().UTC().Format(time.ANSIC) + "\r\n"))
	t.LoseConnection()
}
