package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/twistgo/twist/examples/poetry/internal/serve"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
)

func main() {
	addr := serve.ListenFlags(10000)
	flag.Parse()
	if flag.NArg() > 1 {
		fmt.Fprintln(os.Stderr, "usage: fastserver [--port N] [--iface HOST] [poem-file]")
		os.Exit(2)
	}
	text, err := serve.ReadPoem(flag.Arg(0), poetry.Tyger)
	if err != nil {
		log.Fatal(err)
	}
	err = serve.Serve(addr(), "a fast poem", func(internet.Net) internet.Factory {
		return &poetry.ServerFactory{Poem: text, Log: os.Stdout}
	})
	if err != nil {
		log.Fatal(err)
	}
}
