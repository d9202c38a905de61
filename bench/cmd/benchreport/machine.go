package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// machine is what the report says of where and with what it ran.
type machine struct {
	date                  time.Time
	cpus                  int
	cpuModel, kernel, goV string
	// peers are the peers' module versions, "path version".
	peers []string
	// tools are the foreign programs' versions.
	tools              []string
	loadStart, loadEnd string
	elapsed            time.Duration
}

// peerModules are the modules whose versions the report gives.
var peerModules = []string{
	"github.com/panjf2000/gnet/v2",
	"github.com/lesismal/nbio",
	"github.com/valyala/fasthttp",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"go.mongodb.org/mongo-driver/v2",
	"github.com/gocolly/colly/v2",
}

// describeMachine reads the machine's description, and the peers'
// versions from the harnesses built in bin.
func describeMachine(bin string) machine {
	m := machine{date: time.Now().UTC(), cpus: runtime.NumCPU(), goV: runtime.Version(), loadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpuModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	for _, h := range []string{"echobench", "rpcbench", "httpbench", "crawlbench"} {
		out, err := exec.Command("go", "version", "-m", filepath.Join(bin, h)).Output()
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 3 && f[0] == "dep" && slices.Contains(peerModules, f[1]) {
				if p := f[1] + " " + f[2]; !slices.Contains(m.peers, p) {
					m.peers = append(m.peers, p)
				}
			}
		}
	}
	slices.Sort(m.peers)
	// wrk -v prints its version and exits with status 1.
	if out, _ := exec.Command("wrk", "-v").CombinedOutput(); bytes.HasPrefix(out, []byte("wrk ")) {
		m.tools = append(m.tools, strings.Join(strings.Fields(string(out))[:2], " "))
	}
	// scrapy version prints "Scrapy 2.8.0".
	if out, err := exec.Command("scrapy", "version").Output(); err == nil && bytes.HasPrefix(out, []byte("Scrapy ")) {
		m.tools = append(m.tools, strings.TrimSpace(string(out)))
	}
	return m
}

// loadAverage returns the machine's load averages over 1, 5 and 15
// minutes.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
