package web

import (
	"net"
	"strings"
)

// NameVirtualHost serves a different tree for each Host a request names
// (Twisted's vhost.NameVirtualHost), and Default for the others; with no
// Default, an unknown host is 404. Add hosts before serving.
type NameVirtualHost struct {
	// Default serves hosts not added; nil means 404.
	Default Resource
	hosts   map[string]Resource
}

// AddHost serves res for requests whose Host is name (any case, any port).
func (v *NameVirtualHost) AddHost(name string, res Resource) {
	if v.hosts == nil {
		v.hosts = make(map[string]Resource)
	}
	v.hosts[strings.ToLower(name)] = res
}

// RemoveHost stops serving name.
func (v *NameVirtualHost) RemoveHost(name string) { delete(v.hosts, strings.ToLower(name)) }

// resourceFor picks the tree for req's Host.
func (v *NameVirtualHost) resourceFor(req *Request) Resource {
	host := req.GetHeader("Host")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if res, ok := v.hosts[strings.ToLower(host)]; ok {
		return res
	}
	if v.Default != nil {
		return v.Default
	}
	return NoResource("That host is not served here.")
}

// GetChild continues traversal in the host's tree; for a leaf, the
// segment goes back to Postpath and the leaf itself renders.
func (v *NameVirtualHost) GetChild(name string, req *Request) Resource {
	res := v.resourceFor(req)
	if res.IsLeaf() {
		req.Prepath = req.Prepath[:len(req.Prepath)-1]
		req.Postpath = append([]string{name}, req.Postpath...)
		return res
	}
	return res.GetChild(name, req)
}

// PutChild panics: add trees with AddHost.
func (v *NameVirtualHost) PutChild(name string, child Resource) {
	panic("web: PutChild on a NameVirtualHost; use AddHost")
}

// IsLeaf returns false.
func (v *NameVirtualHost) IsLeaf() bool { return false }

// Render renders the host's root.
func (v *NameVirtualHost) Render(req *Request) ([]byte, error) {
	return Render(v.resourceFor(req), req)
}
