package plugins

import (
	"errors"
	"flag"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/protocols/portforward"
	"github.com/twistgo/twist/protocols/wire"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

// The simple services of package wire.
var (
	Echo = tcpPlugin("echo", "a TCP echo server (RFC 862)", 8007,
		func(*reactor.Reactor) internet.Factory { return wire.EchoFactory })
	Discard = tcpPlugin("discard", "a TCP discard server (RFC 863)", 8009,
		func(*reactor.Reactor) internet.Factory { return wire.DiscardFactory })
	Daytime = tcpPlugin("daytime", "a TCP daytime server (RFC 867)", 8013,
		func(loop *reactor.Reactor) internet.Factory { return &wire.DaytimeFactory{Clock: loop} })
)

// FastPoetry serves a poem at once, the Twisted introduction's fastpoetry.
var FastPoetry = twistd.ServiceMaker{
	Name:        "fastpoetry",
	Description: "a poetry server that sends the whole poem at once (the Twisted intro's fastpoetry)",
	Flags: func(fs *flag.FlagSet) twistd.MakeService {
		sf := AddServerFlags(fs, 10000, "")
		poemFile := fs.String("poem", "", "file with the poem to serve; Shakespeare's Sonnet 18 by default")
		return func(loop *reactor.Reactor) (service.Service, error) {
			text, err := readPoem(*poemFile)
			if err != nil {
				return nil, err
			}
			return sf.Service(loop, &poetry.ServerFactory{Poem: text, Log: poetryLog()})
		}
	},
}

// SlowPoetry serves a poem a few bytes at a time, the Twisted
// introduction's slowpoetry.
var SlowPoetry = twistd.ServiceMaker{
	Name:        "slowpoetry",
	Description: "a poetry server that sends the poem a few bytes at a time (the Twisted intro's slowpoetry)",
	Flags: func(fs *flag.FlagSet) twistd.MakeService {
		sf := AddServerFlags(fs, 10001, "")
		poemFile := fs.String("poem", "", "file with the poem to serve; Shakespeare's Sonnet 18 by default")
		numBytes := fs.Int("num-bytes", 10, "bytes to send at a time")
		delay := fs.Float64("delay", 0.1, "seconds between sends")
		return func(loop *reactor.Reactor) (service.Service, error) {
			if *numBytes <= 0 || *delay < 0 {
				return nil, errors.New("slowpoetry: --num-bytes must be positive and --delay not negative")
			}
			text, err := readPoem(*poemFile)
			if err != nil {
				return nil, err
			}
			d := time.Duration(*delay * float64(time.Second))
			return sf.Service(loop, &poetry.ServerFactory{Poem: text, Clock: loop, Chunk: *numBytes, Delay: d, Log: poetryLog()})
		}
	},
}

// readPoem returns the poem in file, or the built-in one for "".
func readPoem(file string) ([]byte, error) {
	if file == "" {
		return poetry.Sonnet18, nil
	}
	return os.ReadFile(file)
}

// poetryLog logs the poetry server's lines with the system "PoetryFactory",
// as the Twisted introduction's do.
func poetryLog() *logWriter {
	return &logWriter{slog.Default().With(twistd.System("PoetryFactory"))}
}

// logWriter logs each line written to it.
type logWriter struct{ l *slog.Logger }

func (w *logWriter) Write(b []byte) (int, error) {
	w.l.Info(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// PortForward forwards connections to --dest.
var PortForward = twistd.ServiceMaker{
	Name:        "portforward",
	Description: "a TCP port forwarder (Twisted's portforward)",
	Flags: func(fs *flag.FlagSet) twistd.MakeService {
		sf := AddServerFlags(fs, 8080, "127.0.0.1")
		dest := fs.String("dest", "", "host:port to forward connections to (required)")
		return func(loop *reactor.Reactor) (service.Service, error) {
			if _, _, err := net.SplitHostPort(*dest); err != nil {
				return nil, errors.New("portforward: --dest host:port is required")
			}
			return sf.Service(loop, &portforward.Factory{Loop: loop, Dest: *dest})
		}
	},
}
