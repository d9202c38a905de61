// Package static serves files and fixed data (Twisted's twisted.web.static):
// File serves a directory tree, with Last-Modified and ETag validation,
// byte ranges, index files and listings, streaming each file through a
// producer paced by the connection's flow control; Data serves bytes held
// in memory.
package static

import (
	"github.com/twistgo/twist/web"
)

// Data is a leaf resource that serves fixed bytes for GET and HEAD
// (Twisted's static.Data).
type Data struct {
	web.BaseResource
	// Body is what every GET gets.
	Body []byte
	// Type is the Content-Type.
	Type string
}

// NewData returns a Data resource serving body as typ.
func NewData(body []byte, typ string) *Data {
	d := &Data{Body: body, Type: typ}
	d.Leaf = true
	return d
}

// RenderGET returns the data.
func (d *Data) RenderGET(r *web.Request) ([]byte, error) {
	r.SetHeader("Content-Type", d.Type)
	return d.Body, nil
}
