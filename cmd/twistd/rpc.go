package main

import (
	"flag"
	"net"
	"strconv"

	"github.com/twistgo/twist/internal/rpcdemo"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/mongowire"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

// The names of the rpc plugin's two servers within its MultiService.
const (
	rpcFramedName = "framed"
	rpcMongoName  = "mongo"
)

func init() {
	twistd.Register(twistd.ServiceMaker{
		Name: "rpc",
		Description: "the demo RPC functions (add, echo, sleep, poetry.get, cummingsify, fail) " +
			"over Twist's framed protocol and the MongoDB wire protocol",
		Flags: func(fs *flag.FlagSet) twistd.MakeService {
			addr := listenFlags(fs, 9000)
			mongoPort := fs.Int("mongo-port", 27017, "TCP port of the MongoDB wire protocol; -1 turns it off, 0 lets the system choose")
			maxSize := fs.Int("max-message-size", 16<<20, "largest framed message accepted, in bytes")
			timeout := fs.Duration("call-timeout", 0, "time limit of a call; 0 for none")
			return func(loop *reactor.Reactor) (service.Service, error) {
				opts := []rpc.ServerOption{rpc.WithName("twistd rpc", "0.1.0"), rpc.WithMaxMessageSize(*maxSize)}
				if *timeout > 0 {
					opts = append(opts, rpc.WithCallTimeout(*timeout))
				}
				srv := rpc.NewServer(opts...)
				if err := rpcdemo.Register(srv, loop); err != nil {
					return nil, err
				}
				ms := service.NewMultiService()
				framed := service.TCPServer(loop, addr(), srv.Factory())
				if err := addNamed(ms, framed, rpcFramedName); err != nil {
					return nil, err
				}
				if *mongoPort >= 0 {
					host, _, _ := net.SplitHostPort(addr())
					mongo := service.TCPServer(loop, net.JoinHostPort(host, strconv.Itoa(*mongoPort)), mongowire.NewServer(srv))
					if err := addNamed(ms, mongo, rpcMongoName); err != nil {
						return nil, err
					}
				}
				return ms, nil
			}
		},
	})
}

// addNamed names s and adds it to ms.
func addNamed(ms *service.MultiService, s *service.StreamServer, name string) error {
	if err := s.SetName(name); err != nil {
		return err
	}
	return ms.AddService(s)
}
