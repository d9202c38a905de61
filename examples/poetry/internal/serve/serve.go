package serve

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
)

// ListenFlags defines the intro's --port and --iface flags on the default
// flag set and returns a function giving the address they name.
func ListenFlags(defaultPort int) func() string {
	port := flag.Int("port", defaultPort, "the port to listen on (0: any free port)")
	iface := flag.String("iface", "localhost", "the interface to listen on")
	return func() string { return net.JoinHostPort(*iface, strconv.Itoa(*port)) }
}

// ReadPoem returns the poem in file, or def for "".
func ReadPoem(file string, def []byte) ([]byte, error) {
	if file == "" {
		return def, nil
	}
	return os.ReadFile(file)
}

// Serve is the main loop of the example servers: it listens on addr with the
// factory that build returns for the loop, says so, and runs the loop until
// SIGINT or SIGTERM.
func Serve(addr, what string, build func(n internet.Net) internet.Factory) error {
	r, err := reactor.New(reactor.WithSignalHandling())
	if err != nil {
		return err
	}
	n := internet.RealNet(r)
	port, err := n.ListenTCP(addr, build(n))
	if err != nil {
		r.Close()
		return err
	}
	fmt.Printf("Serving %s on %v.\n", what, port.Addr())
	return r.Run()
}
