package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// The TLS echo servers: Twist's on one loop, and the goroutine-per-connection
// server of crypto/tls with a 4 KiB read buffer per connection (the size of
// net/http's bufio.Reader).
const (
	ServerTLSTwist = "tls-twist"
	ServerTLSNet   = "tls-net"
)

func init() {
	servers[ServerTLSTwist] = serveTLSTwist
	servers[ServerTLSNet] = serveTLSNet
}

// tlsServerConfig is the servers' configuration: a fresh self-signed ECDSA
// P-256 certificate, TLS 1.3, crypto/tls's default key exchanges.
func tlsServerConfig() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bench.test"},
		DNSNames:     []string{"bench.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}, nil
}

// serveTLSTwist serves echoProtocol over ListenTLS on one loop.
func serveTLSTwist() (map[string]string, func(), error) {
	cfg, err := tlsServerConfig()
	if err != nil {
		return nil, nil, err
	}
	loop, err := reactor.New()
	if err != nil {
		return nil, nil, err
	}
	port, err := internet.ListenTLS(loop, "127.0.0.1:0", cfg, internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &echoProtocol{}
	}))
	if err != nil {
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()
	return map[string]string{listenEcho: port.Addr().String()}, func() { _ = loop.Stop(); <-done }, nil
}

// serveTLSNet serves an echo with crypto/tls and a goroutine per connection.
func serveTLSNet() (map[string]string, func(), error) {
	cfg, err := tlsServerConfig()
	if err != nil {
		return nil, nil, err
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		return nil, nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return map[string]string{listenEcho: l.Addr().String()}, func() { l.Close() }, nil
}

// The steps of a TLS round, each with a fresh server process.
const (
	TLSStepEcho       = "echo"       // the echo load
	TLSStepIdle       = "idle"       // the idle connections
	TLSStepHandshakes = "handshakes" // the handshakes
)

// TLSConfig says what RunTLS measures and how.
type TLSConfig struct {
	// Warmup is how long each load runs before it is measured, and
	// Duration how long it is measured.
	Warmup, Duration time.Duration
	// Rounds is how many times each server is measured; the servers
	// alternate within each round.
	Rounds int
	// Conns is the number of connections that each keep one EchoSize
	// message in flight.
	Conns int
	// Idle is the number of idle connections the memory is measured with,
	// after a handshake and one echo each, held for Settle.
	Idle   int
	Settle time.Duration
	// Handshakers is the number of client goroutines that each do one
	// full handshake after the other (no resumption) for the handshake
	// figure.
	Handshakers int
	// Filter, if not nil, selects the servers by name.
	Filter *regexp.Regexp
	// Command returns the command that runs the named server for one
	// step of a round: step is the step's name and the round's number
	// (from 1), as in "echo.2" (TLSStepEcho, TLSStepIdle and
	// TLSStepHandshakes), so that, for example, each process can write a
	// profile of its own.
	Command func(server, step string) *exec.Cmd
	// Log, if not nil, is told of each measurement as it starts.
	Log io.Writer
}

// TLSResult is what RunTLS measured of one server, each figure the median
// of the rounds'.
type TLSResult struct {
	Server string
	// MessagesPerSecond, and UserPerMessage and SysPerMessage, the
	// server's CPU time per echoed message in nanoseconds.
	MessagesPerSecond             float64
	UserPerMessage, SysPerMessage float64
	// RSSPerConn is the server's resident set growth per idle connection,
	// in bytes, and GoroutinesPerConn the growth of its goroutine count.
	RSSPerConn, GoroutinesPerConn float64
	// HandshakesPerSecond, and CPUPerHandshake, the server's user and
	// system CPU time per handshake in nanoseconds.
	HandshakesPerSecond, CPUPerHandshake float64
}

// tlsClientConfig is the clients' configuration: TLS 1.3, no session
// cache (every handshake is a full one). The certificate is not verified:
// the bench measures the server.
var tlsClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, ServerName: "bench.test"}

// RunTLS measures the TLS echo servers that cfg selects, alternating them
// within each round, and returns the medians, Twist's first.
func RunTLS(cfg TLSConfig) ([]TLSResult, error) {
	var names []string
	for _, n := range []string{ServerTLSTwist, ServerTLSNet} {
		if cfg.Filter == nil || cfg.Filter.MatchString(n) {
			names = append(names, n)
		}
	}
	rounds := make([][]TLSResult, len(names))
	for round := range max(cfg.Rounds, 1) {
		for i, name := range names {
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "round %d: %s...\n", round+1, name)
			}
			r, err := measureTLS(cfg, name, round+1)
			if err != nil {
				return nil, fmt.Errorf("bench: %s: %w", name, err)
			}
			rounds[i] = append(rounds[i], r)
		}
	}
	results := make([]TLSResult, len(names))
	for i, rs := range rounds {
		m := func(f func(TLSResult) float64) float64 {
			v := make([]float64, len(rs))
			for j, r := range rs {
				v[j] = f(r)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		results[i] = TLSResult{
			Server:              names[i],
			MessagesPerSecond:   m(func(r TLSResult) float64 { return r.MessagesPerSecond }),
			UserPerMessage:      m(func(r TLSResult) float64 { return r.UserPerMessage }),
			SysPerMessage:       m(func(r TLSResult) float64 { return r.SysPerMessage }),
			RSSPerConn:          m(func(r TLSResult) float64 { return r.RSSPerConn }),
			GoroutinesPerConn:   m(func(r TLSResult) float64 { return r.GoroutinesPerConn }),
			HandshakesPerSecond: m(func(r TLSResult) float64 { return r.HandshakesPerSecond }),
			CPUPerHandshake:     m(func(r TLSResult) float64 { return r.CPUPerHandshake }),
		}
	}
	return results, nil
}

// measureTLS runs round (from 1) of the server name: the echo load, the
// idle connections and the handshakes, each with a fresh server process.
func measureTLS(cfg TLSConfig, name string, round int) (TLSResult, error) {
	r := TLSResult{Server: name}
	steps := []struct {
		name string
		on   bool
		run  func(*serverProcess) error
	}{
		{TLSStepEcho, cfg.Conns > 0, func(p *serverProcess) error { return tlsEchoLoad(cfg, p, &r) }},
		{TLSStepIdle, cfg.Idle > 0, func(p *serverProcess) (err error) {
			r.RSSPerConn, r.GoroutinesPerConn, err = idleGrowth(p, cfg.Idle, cfg.Settle, dialTLSEchoed)
			return err
		}},
		{TLSStepHandshakes, cfg.Handshakers > 0, func(p *serverProcess) error { return tlsHandshakes(cfg, p, &r) }},
	}
	for _, s := range steps {
		if !s.on {
			continue
		}
		if err := withServer(cfg.Command(name, fmt.Sprintf("%s.%d", s.name, round)), s.run); err != nil {
			return r, err
		}
	}
	return r, nil
}

// dialTLS opens n TLS connections to addr, handshakes done.
func dialTLS(addr string, n int) ([]net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return dialConcurrently(n, func() (net.Conn, error) { return tls.DialWithDialer(d, "tcp", addr, tlsClientConfig) })
}

// tlsEchoLoad keeps one message in flight on each of cfg.Conns TLS
// connections and sets r's per-message figures.
func tlsEchoLoad(cfg TLSConfig, p *serverProcess, r *TLSResult) error {
	conns, err := dialTLS(p.addrs[listenEcho], cfg.Conns)
	if err != nil {
		return err
	}
	defer closeConns(conns)
	r.MessagesPerSecond, r.UserPerMessage, r.SysPerMessage, err = pingPongLoad(p, conns, EchoSize, 1, cfg.Warmup, cfg.Duration)
	return err
}

// dialTLSEchoed opens n TLS connections to addr that each echo one
// message, so that the server has done all it does for a connection before
// it idles.
func dialTLSEchoed(addr string, n int) ([]net.Conn, error) {
	conns, err := dialTLS(addr, n)
	if err != nil {
		return nil, err
	}
	msg, buf := make([]byte, EchoSize), make([]byte, EchoSize)
	for _, c := range conns {
		if _, err := c.Write(msg); err != nil {
			closeConns(conns)
			return nil, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			closeConns(conns)
			return nil, err
		}
	}
	return conns, nil
}

// tlsHandshakes runs cfg.Handshakers clients that each handshake and close,
// again and again, and sets r's handshake figures.
func tlsHandshakes(cfg TLSConfig, p *serverProcess, r *TLSResult) error {
	addr := p.addrs[listenEcho]
	from := time.Now().Add(cfg.Warmup)
	until := from.Add(cfg.Duration)
	counts := make([]int, cfg.Handshakers)
	errs := make([]error, cfg.Handshakers)
	var wg sync.WaitGroup
	for i := range cfg.Handshakers {
		wg.Go(func() {
			d := &net.Dialer{Timeout: 10 * time.Second}
			for {
				c, err := tls.DialWithDialer(d, "tcp", addr, tlsClientConfig)
				if err != nil {
					errs[i] = err
					return
				}
				c.Close()
				now := time.Now()
				if !now.Before(until) {
					return
				}
				if !now.Before(from) {
					counts[i]++
				}
			}
		})
	}
	time.Sleep(time.Until(from))
	cpu0, err0 := p.cpu()
	time.Sleep(time.Until(until))
	cpu1, err1 := p.cpu()
	wg.Wait()
	if err := errors.Join(append(errs, err0, err1)...); err != nil {
		return err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return errors.New("no handshake in the window")
	}
	r.HandshakesPerSecond = float64(n) / cfg.Duration.Seconds()
	r.CPUPerHandshake = float64((cpu1.user + cpu1.sys - cpu0.user - cpu0.sys).Nanoseconds()) / float64(n)
	return nil
}

// WriteTLSTable writes results as a table, then Twist's figures as ratios
// to the goroutine server's. It returns w's first error.
func WriteTLSTable(w io.Writer, results []TLSResult) error {
	ew := &errWriter{w: w}
	w = ew
	const row = "%-10s %9s %12s %11s %14s %11s %12s %14s\n"
	fmt.Fprintf(w, row, "server", "msgs/s", "user ns/msg", "sys ns/msg", "idle KiB/conn", "gor./conn", "handshakes/s", "CPU µs/hshake")
	for _, r := range results {
		fmt.Fprintf(w, row, r.Server, fmt.Sprintf("%.0f", r.MessagesPerSecond), fmt.Sprintf("%.0f", r.UserPerMessage),
			fmt.Sprintf("%.0f", r.SysPerMessage), fmt.Sprintf("%.2f", r.RSSPerConn/1024), fmt.Sprintf("%.3f", r.GoroutinesPerConn),
			fmt.Sprintf("%.0f", r.HandshakesPerSecond), fmt.Sprintf("%.0f", r.CPUPerHandshake/1000))
	}
	var twist, peer *TLSResult
	for i := range results {
		switch results[i].Server {
		case ServerTLSTwist:
			twist = &results[i]
		case ServerTLSNet:
			peer = &results[i]
		}
	}
	if twist != nil && peer != nil {
		fmt.Fprintf(w, "twist/net: user+sys CPU per message %s (user %s), idle memory %s, CPU per handshake %s\n",
			ratio(twist.UserPerMessage+twist.SysPerMessage, peer.UserPerMessage+peer.SysPerMessage),
			ratio(twist.UserPerMessage, peer.UserPerMessage), ratio(twist.RSSPerConn, peer.RSSPerConn),
			ratio(twist.CPUPerHandshake, peer.CPUPerHandshake))
	}
	return ew.err
}
