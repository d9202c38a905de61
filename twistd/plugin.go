package twistd

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
)

// MakeService builds a plugin's service on loop, once the plugin's flags
// have been parsed.
type MakeService func(loop *reactor.Reactor) (service.Service, error)

// A ServiceMaker is a twistd plugin (Twisted's IServiceMaker): a named kind
// of server that twistd can run. Plugins are compiled in: a package registers
// its ServiceMakers with Register in an init function, and a program that
// imports it and calls Main is a twistd that runs them.
type ServiceMaker struct {
	// Name is the plugin's command name: twistd NAME [flags].
	Name string
	// Description is a one-line description for the plugin list.
	Description string
	// Flags registers the plugin's flags on fs and returns the function that
	// makes the service from their parsed values; keeping the values in the
	// closure is what ties the two together.
	Flags func(fs *flag.FlagSet) MakeService
}

var registry struct {
	sync.Mutex
	makers map[string]ServiceMaker
}

// Register makes sm available to Main. It panics if sm has no name or no
// Flags, or if a plugin with its name is registered, as registering is done
// from init functions where a mistake is a programming error.
func Register(sm ServiceMaker) {
	if sm.Name == "" || sm.Flags == nil {
		panic("twistd: Register of a ServiceMaker without a Name or Flags")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.makers[sm.Name]; dup {
		panic(fmt.Sprintf("twistd: Register called twice for plugin %q", sm.Name))
	}
	if registry.makers == nil {
		registry.makers = make(map[string]ServiceMaker)
	}
	registry.makers[sm.Name] = sm
}

// Plugins returns the registered plugins sorted by name.
func Plugins() []ServiceMaker {
	registry.Lock()
	defer registry.Unlock()
	var all []ServiceMaker
	for _, sm := range registry.makers {
		all = append(all, sm)
	}
	slices.SortFunc(all, func(a, b ServiceMaker) int { return strings.Compare(a.Name, b.Name) })
	return all
}

// lookup returns the plugin named name.
func lookup(name string) (ServiceMaker, bool) {
	registry.Lock()
	defer registry.Unlock()
	sm, ok := registry.makers[name]
	return sm, ok
}
