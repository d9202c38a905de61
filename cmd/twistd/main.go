package main

import (
	"github.com/twistgo/twist/twistd"
	"github.com/twistgo/twist/twistd/plugins"
)

func main() {
	plugins.RegisterAll()
	twistd.Main()
}
