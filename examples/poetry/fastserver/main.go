package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/twistgo/twist/cmd/twistd/poem"
	"github.com/twistgo/twist/examples/poetry/internal/poetry"
	"github.com/twistgo/twist/internet"
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
	err = poetry.Serve(addr(), "a fast poem", func(internet.Net) internet.Factory {
		return &poetry.ServerFactory{Poem: text, Log: os.Stdout}
	})
	if err != nil {
		log.Fatal(err)
	}
}
