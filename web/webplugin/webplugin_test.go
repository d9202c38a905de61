package webplugin

import (
	"crypto/tls"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twistgo/twist/internal/testcert"
	"github.com/twistgo/twist/internet/endpoints"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/threads"
	"github.com/twistgo/twist/web/webtest"
)

// start makes and starts the plugin's service on a loop that runs for the
// test, on a port the system chooses unless args has --listen, and returns
// its address.
func start(t *testing.T, args ...string) string {
	t.Helper()
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	mk := Web.Flags(fs)
	if !slices.Contains(args, "--listen") {
		args = append([]string{"--port", "0", "--interface", "127.0.0.1"}, args...)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	loop := webtest.RunLoop(t)
	v, err := threads.BlockingCallFromThread(loop, func() (any, error) {
		svc, err := mk(loop)
		if err != nil {
			return nil, err
		}
		return svc, svc.StartService()
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := v.(service.Service)
	t.Cleanup(func() { loop.CallFromThread(func() { svc.StopService() }) })
	if c, ok := svc.(*closing); ok {
		svc = c.Service
	}
	return svc.(*service.StreamServer).Addr().String()
}

func TestServesADirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from twistd web"), 0o644)
	os.Mkdir(filepath.Join(dir, "docs"), 0o755)
	log := filepath.Join(t.TempDir(), "access.log")
	addr := start(t, "--path", dir, "--logfile", log)
	for path, want := range map[string]string{"/hello.txt": "hello from twistd web", "/": `href="docs/"`} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, b)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	b, err := os.ReadFile(log)
	if err != nil || !strings.Contains(string(b), `"GET /hello.txt HTTP/1.1" 200 21`) {
		t.Fatalf("access log: %v %q", err, b)
	}
}

// twistd web --listen ssl:... serves https with the certificate given.
func TestServesOverTLS(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello over TLS"), 0o644)
	cert, roots := testcert.New("127.0.0.1")
	certPEM, keyPEM := testcert.PEM(cert)
	keys := t.TempDir()
	certFile, keyFile := filepath.Join(keys, "cert.pem"), filepath.Join(keys, "key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	addr := start(t, "--path", dir, "--listen", "ssl:0:interface=127.0.0.1:privateKey="+
		endpoints.QuoteStringArgument(keyFile)+":certKey="+endpoints.QuoteStringArgument(certFile))
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + addr + "/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello over TLS" || resp.TLS == nil {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
	// Plain HTTP on the TLS port gets no page.
	if resp, err := http.Get("http://" + addr + "/hello.txt"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("served plain HTTP on the TLS port")
		}
	}
}

func TestNeedsPath(t *testing.T) {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	mk := Web.Flags(fs)
	fs.Parse(nil)
	loop, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	if _, err := mk(loop); err == nil || !strings.Contains(err.Error(), "--path") {
		t.Fatalf("no --path: %v", err)
	}
}
