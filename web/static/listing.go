package static

import (
	"fmt"
	"html"
	"io/fs"
	"net/url"
	"slices"
	"strings"

	"github.com/twistgo/twist/web"
)

// listing renders a directory's entries as an HTML table (Twisted's
// DirectoryLister).
type listing struct{ f *File }

func (l *listing) GetChild(name string, req *web.Request) web.Resource { return nil }
func (l *listing) PutChild(name string, child web.Resource)            { panic("static: PutChild on a listing") }
func (l *listing) IsLeaf() bool                                        { return true }

// Render lists the directory, or answers 403 when listings are off.
func (l *listing) Render(req *web.Request) ([]byte, error) {
	if !l.f.cfg.listing {
		return web.Render(web.ForbiddenResource("Directory listing is off."), req)
	}
	d, err := l.f.root.Open(l.f.rel)
	if err != nil {
		return web.Render(notFound, req)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	title := html.EscapeString("Directory listing for " + req.Path)
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head><body>\n<h1>%s</h1>\n<table>\n<tr><th>Filename</th><th>Size</th></tr>\n", title, title)
	for _, e := range entries {
		name, size := e.Name(), "-"
		if e.IsDir() {
			name += "/"
		} else if info, err := e.Info(); err == nil {
			size = fmt.Sprint(info.Size())
		}
		link := (&url.URL{Path: name}).EscapedPath()
		if strings.Contains(e.Name(), ":") {
			link = "./" + link // not a scheme
		}
		fmt.Fprintf(&b, "<tr><td><a href=\"%s\">%s</a></td><td>%s</td></tr>\n", html.EscapeString(link), html.EscapeString(name), size)
	}
	b.WriteString("</table>\n</body></html>\n")
	req.SetHeader("Content-Type", "text/html; charset=utf-8")
	return []byte(b.String()), nil
}
