package etcd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Config says how to reach etcd: its endpoints, TLS and authentication. Its
// ClientConfig makes the clientv3.Config to give clientv3.New; AddFlags
// fills it from a program's command line.
type Config struct {
	// Endpoints are etcd's client URLs or host:port pairs.
	Endpoints []string
	// CACert is a PEM file of the authorities that sign etcd's server
	// certificate. Setting it, or Cert and Key, makes the connection TLS;
	// when only Cert and Key are set the system's roots are trusted.
	CACert string
	// Cert and Key are the PEM files of this client's certificate and key,
	// for an etcd started with --client-cert-auth.
	Cert, Key string
	// User and Password authenticate to an etcd with auth enabled.
	User, Password string
	// DialTimeout bounds the first connection (default 5 s).
	DialTimeout time.Duration
}

// maxReconnectDelay caps gRPC's reconnection back-off to etcd (its own
// default grows to two minutes), so that a registration comes back well
// within a TTL of etcd's return.
const maxReconnectDelay = time.Second

// ClientConfig returns the clientv3.Config that reaches etcd as c says,
// reading the certificate files. Its reconnection back-off to etcd is
// capped at one second, and etcd's client logs nothing.
func (c Config) ClientConfig() (clientv3.Config, error) {
	if len(c.Endpoints) == 0 {
		return clientv3.Config{}, errors.New("etcd: no endpoints")
	}
	if (c.Cert == "") != (c.Key == "") {
		return clientv3.Config{}, errors.New("etcd: a client certificate needs both its cert and its key file")
	}
	if c.Password != "" && c.User == "" {
		return clientv3.Config{}, errors.New("etcd: a password needs a user")
	}
	cfg := clientv3.Config{
		Endpoints:   c.Endpoints,
		DialTimeout: c.DialTimeout,
		Username:    c.User,
		Password:    c.Password,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: maxReconnectDelay},
			MinConnectTimeout: time.Second,
		})},
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if c.CACert == "" && c.Cert == "" {
		return cfg, nil
	}
	cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return clientv3.Config{}, fmt.Errorf("etcd: CA certificates: %w", err)
		}
		cfg.TLS.RootCAs = x509.NewCertPool()
		if !cfg.TLS.RootCAs.AppendCertsFromPEM(pem) {
			return clientv3.Config{}, fmt.Errorf("etcd: no certificate in %s", c.CACert)
		}
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return clientv3.Config{}, fmt.Errorf("etcd: client certificate: %w", err)
		}
		cfg.TLS.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// New connects to etcd as c says.
func (c Config) New() (*clientv3.Client, error) {
	cfg, err := c.ClientConfig()
	if err != nil {
		return nil, err
	}
	return clientv3.New(cfg)
}

// AddFlags defines the flags that fill c on fs: --etcd (comma-separated
// endpoints), --etcd-cacert, --etcd-cert, --etcd-key, --etcd-user and
// --etcd-password-file (a file holding the password, so that it does not
// show in the process list). c.Endpoints is the --etcd default.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.Func("etcd", "etcd endpoints, comma-separated host:port or URLs (default "+strings.Join(c.Endpoints, ",")+")", func(s string) error {
		c.Endpoints = strings.Split(s, ",")
		return nil
	})
	fs.StringVar(&c.CACert, "etcd-cacert", c.CACert, "PEM file of the CAs that sign etcd's certificate (makes the connection TLS)")
	fs.StringVar(&c.Cert, "etcd-cert", c.Cert, "PEM file of the client certificate for etcd (with --etcd-key; makes the connection TLS)")
	fs.StringVar(&c.Key, "etcd-key", c.Key, "PEM file of the client certificate's key for etcd")
	fs.StringVar(&c.User, "etcd-user", c.User, "user name for an etcd with authentication enabled")
	fs.Func("etcd-password-file", "file holding the password of --etcd-user (its first line)", func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		c.Password = strings.TrimSuffix(line, "\r")
		return nil
	})
}
