package crawl

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/twistgo/twist/web"
)

// A Response is a downloaded page (Scrapy's Response).
type Response struct {
	// URL is the URL that answered: the request's, after redirects.
	URL string
	// Status is the HTTP status code.
	Status int
	// Headers are the response's header fields.
	Headers web.Header
	// Body is the whole body, within Settings.MaxResponseSize.
	Body []byte
	// Request is the request that was answered.
	Request *Request

	doc    *html.Node
	docErr error
	parsed bool
}

// Text returns the body as a string (Scrapy's TextResponse.text). Bodies are
// taken to be UTF-8.
func (r *Response) Text() string { return string(r.Body) }

// IsHTML reports whether the response's Content-Type is HTML (or absent,
// in which case the body is sniffed for a tag).
func (r *Response) IsHTML() bool {
	ct := strings.ToLower(r.Headers.Get("Content-Type"))
	if ct == "" {
		head := r.Body[:min(len(r.Body), 512)]
		return bytes.Contains(bytes.ToLower(head), []byte("<html")) || bytes.Contains(bytes.ToLower(head), []byte("<!doctype html"))
	}
	return strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/xhtml")
}

// Doc parses the body as HTML once and returns its root, or an error for a
// response that is not HTML.
func (r *Response) Doc() (*html.Node, error) {
	if !r.parsed {
		r.parsed = true
		if !r.IsHTML() {
			r.docErr = errNotHTML
		} else {
			r.doc, r.docErr = html.Parse(bytes.NewReader(r.Body))
		}
	}
	return r.doc, r.docErr
}

// Find returns the elements of the page for which match is true, in
// document order; nil match matches every element. A page that is not HTML
// has none.
func (r *Response) Find(match func(n *html.Node) bool) []*html.Node {
	doc, err := r.Doc()
	if err != nil {
		return nil
	}
	var out []*html.Node
	// An explicit stack, not recursion: the page's nesting is the peer's.
	stack := []*html.Node{doc}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Type == html.ElementNode && (match == nil || match(n)) {
			out = append(out, n)
		}
		for c := n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, c)
		}
	}
	return out
}

// Tag returns a matcher for Find: elements named tag, and, if class is not
// empty, having class among their classes.
func Tag(tag, class string) func(*html.Node) bool {
	a := atom.Lookup([]byte(tag))
	return func(n *html.Node) bool {
		if (a != 0 && n.DataAtom != a) || (a == 0 && n.Data != tag) {
			return false
		}
		return class == "" || hasClass(n, class)
	}
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(Attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// Attr returns the value of n's attribute name, or "".
func Attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// NodeText returns the text inside n, its pieces joined and trimmed.
func NodeText(n *html.Node) string {
	var b strings.Builder
	stack := []*html.Node{n}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		for k := c.LastChild; k != nil; k = k.PrevSibling {
			stack = append(stack, k)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// Title returns the text of the page's <title>, or "".
func (r *Response) Title() string {
	if t := r.Find(Tag("title", "")); len(t) > 0 {
		return NodeText(t[0])
	}
	return ""
}

// Links returns the absolute http and https URLs of the page's <a href>
// links, resolved against the response's URL (and a <base href>), without
// fragments, each once, in document order.
func (r *Response) Links() []string {
	base, err := url.Parse(r.URL)
	if err != nil {
		return nil
	}
	if b := r.Find(Tag("base", "")); len(b) > 0 {
		if u, err := base.Parse(Attr(b[0], "href")); err == nil && Attr(b[0], "href") != "" {
			base = u
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range r.Find(Tag("a", "")) {
		href := strings.TrimSpace(Attr(a, "href"))
		if href == "" {
			continue
		}
		u, err := base.Parse(href)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		u.Fragment, u.RawFragment = "", ""
		s := u.String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Follow returns a request for href resolved against the response's URL,
// with callback cb (nil: the spider's Parse), or nil if href does not
// resolve to an http or https URL (Scrapy's Response.follow).
func (r *Response) Follow(href string, cb Callback) *Request {
	base, err := url.Parse(r.URL)
	if err != nil {
		return nil
	}
	u, err := base.Parse(strings.TrimSpace(href))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	u.Fragment, u.RawFragment = "", ""
	return NewRequest(u.String(), cb)
}
