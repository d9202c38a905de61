// Command fastserver is the Twisted introduction's fast poetry server: it
// sends its whole poem to each client at once and closes the connection.
//
//	go run ./examples/poetry/fastserver [--port 10000] [--iface localhost] [poem-file]
//
// Without a file it serves Blake's The Tyger.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/twistgo/twist/cmd/twistd/poem"
	"github.com/twistgo/twist/examples/poetry/internal/poetry"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/twisttest"
)

func main() {
	addr := poetry.ListenFlags(10000)
	flag.Parse()
	if flag.NArg() > 1 {
		fmt.Fprintln(os.Stderr, "usage: fastserver [--port N] [--iface HOST] [poem-file]")
		os.Exit(2)
	}
	text, err := poetry.ReadPoem(flag.Arg(0), poem.Tyger)
	if err != nil {
		log.Fatal(err)
	}
	err = poetry.Serve(addr(), "a fast poem", func(twisttest.Net) internet.Factory {
		return &poetry.ServerFactory{Poem: text, Log: os.Stdout}
	})
	if err != nil {
		log.Fatal(err)
	}
}
