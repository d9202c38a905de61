// Package webplugin is twistd's web plugin: `twistd -n web --path DIR`
// serves a directory over HTTP as Twisted's `twistd web --path` does.
// Importing the package registers the plugin:
//
//	import _ "github.com/twistgo/twist/web/webplugin"
package webplugin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
	"github.com/twistgo/twist/twistd/plugins"
	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/static"
)

// DefaultPort is the web plugin's default --port (Twisted's tcp:8080).
const DefaultPort = 8080

// Web is the plugin: a static.File site over --path, with the server
// flags every plugin has (--port, --interface, --listen endpoints such as
// ssl:8443:privateKey=key.pem, time-outs, connection caps) and the HTTP
// limits of web.Limits.
var Web = twistd.ServiceMaker{
	Name:        "web",
	Description: "an HTTP/1.1 server of a directory's files (twisted.web's static.File)",
	Flags: func(fs *flag.FlagSet) twistd.MakeService {
		sf := plugins.AddServerFlags(fs, DefaultPort, "")
		path := fs.String("path", "", "serve the files of this `directory` (or this one file)")
		logfile := fs.String("logfile", "", "write an access log in the combined format to this `file` (\"-\": standard output); none if empty")
		var index names
		fs.Var(&index, "index", "a `name` tried for a directory's page (repeatable; default index.html and index.htm)")
		listing := fs.Bool("listing", true, "list directories that have no index page (else 403)")
		var lim web.Limits
		fs.Int64Var(&lim.MaxBodySize, "max-body", web.DefaultMaxBodySize, "largest request body in `bytes` (413 past it)")
		fs.IntVar(&lim.MaxHeaderBytes, "max-header-bytes", web.DefaultMaxHeaderBytes, "largest request head in `bytes` (431 past it)")
		fs.DurationVar(&lim.HeaderTimeout, "header-timeout", web.DefaultHeaderTimeout, "time a client has to send a request's head (408 past it)")
		fs.DurationVar(&lim.IdleTimeout, "http-idle-timeout", web.DefaultIdleTimeout, "close a keep-alive connection idle this long")
		return func(loop *reactor.Reactor) (service.Service, error) {
			if *path == "" {
				return nil, errors.New("web: --path is required")
			}
			f, err := static.Open(*path)
			if err != nil {
				return nil, fmt.Errorf("web: %w", err)
			}
			if len(index) > 0 {
				f.SetIndexNames(index...)
			}
			f.SetListing(*listing)
			site := web.NewSite(f)
			site.Limits = lim
			log, err := openLog(*logfile)
			if err != nil {
				return nil, err
			}
			site.AccessLog = log
			srv, err := sf.Service(loop, site)
			if err != nil {
				return nil, err
			}
			if c, ok := log.(io.Closer); ok && log != os.Stdout {
				return &closing{srv, c}, nil
			}
			return srv, nil
		}
	},
}

func init() { twistd.Register(Web) }

// openLog opens the access log: none, standard output, or a file appended to.
func openLog(name string) (io.Writer, error) {
	switch name {
	case "":
		return nil, nil
	case "-":
		return os.Stdout, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return f, nil
}

// closing closes the access log once the server has stopped.
type closing struct {
	service.Service
	log io.Closer
}

// StopService stops the server, then closes the log.
func (c *closing) StopService() *deferred.Deferred {
	d := c.Service.StopService()
	if d == nil {
		c.log.Close()
		return nil
	}
	return d.AddBoth(func(v any) (any, error) {
		c.log.Close()
		return v, nil
	})
}

// names is a repeatable string flag.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(s string) error { *n = append(*n, s); return nil }
