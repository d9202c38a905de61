package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// pinger sends its message and sends it again each time it has all come
// back.
type pinger struct {
	internet.BaseProtocol
	msg   []byte
	got   int
	count *int
}

func (p *pinger) ConnectionMade(t internet.Transport) {
	p.Transport = t
	_, _ = t.Write(p.msg)
}

func (p *pinger) DataReceived(data []byte) {
	p.got += len(data)
	for p.got >= len(p.msg) {
		p.got -= len(p.msg)
		*p.count++
		_, _ = p.Transport.Write(p.msg)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "echo server address (loopback only)")
	conns := flag.Int("conns", 50, "connections, each with one message in flight")
	size := flag.Int("size", 64, "message size in bytes")
	duration := flag.Duration("duration", 10*time.Second, "how long to measure")
	idle := flag.Int("idle", 0, "open this many idle connections instead, and hold them")
	hold := flag.Duration("hold", 10*time.Second, "how long to hold the idle connections")
	pid := flag.Int("pid", 0, "the server's process id: report its CPU time per message (Linux)")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("echoload: %q: only loopback addresses are allowed", *addr)
	}
	loop, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	failed := func(_ internet.Connector, reason error) {
		log.Print("echoload: ", reason)
		_ = loop.Stop()
	}
	if *idle > 0 {
		holdIdle(loop, *addr, *idle, *hold, failed)
		return
	}
	count := 0
	msg := make([]byte, *size)
	f := &factory{build: func() internet.Protocol { return &pinger{msg: msg, count: &count} }, failed: failed}
	var start time.Time
	var cpu0 cpuTimes
	loop.CallWhenRunning(func() {
		for range *conns {
			internet.ConnectTCP(loop, *addr, f)
		}
		// Warm up for a second, then count.
		loop.CallLater(time.Second, func() {
			count, start = 0, time.Now()
			cpu0 = readCPU(*pid)
			loop.CallLater(*duration, func() {
				elapsed := time.Since(start)
				fmt.Printf("echoload: %d connections, %d-byte messages: %d messages in %v: %.0f messages/s\n",
					*conns, *size, count, elapsed.Round(time.Millisecond), float64(count)/elapsed.Seconds())
				if *pid > 0 {
					cpu := readCPU(*pid)
					fmt.Printf("echoload: server user CPU %.0f ns/message, system CPU %.0f ns/message\n",
						float64(cpu.user-cpu0.user)/float64(count), float64(cpu.sys-cpu0.sys)/float64(count))
				}
				_ = loop.Stop()
			})
		})
	})
	if err := loop.Run(); err != nil {
		log.Fatal(err)
	}
}

// holdIdle opens n connections that send nothing, holds them, and closes.
func holdIdle(loop *reactor.Reactor, addr string, n int, hold time.Duration, failed func(internet.Connector, error)) {
	made := 0
	f := &factory{failed: failed}
	f.build = func() internet.Protocol {
		if made++; made == n {
			fmt.Printf("echoload: %d idle connections open; holding them for %v\n", n, hold)
			loop.CallLater(hold, func() { _ = loop.Stop() })
		}
		return &internet.BaseProtocol{}
	}
	var next func(left int)
	next = func(left int) {
		// In batches, to stay within the server's backlog.
		for range min(left, 100) {
			internet.ConnectTCP(loop, addr, f)
		}
		if left > 100 {
			loop.CallLater(time.Millisecond, func() { next(left - 100) })
		}
	}
	loop.CallWhenRunning(func() { next(n) })
	if err := loop.Run(); err != nil {
		log.Fatal(err)
	}
}

type factory struct {
	internet.BaseClientFactory
	build  func() internet.Protocol
	failed func(internet.Connector, error)
}

func (f *factory) BuildProtocol(net.Addr) internet.Protocol { return f.build() }

func (f *factory) ClientConnectionFailed(c internet.Connector, reason error) { f.failed(c, reason) }

// cpuTimes are a process's user and system CPU times, in nanoseconds.
type cpuTimes struct{ user, sys int64 }

// readCPU reads the CPU times of process pid from /proc/pid/stat, whose
// 14th and 15th fields count clock ticks (USER_HZ, 100 on Linux).
func readCPU(pid int) cpuTimes {
	if pid <= 0 {
		return cpuTimes{}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	// The command name, field 2, may hold spaces: count from its end.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	user, _ := strconv.ParseInt(fields[11], 10, 64)
	sys, _ := strconv.ParseInt(fields[12], 10, 64)
	const tick = int64(time.Second / 100)
	return cpuTimes{user * tick, sys * tick}
}
