package main

import (
	"flag"
	"log"
	"os"

	"github.com/twistgo/twist/examples/poetry/internal/poetry"
	"github.com/twistgo/twist/internet"
)

func main() {
	addr := poetry.ListenFlags(11000)
	flag.Parse()
	err := poetry.Serve(addr(), "transforms", func(internet.Net) internet.Factory {
		return &poetry.TransformFactory{Log: os.Stdout}
	})
	if err != nil {
		log.Fatal(err)
	}
}
