package web

import (
	"fmt"
	"html"
	"net/http"
)

// RedirectTo sets req up to redirect to url, 302 Found, and returns a
// small page with a link for clients that do not follow (Twisted's
// util.redirectTo).
func RedirectTo(url string, req *Request) []byte {
	req.Redirect(url)
	req.SetHeader("Content-Type", "text/html; charset=utf-8")
	u := html.EscapeString(url)
	return fmt.Appendf(nil, "<html><head><meta http-equiv=\"refresh\" content=\"0;URL=%s\"></head><body bgcolor=\"#FFFFFF\" text=\"#000000\"><a href=\"%s\">click here</a></body></html>\n", u, u)
}

// Redirect is a leaf resource that redirects every request to URL
// (Twisted's util.Redirect); Code is 302 unless set.
type Redirect struct {
	URL  string
	Code int
}

// GetChild returns nil: Redirect is a leaf.
func (r *Redirect) GetChild(name string, req *Request) Resource { return nil }

// PutChild panics: a Redirect has no children.
func (r *Redirect) PutChild(name string, child Resource) { panic("web: PutChild on a Redirect") }

// IsLeaf returns true.
func (r *Redirect) IsLeaf() bool { return true }

// Render redirects.
func (r *Redirect) Render(req *Request) ([]byte, error) {
	b := RedirectTo(r.URL, req)
	if r.Code != 0 && r.Code != http.StatusFound {
		req.SetResponseCode(r.Code)
	}
	return b, nil
}
