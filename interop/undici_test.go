package interop

import (
	"bytes"
	"testing"

	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// TestNodeUndici drives our web server with undici, the client inside
// Node's fetch, from the npm package and from Node's own fetch.
func TestNodeUndici(t *testing.T) {
	requireNode(t)
	root := &web.BaseResource{}
	root.PutChild("echo", web.RenderFunc(func(r *web.Request) ([]byte, error) {
		return []byte(r.Method + " " + r.Args().Get("n") + string(r.Content)), nil
	}))
	root.PutChild("big", web.RenderFunc(func(*web.Request) ([]byte, error) {
		return bytes.Repeat([]byte("x"), 1<<20), nil
	}))
	addr := webtest.Serve(t, web.NewSite(root))
	got := runClient(t, nodeDir, nil, "node", "undici.mjs", "http://"+addr)
	want := "200 GET 0\n200 GET 1\n200 GET 2\n200 POST posted\n200 PUT chunk1 chunk2\n200 1048576\n404\n"
	if got != want {
		t.Fatalf("undici printed\n%s\nwant\n%s", got, want)
	}
}
