package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/twistgo/twist/examples/poetry/internal/serve"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
)

func main() {
	addr := serve.ListenFlags(10001)
	numBytes := flag.Int("num-bytes", 10, "how many bytes to send at a time")
	delay := flag.Float64("delay", 0.1, "seconds to wait between sends")
	flag.Parse()
	if *numBytes <= 0 || *delay < 0 || flag.NArg() > 1 {
		fmt.Fprintln(os.Stderr, "usage: slowserver [--port N] [--iface HOST] [--num-bytes N>0] [--delay SECONDS>=0] [poem-file]")
		os.Exit(2)
	}
	text, err := serve.ReadPoem(flag.Arg(0), poetry.Sonnet18)
	if err != nil {
		log.Fatal(err)
	}
	d := time.Duration(*delay * float64(time.Second))
	err = serve.Serve(addr(), "a slow poem", func(n internet.Net) internet.Factory {
		return slowFactory(n, text, *numBytes, d, os.Stdout)
	})
	if err != nil {
		log.Fatal(err)
	}
}

// slowFactory serves text chunk bytes every delay on n's clock, logging each
// send to log as the intro's server does.
func slowFactory(n internet.Net, text []byte, chunk int, delay time.Duration, log io.Writer) *poetry.ServerFactory {
	return &poetry.ServerFactory{Poem: text, Clock: n, Chunk: chunk, Delay: delay, Log: log}
}
