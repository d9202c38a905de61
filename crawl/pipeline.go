package crawl

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// A Pipeline processes each item a callback returns (Scrapy's item
// pipeline): it returns the item, changed or not, for the next pipeline, or
// a *deferred.Deferred that fires with it, or an error wrapping
// ErrDropItem to drop it. Another error drops it too and is logged.
type Pipeline interface {
	ProcessItem(item any) (any, error)
}

// A Closer is a Pipeline with work to do when the crawl ends, such as
// flushing a file.
type Closer interface {
	Close() error
}

// ErrDropItem, wrapped in a pipeline's error, drops an item quietly
// (Scrapy's DropItem).
var ErrDropItem = errors.New("crawl: item dropped")

// PipelineFunc makes a function a Pipeline.
type PipelineFunc func(item any) (any, error)

// ProcessItem calls f.
func (f PipelineFunc) ProcessItem(item any) (any, error) { return f(item) }

// JSONLines is a feed export: a Pipeline that writes each item as one line
// of JSON (encoding/json's encoding of it) and passes it on.
type JSONLines struct {
	enc *json.Encoder
}

// NewJSONLines returns a feed that writes to w.
func NewJSONLines(w io.Writer) *JSONLines {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONLines{enc: enc}
}

// ProcessItem writes item.
func (f *JSONLines) ProcessItem(item any) (any, error) {
	if err := f.enc.Encode(item); err != nil {
		return nil, err
	}
	return item, nil
}

// CSV is a feed export to CSV: a header line of Fields, then a line per
// item with those fields of the item's JSON object form (so a struct's
// json tags name its columns); a field the item lacks is empty.
type CSV struct {
	Fields []string
	// NoHeader leaves the header line out, to append to a feed that has
	// one (a resumed job's).
	NoHeader bool
	w        *csv.Writer
	header   bool
}

// NewCSV returns a CSV feed of fields to w.
func NewCSV(w io.Writer, fields ...string) *CSV {
	return &CSV{Fields: fields, w: csv.NewWriter(w)}
}

// ProcessItem writes item's row.
func (f *CSV) ProcessItem(item any) (any, error) {
	b, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("crawl: CSV feed: item is not an object: %w", err)
	}
	if !f.header && !f.NoHeader {
		f.header = true
		if err := f.w.Write(f.Fields); err != nil {
			return nil, err
		}
	}
	row := make([]string, len(f.Fields))
	for i, k := range f.Fields {
		switch v := m[k].(type) {
		case nil:
		case string:
			row[i] = v
		default:
			vb, _ := json.Marshal(v)
			row[i] = string(vb)
		}
	}
	if err := f.w.Write(row); err != nil {
		return nil, err
	}
	return item, nil
}

// Close flushes the rows written.
func (f *CSV) Close() error {
	f.w.Flush()
	return f.w.Error()
}
