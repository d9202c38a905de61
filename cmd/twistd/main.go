package main

import (
	"github.com/twistgo/twist/twistd"
	"github.com/twistgo/twist/twistd/plugins"
	_ "github.com/twistgo/twist/web/webplugin"
)

func main() {
	plugins.RegisterAll()
	twistd.SetStatusPage(plugins.Status)
	twistd.Main()
}
