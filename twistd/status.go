package twistd

import (
	"errors"
	"flag"
	"log/slog"
	"sync"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
)

// A StatusPage serves the status of a running twistd: --status ADDR
// serves it at ADDR, --status-auth TOKEN asks for TOKEN. twistd has no page
// of its own, as a page is a web resource and web sits above twistd; a
// program sets one with SetStatusPage before Main (cmd/twistd sets
// twistd/plugins' Status, over package web/status).
type StatusPage interface {
	// WrapLog returns the handler twistd logs through, given the one its
	// flags made: the page keeps what it shows of the log there.
	WrapLog(h slog.Handler) slog.Handler
	// Service returns the service that serves, at addr, the status of
	// the plugin's service svc running on loop, asking for token unless it
	// is empty. It runs as a child of the application, after svc.
	Service(loop *reactor.Reactor, svc service.Service, addr, token string) (service.Service, error)
}

var statusPage struct {
	sync.Mutex
	page StatusPage
}

// SetStatusPage makes p the page of --status.
func SetStatusPage(p StatusPage) {
	statusPage.Lock()
	defer statusPage.Unlock()
	statusPage.page = p
}

func getStatusPage() StatusPage {
	statusPage.Lock()
	defer statusPage.Unlock()
	return statusPage.page
}

// errNoStatusPage is the failure of --status in a twistd without a page.
var errNoStatusPage = errors.New("--status: this twistd has no status page")

// addStatusFlags registers --status and --status-auth on fs, bound to o:
// twistd's own flags and every plugin's have them, so that they may come
// before the plugin's name or after it.
// A plugin with a --status flag of its own keeps it.
func (o *options) addStatusFlags(fs *flag.FlagSet) {
	if fs.Lookup("status") != nil || fs.Lookup("status-auth") != nil {
		return
	}
	fs.Var(stringFlag{&o.statusAddr}, "status", "serve a live status page, /status.json and /metrics (Prometheus) at this `address` (host:port, or :port for 127.0.0.1); off unless given")
	fs.Var(stringFlag{&o.statusAuth}, "status-auth", "ask this `token` of the status page's clients (Authorization: Bearer TOKEN, or ?token=TOKEN)")
}

// stringFlag is a string flag.Value that, unlike flag.StringVar, leaves its
// string alone when it is registered: the plugin's flag set registers the
// flags again after twistd's own has parsed them.
type stringFlag struct{ p *string }

func (f stringFlag) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}

func (f stringFlag) Set(v string) error { *f.p = v; return nil }

// Get makes the help quote a default, as for the flag package's strings.
func (f stringFlag) Get() any { return *f.p }
