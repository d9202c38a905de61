package web_test

import (
	"fmt"

	"github.com/twistgo/twist/web"
	"github.com/twistgo/twist/web/webtest"
)

// greeting serves GET; its other methods get 405.
type greeting struct{ web.BaseResource }

func (*greeting) RenderGET(r *web.Request) ([]byte, error) {
	return []byte("Hello, " + r.Args().Get("name") + "!"), nil
}

// A site is a tree of resources; webtest drives it without a socket. To
// serve it, listen with the site as the factory:
// internet.ListenTCP(loop, ":8080", web.NewSite(root)).
func Example() {
	root := &web.BaseResource{}
	root.PutChild("greet", &greeting{})

	r, _ := webtest.Get(root, "/greet?name=Twist")
	fmt.Println(r.Status, string(r.Body))
	r, _ = webtest.Do(root, "POST", "/greet", "x")
	fmt.Println(r.Status, r.Header.Get("Allow"))
	// Output:
	// 200 Hello, Twist!
	// 405 GET, HEAD
}

// A resource answers later by returning NotDoneYet and finishing the
// request when its data is ready.
func ExampleNotDoneYet() {
	var pending *web.Request
	slow := web.RenderFunc(func(r *web.Request) ([]byte, error) {
		pending = r
		return nil, web.NotDoneYet
	})
	c := webtest.Connect(web.NewSite(slow))
	c.Send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")

	_ = pending.Write([]byte("done at last"))
	pending.Finish()
	r, _ := c.Next()
	fmt.Println(r.Status, r.Chunked, string(r.Body))
	// Output: 200 true done at last
}
