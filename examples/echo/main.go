package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// echo writes back what it reads. The data is the loop's read buffer;
// Write sends it at once, or copies what the socket does not take.
type echo struct{ internet.BaseProtocol }

func (e *echo) DataReceived(data []byte) { _, _ = e.Transport.Write(data) }

func main() {
	port := flag.Int("port", 8000, "TCP port to listen on")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	loops := flag.Int("loops", 0, "event loops (0: one per CPU)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}

	g, err := reactor.NewGroup(*loops)
	if err != nil {
		log.Fatal(err)
	}
	addr := net.JoinHostPort(*host, fmt.Sprint(*port))
	gp, err := internet.ListenTCPGroup(g, addr, internet.FactoryFunc(func(net.Addr) internet.Protocol {
		return &echo{}
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("echo: listening on %v with %d loops\n", gp.Addr(), len(g.Loops()))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		g.Stop()
	}()
	if err := g.Run(); err != nil {
		log.Fatal(err)
	}
}
