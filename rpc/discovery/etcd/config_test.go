package etcd

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/twistgo/twist/internal/testcert"
)

// writeCert writes a fresh self-signed certificate for hosts and its key
// into dir, and returns the two files.
func writeCert(t *testing.T, dir, name string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	c, _ := testcert.New(hosts...)
	certPEM, keyPEM := testcert.PEM(c)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestConfigFromFlags(t *testing.T) {
	dir := t.TempDir()
	crt, key := writeCert(t, dir, "c", "127.0.0.1")
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\r\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		tls     bool
		certs   int
		user    string
		pass    string
		wantErr string
	}{
		{name: "default", args: nil},
		{name: "ca only", args: []string{"--etcd-cacert", crt}, tls: true},
		{name: "client cert", args: []string{"--etcd-cacert", crt, "--etcd-cert", crt, "--etcd-key", key}, tls: true, certs: 1},
		{name: "auth", args: []string{"--etcd-user", "svc", "--etcd-password-file", pw}, user: "svc", pass: "s3cret"},
		{name: "cert without key", args: []string{"--etcd-cert", crt}, wantErr: "both"},
		{name: "password without user", args: []string{"--etcd-password-file", pw}, wantErr: "needs a user"},
		{name: "missing CA", args: []string{"--etcd-cacert", filepath.Join(dir, "none")}, wantErr: "CA certificates"},
		{name: "CA not PEM", args: []string{"--etcd-cacert", pw}, wantErr: "no certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Endpoints: []string{"127.0.0.1:2379"}}
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			c.AddFlags(fs)
			if err := fs.Parse(append([]string{"--etcd", "10.0.0.1:2379,10.0.0.2:2379"}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			cfg, err := c.ClientConfig()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(cfg.Endpoints, ",") != "10.0.0.1:2379,10.0.0.2:2379" {
				t.Errorf("endpoints %v", cfg.Endpoints)
			}
			if (cfg.TLS != nil) != tc.tls || (cfg.TLS != nil && len(cfg.TLS.Certificates) != tc.certs) {
				t.Errorf("TLS %+v, want TLS %v with %d certificates", cfg.TLS, tc.tls, tc.certs)
			}
			if cfg.Username != tc.user || cfg.Password != tc.pass {
				t.Errorf("user %q password %q, want %q %q", cfg.Username, cfg.Password, tc.user, tc.pass)
			}
		})
	}
}

// An etcd that asks clients for certificates: a client with one registers
// and resolves through it; one without cannot reach it.
func TestTLSWithClientCertificates(t *testing.T) {
	dir := t.TempDir()
	srvCrt, srvKey := writeCert(t, dir, "server", "127.0.0.1")
	cliCrt, cliKey := writeCert(t, dir, "client", "twist-client")
	e := startEtcdTLS(t, &transport.TLSInfo{CertFile: srvCrt, KeyFile: srvKey, TrustedCAFile: cliCrt, ClientCertAuth: true},
		Config{CACert: srvCrt, Cert: cliCrt, Key: cliKey})
	startInstance(t, e, "s0", 1)
	c := dialService(t, e)
	waitLive(t, c, 1)
	if got := callCounts(t, c, "whoami", 1); got["s0"] != 1 {
		t.Fatalf("calls through a TLS etcd: %v", got)
	}

	anon, err := Config{Endpoints: e.access.Endpoints, CACert: srvCrt}.New()
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := anon.Get(ctx, "/twist/", clientv3.WithPrefix()); err == nil {
		t.Fatal("a client without a certificate read from etcd")
	}
}

// An etcd with authentication: a user granted the prefix registers and
// resolves; a wrong password, or no user, is refused.
func TestAuth(t *testing.T) {
	e := startEtcd(t)
	root := e.newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prefix := DefaultPrefix + "/"
	for _, step := range []func() error{
		func() error { _, err := root.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := root.RoleAdd(ctx, "twist"); return err },
		func() error {
			_, err := root.RoleGrantPermission(ctx, "twist", prefix, clientv3.GetPrefixRangeEnd(prefix), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := root.UserAdd(ctx, "svc", "svcpw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "svc", "twist"); return err },
		func() error { _, err := root.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}

	anon := e.access
	if _, err := Register(ctx, e.newClient(t), "calc", Instance{Address: "127.0.0.1:1"}, WithLogger(quiet)); err == nil {
		t.Fatal("registered without a user")
	}
	wrong := anon
	wrong.User, wrong.Password = "svc", "nope"
	if cli, err := wrong.New(); err == nil {
		cli.Close()
		t.Fatal("connected with a wrong password")
	}

	e.access.User, e.access.Password = "svc", "svcpw"
	startInstance(t, e, "s0", 1)
	c := dialService(t, e)
	waitLive(t, c, 1)
	if got := callCounts(t, c, "whoami", 1); got["s0"] != 1 {
		t.Fatalf("calls through an etcd with auth: %v", got)
	}
}
