package plugins

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/twistgo/twist/protocols/socks"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/twistd"
)

// SOCKSPasswordEnv is the environment variable the SOCKS plugin reads the
// password from when --password-file is not given.
const SOCKSPasswordEnv = "TWIST_SOCKS_PASSWORD"

// DefaultSOCKSMaxConns is the SOCKS plugin's default --max-conns: each
// client costs two descriptors.
const DefaultSOCKSMaxConns = 1000

// SOCKS is a SOCKS5 proxy, safe by default: it listens on 127.0.0.1 and
// refuses loopback, private, link-local and the host's own addresses as
// destinations unless --allow lets them through.
var SOCKS = twistd.ServiceMaker{
	Name:        "socks",
	Description: "a SOCKS5 proxy (RFC 1928) for CONNECT, with optional username/password auth (RFC 1929)",
	Flags: func(fs *flag.FlagSet) twistd.MakeService {
		sf := AddServerFlags(fs, 1080, "127.0.0.1")
		fs.Lookup("max-conns").DefValue = fmt.Sprint(DefaultSOCKSMaxConns)
		fs.Set("max-conns", fmt.Sprint(DefaultSOCKSMaxConns))
		user := fs.String("user", "", "require this username, and the password of --password-file or $"+SOCKSPasswordEnv+"; no authentication if empty")
		passwordFile := fs.String("password-file", "", "`file` holding the password for --user (its first line)")
		handshake := fs.Duration("handshake-timeout", socks.DefaultHandshakeTimeout, "time a client has to get connected")
		var allow prefixes
		fs.Var(&allow, "allow", "let clients reach this `CIDR` even if it is loopback, private, link-local or the host's own (repeatable)")
		return func(loop *reactor.Reactor) (service.Service, error) {
			password, err := socksPassword(*user, *passwordFile)
			if err != nil {
				return nil, err
			}
			f := &socks.Factory{Loop: loop, User: *user, Password: password, HandshakeTimeout: *handshake,
				Destinations: socks.Destinations{Allow: allow}}
			return sf.Service(loop, f)
		}
	},
}

// socksPassword returns the password for user from file, or else from the
// environment: never from the command line, where ps shows it.
func socksPassword(user, file string) (string, error) {
	password := os.Getenv(SOCKSPasswordEnv)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("socks: reading the password: %w", err)
		}
		password, _, _ = strings.Cut(string(b), "\n")
		password = strings.TrimSuffix(password, "\r")
	}
	switch {
	case user == "" && file != "":
		return "", errors.New("socks: --password-file needs --user")
	case user != "" && password == "":
		return "", errors.New("socks: --user needs a password, in --password-file or $" + SOCKSPasswordEnv)
	case user == "":
		return "", nil
	}
	return password, nil
}

// prefixes is a repeatable flag of CIDR prefixes.
type prefixes []netip.Prefix

func (p *prefixes) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, x := range *p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixes) Set(v string) error {
	x, err := netip.ParsePrefix(v)
	if err != nil {
		a, aerr := netip.ParseAddr(v)
		if aerr != nil {
			return fmt.Errorf("not a CIDR prefix or an address: %q", v)
		}
		x = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
	}
	*p = append(*p, x.Masked())
	return nil
}
