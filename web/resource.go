package web

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"slices"
	"strings"
)

// NotDoneYet is returned by a Render method that will write its response
// later with Request.Write and Request.Finish (Twisted's NOT_DONE_YET).
var NotDoneYet = errors.New("web: response not done yet")

// ErrNotAllowed is returned by a Render method for a method the resource
// does not serve; the client gets 405 with an Allow header listing the
// methods the resource has Render methods for (Twisted's UnsupportedMethod).
var ErrNotAllowed = errors.New("web: method not allowed")

// A Resource is a node of a site's tree (Twisted's IResource).
//
// Embed BaseResource and add RenderGET, RenderPOST and the like (the
// method interfaces below): Render dispatches to them by the request's
// method, as Twisted's Resource.render dispatches to render_GET.
type Resource interface {
	// GetChild returns the child for the path segment name, or nil for
	// none (404). Twisted's getChildWithDefault: static children first,
	// then any computed ones.
	GetChild(name string, req *Request) Resource
	// PutChild adds a static child for the segment name.
	PutChild(name string, child Resource)
	// IsLeaf reports whether the resource renders every path below it
	// itself: traversal stops there, with the rest in Request.Postpath.
	IsLeaf() bool
	// Render renders req: it returns the body, or NotDoneYet, or an error
	// (a 500 page unless the response has started).
	Render(req *Request) ([]byte, error)
}

// Method interfaces: a resource that has one of these methods serves that
// HTTP method. HEAD falls back to RenderGET with the body dropped.
type (
	// GETRenderer serves GET (and HEAD without a RenderHEAD).
	GETRenderer interface {
		RenderGET(req *Request) ([]byte, error)
	}
	// HEADRenderer serves HEAD.
	HEADRenderer interface {
		RenderHEAD(req *Request) ([]byte, error)
	}
	// POSTRenderer serves POST.
	POSTRenderer interface {
		RenderPOST(req *Request) ([]byte, error)
	}
	// PUTRenderer serves PUT.
	PUTRenderer interface {
		RenderPUT(req *Request) ([]byte, error)
	}
	// DELETERenderer serves DELETE.
	DELETERenderer interface {
		RenderDELETE(req *Request) ([]byte, error)
	}
	// PATCHRenderer serves PATCH.
	PATCHRenderer interface {
		RenderPATCH(req *Request) ([]byte, error)
	}
	// OPTIONSRenderer serves OPTIONS.
	OPTIONSRenderer interface {
		RenderOPTIONS(req *Request) ([]byte, error)
	}
)

// Render renders req with res: it calls the method interface res has for
// req.Method, else res.Render; ErrNotAllowed becomes a 405 page. Resources
// that wrap others (virtual hosts, for one) render through it.
func Render(res Resource, req *Request) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	switch req.Method {
	case "GET":
		if r, ok := res.(GETRenderer); ok {
			return r.RenderGET(req)
		}
	case "HEAD":
		if r, ok := res.(HEADRenderer); ok {
			return r.RenderHEAD(req)
		}
		if r, ok := res.(GETRenderer); ok {
			return r.RenderGET(req)
		}
	case "POST":
		if r, ok := res.(POSTRenderer); ok {
			return r.RenderPOST(req)
		}
	case "PUT":
		if r, ok := res.(PUTRenderer); ok {
			return r.RenderPUT(req)
		}
	case "DELETE":
		if r, ok := res.(DELETERenderer); ok {
			return r.RenderDELETE(req)
		}
	case "PATCH":
		if r, ok := res.(PATCHRenderer); ok {
			return r.RenderPATCH(req)
		}
	case "OPTIONS":
		if r, ok := res.(OPTIONSRenderer); ok {
			return r.RenderOPTIONS(req)
		}
	}
	b, err = res.Render(req)
	if errors.Is(err, ErrNotAllowed) {
		req.SetHeader("Allow", strings.Join(AllowedMethods(res), ", "))
		return ErrorPage(req, http.StatusMethodNotAllowed, "Method Not Allowed",
			"This resource does not serve that method."), nil
	}
	return b, err
}

// AllowedMethods lists the methods res has Render methods for.
func AllowedMethods(res Resource) []string {
	var m []string
	if _, ok := res.(GETRenderer); ok {
		m = append(m, "GET", "HEAD")
	} else if _, ok := res.(HEADRenderer); ok {
		m = append(m, "HEAD")
	}
	if _, ok := res.(POSTRenderer); ok {
		m = append(m, "POST")
	}
	if _, ok := res.(PUTRenderer); ok {
		m = append(m, "PUT")
	}
	if _, ok := res.(DELETERenderer); ok {
		m = append(m, "DELETE")
	}
	if _, ok := res.(PATCHRenderer); ok {
		m = append(m, "PATCH")
	}
	if _, ok := res.(OPTIONSRenderer); ok {
		m = append(m, "OPTIONS")
	}
	return m
}

// BaseResource implements Resource for resources to embed (Twisted's
// Resource): static children, IsLeaf from Leaf, and a Render that answers
// 405. A type that computes children overrides GetChild and calls the
// embedded one first for the static ones.
type BaseResource struct {
	// Leaf makes the resource a leaf (Twisted's isLeaf).
	Leaf     bool
	children map[string]Resource
}

// GetChild returns the static child named name, or nil.
func (b *BaseResource) GetChild(name string, req *Request) Resource {
	return b.children[name]
}

// PutChild adds a static child. The tree is built before the site serves
// it; it is read from every loop the site runs on, so do not change it while
// serving from a loop group.
func (b *BaseResource) PutChild(name string, child Resource) {
	if b.children == nil {
		b.children = make(map[string]Resource)
	}
	b.children[name] = child
}

// Children returns the names of the static children, sorted.
func (b *BaseResource) Children() []string {
	names := make([]string, 0, len(b.children))
	for n := range b.children {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// IsLeaf returns b.Leaf.
func (b *BaseResource) IsLeaf() bool { return b.Leaf }

// Render returns ErrNotAllowed: without method interfaces a BaseResource
// serves nothing.
func (b *BaseResource) Render(req *Request) ([]byte, error) { return nil, ErrNotAllowed }

// RenderFunc is a leaf resource that renders every method with a function.
type RenderFunc func(req *Request) ([]byte, error)

// GetChild returns nil: a RenderFunc is a leaf.
func (f RenderFunc) GetChild(name string, req *Request) Resource { return nil }

// PutChild panics: a RenderFunc has no children.
func (f RenderFunc) PutChild(name string, child Resource) {
	panic("web: PutChild on a RenderFunc, which is a leaf")
}

// IsLeaf returns true.
func (f RenderFunc) IsLeaf() bool { return true }

// Render calls f.
func (f RenderFunc) Render(req *Request) ([]byte, error) { return f(req) }

// ErrorPage sets req's response code and returns a small HTML page for it
// (Twisted's resource.ErrorPage); detail is escaped.
func ErrorPage(req *Request, code int, brief, detail string) []byte {
	req.SetResponseCode(code)
	req.SetHeader("Content-Type", "text/html; charset=utf-8")
	b := html.EscapeString(brief)
	return fmt.Appendf(nil, "<html><head><title>%d - %s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
		code, b, b, html.EscapeString(detail))
}

// ErrorResource renders an error page for every request: NoResource (404)
// and ForbiddenResource (403) are two.
type ErrorResource struct {
	Code          int
	Brief, Detail string
}

// NoResource is the 404 page (Twisted's NoResource).
func NoResource(detail string) *ErrorResource {
	return &ErrorResource{http.StatusNotFound, "No Such Resource", detail}
}

// ForbiddenResource is the 403 page (Twisted's ForbiddenResource).
func ForbiddenResource(detail string) *ErrorResource {
	return &ErrorResource{http.StatusForbidden, "Forbidden Resource", detail}
}

// GetChild returns e itself: an error page is one below as well.
func (e *ErrorResource) GetChild(name string, req *Request) Resource { return e }

// PutChild panics: an error page has no children.
func (e *ErrorResource) PutChild(name string, child Resource) {
	panic("web: PutChild on an ErrorResource")
}

// IsLeaf returns true.
func (e *ErrorResource) IsLeaf() bool { return true }

// Render renders the page for every method.
func (e *ErrorResource) Render(req *Request) ([]byte, error) {
	return ErrorPage(req, e.Code, e.Brief, e.Detail), nil
}

var notFound = NoResource("Sorry. No luck finding that resource.")
