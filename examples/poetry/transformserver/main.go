package main

import (
	"flag"
	"log"
	"os"

	"github.com/twistgo/twist/examples/poetry/internal/serve"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
)

func main() {
	addr := serve.ListenFlags(11000)
	flag.Parse()
	err := serve.Serve(addr(), "transforms", func(internet.Net) internet.Factory {
		return &poetry.TransformFactory{Log: os.Stdout}
	})
	if err != nil {
		log.Fatal(err)
	}
}
