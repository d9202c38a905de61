package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	twistrpc "github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/mongowire"
)

// The servers Serve runs, one per process.
const (
	ServerTwist  = "twist"  // Twist's framed and MongoDB wire servers on a loop group
	ServerNetRPC = "netrpc" // net/rpc with gob
	ServerGRPC   = "grpc"   // gRPC-go unary
)

// The listeners a server announces: which protocol is served where.
const (
	listenFramed = "framed"
	listenMongo  = "mongo"
	listenNetRPC = "netrpc"
	listenGRPC   = "grpc"
)

// Serve runs the server called name on 127.0.0.1 and talks to the harness
// over in and out, a line protocol: the server writes "listen PROTO ADDR"
// for each listener and then "ready"; each "cpu" line read is answered with
// "cpu USER SYS", the process's user and system CPU time so far in
// nanoseconds (getrusage(RUSAGE_SELF)), and each "goroutines" line with
// "goroutines N", its number of goroutines. Serve returns when in ends. With a non-empty
// profile path it writes a CPU profile of its whole life there.
func Serve(name string, in io.Reader, out io.Writer, profile string) error {
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	serve, ok := servers[name]
	if !ok {
		return fmt.Errorf("bench: no server named %q", name)
	}
	addrs, stop, err := serve()
	if err != nil {
		return err
	}
	defer stop()
	w := bufio.NewWriter(out)
	for proto, addr := range addrs {
		fmt.Fprintln(w, "listen", proto, addr)
	}
	fmt.Fprintln(w, "ready")
	if err := w.Flush(); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch sc.Text() {
		case "goroutines":
			fmt.Fprintf(w, "goroutines %d\n", runtime.NumGoroutine())
			if err := w.Flush(); err != nil {
				return err
			}
			continue
		case "cpu":
		default:
			return fmt.Errorf("bench: unknown command %q", sc.Text())
		}
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return err
		}
		fmt.Fprintf(w, "cpu %d %d\n", ru.Utime.Nano(), ru.Stime.Nano())
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return sc.Err()
}

func add(a, b int) int { return a + b }

// A serveFunc starts a server on 127.0.0.1 and returns the addresses of its
// listeners by protocol, and what stops it.
type serveFunc func() (map[string]string, func(), error)

// servers are the servers by name.
var servers = map[string]serveFunc{
	ServerTwist:  serveTwist,
	ServerNetRPC: serveNetRPC,
	ServerGRPC:   serveGRPC,
}

// serveTwist serves add over the framed protocol and the MongoDB wire
// protocol.
func serveTwist() (map[string]string, func(), error) {
	s := twistrpc.NewServer()
	if err := s.Register("add", add); err != nil {
		return nil, nil, err
	}
	framed, mongo, stop, err := startTwist(s)
	if err != nil {
		return nil, nil, err
	}
	return map[string]string{listenFramed: framed.String(), listenMongo: mongo.String()}, stop, nil
}

// startTwist serves s over the framed protocol and the MongoDB wire
// protocol on 127.0.0.1, both on one running group of loops, one per CPU,
// and returns their addresses and what stops the group.
func startTwist(s *twistrpc.Server) (framed, mongo net.Addr, stop func(), err error) {
	g, err := reactor.NewGroup(0)
	if err != nil {
		return nil, nil, nil, err
	}
	fp, err := internet.ListenTCPGroup(g, "127.0.0.1:0", s.Factory())
	if err != nil {
		return nil, nil, nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mp, err := internet.ListenTCPGroup(g, "127.0.0.1:0", mongowire.NewServer(s, mongowire.WithLogger(quiet)))
	if err != nil {
		return nil, nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	return fp.Addr(), mp.Addr(), func() { g.Stop(); <-done }, nil
}

// Arith is the net/rpc service: Arith.Add.
type Arith struct{}

// Args are the arguments of Arith.Add.
type Args struct{ A, B int }

// Add sets reply to a + b.
func (Arith) Add(args *Args, reply *int) error {
	*reply = add(args.A, args.B)
	return nil
}

// serveNetRPC serves Arith.Add with net/rpc's gob codec, a goroutine per
// connection as net/rpc does.
func serveNetRPC() (map[string]string, func(), error) {
	s := rpc.NewServer()
	if err := s.Register(Arith{}); err != nil {
		return nil, nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	// s.Accept would log the error that ends it when l closes.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.ServeConn(c)
		}
	}()
	return map[string]string{listenNetRPC: l.Addr().String()}, func() { l.Close() }, nil
}

// The gRPC service is declared by hand, as protoc-gen-go-grpc would: the
// request is a google.protobuf.ListValue of the two numbers, the reply a
// google.protobuf.Int64Value, both generated well-known types encoded by
// gRPC's default proto codec, so the cost is that of ordinary generated
// messages.
const grpcAddMethod = "/bench.Calc/Add"

// calcServer is the interface of the service's implementation.
type calcServer interface {
	Add(context.Context, *structpb.ListValue) (*wrapperspb.Int64Value, error)
}

type calc struct{}

func (calc) Add(_ context.Context, req *structpb.ListValue) (*wrapperspb.Int64Value, error) {
	v := req.GetValues()
	if len(v) != 2 {
		return nil, errors.New("add takes 2 numbers")
	}
	return wrapperspb.Int64(int64(add(int(v[0].GetNumberValue()), int(v[1].GetNumberValue())))), nil
}

var calcDesc = grpc.ServiceDesc{
	ServiceName: "bench.Calc",
	HandlerType: (*calcServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Add",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			req := new(structpb.ListValue)
			if err := dec(req); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return srv.(calcServer).Add(ctx, req)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: grpcAddMethod}
			return interceptor(ctx, req, info, func(ctx context.Context, req any) (any, error) {
				return srv.(calcServer).Add(ctx, req.(*structpb.ListValue))
			})
		},
	}},
}

// serveGRPC serves bench.Calc/Add with gRPC-go's defaults.
func serveGRPC() (map[string]string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	s := grpc.NewServer()
	s.RegisterService(&calcDesc, calc{})
	go s.Serve(l)
	return map[string]string{listenGRPC: l.Addr().String()}, s.Stop, nil
}

// serverProcess is a server started by the harness in another process.
type serverProcess struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	addrs map[string]string
}

var errNoReady = errors.New("bench: server ended before it was ready")

// startServer starts cmd, a server that runs Serve, and waits until it is
// ready.
func startServer(cmd *exec.Cmd) (*serverProcess, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProcess{cmd: cmd, in: in, out: bufio.NewScanner(out), addrs: map[string]string{}}
	for {
		if !p.out.Scan() {
			p.close()
			return nil, errNoReady
		}
		var proto, addr string
		if n, _ := fmt.Sscanf(p.out.Text(), "listen %s %s", &proto, &addr); n == 2 {
			p.addrs[proto] = addr
			continue
		}
		if p.out.Text() == "ready" {
			return p, nil
		}
		p.close()
		return nil, fmt.Errorf("bench: server said %q", p.out.Text())
	}
}

// cpuTimes are a process's user and system CPU time.
type cpuTimes struct{ user, sys time.Duration }

// cpu returns the server's CPU time so far.
func (p *serverProcess) cpu() (cpuTimes, error) {
	if _, err := io.WriteString(p.in, "cpu\n"); err != nil {
		return cpuTimes{}, err
	}
	if !p.out.Scan() {
		return cpuTimes{}, errNoReady
	}
	var t cpuTimes
	if _, err := fmt.Sscanf(p.out.Text(), "cpu %d %d", &t.user, &t.sys); err != nil {
		return cpuTimes{}, fmt.Errorf("bench: server said %q: %v", p.out.Text(), err)
	}
	return t, nil
}

// goroutines returns the server's number of goroutines.
func (p *serverProcess) goroutines() (int, error) {
	if _, err := io.WriteString(p.in, "goroutines\n"); err != nil {
		return 0, err
	}
	if !p.out.Scan() {
		return 0, errNoReady
	}
	var n int
	if _, err := fmt.Sscanf(p.out.Text(), "goroutines %d", &n); err != nil {
		return 0, fmt.Errorf("bench: server said %q: %v", p.out.Text(), err)
	}
	return n, nil
}

// close ends the server by closing its input and waits for it.
func (p *serverProcess) close() error {
	p.in.Close()
	return p.cmd.Wait()
}
