package static

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/twistgo/twist/web"
)

// DefaultType is the Content-Type of files whose extension names no type.
// Twisted's default is text/html; Twist sends bytes it cannot name as
// opaque data on purpose, so that an unknown file is never run as a page.
const DefaultType = "application/octet-stream"

// ChunkSize is how much of a file is read and written at a time
// (Twisted's abstract.FileDescriptor.bufferSize).
const ChunkSize = 64 << 10

// File serves a file, or a directory and every file below it (Twisted's
// static.File). Children are looked up by path segment inside an os.Root,
// so that no path, whether by "..", an encoded slash or a symbolic link,
// reaches outside the directory File was opened on.
//
// Files are read on the loop, a chunk per turn, as Twisted reads them on
// the reactor: serve local disks, not network file systems that stall.
type File struct {
	root *os.Root
	rel  string // path inside root; "." for the root itself
	cfg  *fileConfig
}

type fileConfig struct {
	indexNames []string
	listing    bool
}

// Open returns a File serving the directory or file at dir. Index files
// are index.html and index.htm, and directories without one are listed.
func Open(dir string) (*File, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	cfg := &fileConfig{indexNames: []string{"index.html", "index.htm"}, listing: true}
	if !st.IsDir() {
		root, err := os.OpenRoot(path.Dir(dir))
		if err != nil {
			return nil, err
		}
		return &File{root: root, rel: path.Base(dir), cfg: cfg}, nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &File{root: root, rel: ".", cfg: cfg}, nil
}

// SetIndexNames sets the names tried, in order, for a directory's page.
func (f *File) SetIndexNames(names ...string) { f.cfg.indexNames = names }

// SetListing turns directory listings on or off; off, a directory without
// an index file is 403.
func (f *File) SetListing(on bool) { f.cfg.listing = on }

// Close closes the directory File was opened on.
func (f *File) Close() error { return f.root.Close() }

// GetChild returns the File for the segment name below a directory; names
// that could leave the directory (".", "..", or holding a slash, backslash
// or NUL) are 403, and a name that does not exist is 404.
func (f *File) GetChild(name string, req *web.Request) web.Resource {
	if name == "" {
		return f.index()
	}
	if name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return web.ForbiddenResource("That path is not allowed.")
	}
	st, err := f.root.Stat(f.rel)
	if err != nil || !st.IsDir() {
		return notFound
	}
	return &File{root: f.root, rel: path.Join(f.rel, name), cfg: f.cfg}
}

var notFound = web.NoResource("File not found.")

// index returns a directory's index file, or f itself to list it.
func (f *File) index() web.Resource {
	for _, n := range f.cfg.indexNames {
		child := path.Join(f.rel, n)
		if st, err := f.root.Stat(child); err == nil && st.Mode().IsRegular() {
			return &File{root: f.root, rel: child, cfg: f.cfg}
		}
	}
	return &listing{f}
}

// PutChild panics: a File's children are its directory's entries.
func (f *File) PutChild(name string, child web.Resource) {
	panic("static: PutChild on a File")
}

// IsLeaf returns false: traversal continues into directories.
func (f *File) IsLeaf() bool { return false }

// Render serves GET and HEAD; other methods get 405.
func (f *File) Render(req *web.Request) ([]byte, error) {
	if req.Method != "GET" && req.Method != "HEAD" {
		req.SetHeader("Allow", "GET, HEAD")
		return web.ErrorPage(req, http.StatusMethodNotAllowed, "Method Not Allowed", "Files are read-only."), nil
	}
	st, err := f.root.Stat(f.rel)
	if err != nil {
		return web.Render(notFound, req)
	}
	if st.IsDir() {
		// A directory's page lives at its path with a slash, so that
		// relative links in it resolve below it (Twisted's addSlash).
		if !strings.HasSuffix(req.Path, "/") {
			req.Redirect(req.Path + "/" + query(req.URI))
			return nil, nil
		}
		return web.Render(f.index(), req)
	}
	if !st.Mode().IsRegular() {
		return web.Render(notFound, req)
	}
	return f.serve(req, st)
}

func query(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[i:]
	}
	return ""
}

// serve answers a GET or HEAD for a regular file.
func (f *File) serve(req *web.Request, st fs.FileInfo) ([]byte, error) {
	size := st.Size()
	etag := fmt.Sprintf(`W/"%x-%x"`, st.ModTime().UnixNano(), size)
	req.SetHeader("Accept-Ranges", "bytes")
	if req.SetETag(etag) || req.SetLastModified(st.ModTime()) {
		return nil, nil
	}
	typ := mime.TypeByExtension(path.Ext(f.rel))
	if typ == "" {
		typ = DefaultType
	}
	req.SetHeader("Content-Type", typ)
	start, length := int64(0), size
	if rng := req.GetHeader("Range"); rng != "" && ifRange(req, etag) {
		switch s, n, ok := parseRange(rng, size); {
		case ok && n < 0:
			req.SetResponseCode(http.StatusRequestedRangeNotSatisfiable)
			req.SetHeader("Content-Range", fmt.Sprintf("bytes */%d", size))
			req.ResponseHeaders.Del("Content-Type")
			req.SetHeader("Content-Type", "text/plain")
			return nil, nil
		case ok:
			start, length = s, n
			req.SetResponseCode(http.StatusPartialContent)
			req.SetHeader("Content-Range", fmt.Sprintf("bytes %d-%d/%d", s, s+n-1, size))
		}
	}
	req.SetHeader("Content-Length", fmt.Sprint(length))
	if req.Method == "HEAD" || length == 0 {
		return nil, nil
	}
	fh, err := f.root.Open(f.rel)
	if err != nil {
		return nil, err
	}
	if start > 0 {
		if _, err := fh.Seek(start, io.SeekStart); err != nil {
			fh.Close()
			return nil, err
		}
	}
	p := &producer{req: req, f: fh, left: length}
	if err := req.RegisterProducer(p, false); err != nil {
		fh.Close()
		return nil, err
	}
	return nil, web.NotDoneYet
}

// ifRange applies If-Range: a Range counts only if the validator it names
// is still current (RFC 9110 §13.1.5).
func ifRange(req *web.Request, etag string) bool {
	v := req.GetHeader("If-Range")
	return v == "" || v == etag || v == req.ResponseHeaders.Get("Last-Modified")
}

// producer writes a file's bytes to a response a chunk at a time, when the
// connection asks for more (a pull producer: Twisted's
// NoRangeStaticProducer and SingleRangeStaticProducer).
type producer struct {
	req  *web.Request
	f    *os.File
	left int64
	buf  []byte
	done bool
}

// ResumeProducing writes the next chunk, and finishes the response after
// the last.
func (p *producer) ResumeProducing() {
	if p.done {
		return
	}
	if p.buf == nil {
		p.buf = make([]byte, min(p.left, ChunkSize))
	}
	n, err := io.ReadFull(p.f, p.buf[:min(p.left, int64(len(p.buf)))])
	if n > 0 {
		p.left -= int64(n)
		if p.req.Write(p.buf[:n]) != nil {
			p.stop()
			return
		}
	}
	if err != nil && !errors.Is(err, io.EOF) || err == nil && n == 0 {
		slog.Warn("static: reading a file failed", "err", err)
	}
	if p.left == 0 || err != nil {
		// A file that shrank leaves the response short of its
		// Content-Length: Finish closes the connection then.
		p.stop()
		p.req.UnregisterProducer()
		p.req.Finish()
	}
}

// StopProducing closes the file: the client went away.
func (p *producer) StopProducing() { p.stop() }

func (p *producer) stop() {
	if !p.done {
		p.done = true
		p.f.Close()
	}
}
