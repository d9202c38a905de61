package plot

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// svgText parses the SVG document at path and returns its text content,
// failing the test if it is not well-formed XML with an <svg> root.
func svgText(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	var text strings.Builder
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			text.Write(tok)
			text.WriteByte('\n')
		}
	}
	if root != "svg" {
		t.Fatalf("%s: root element %q, want svg", path, root)
	}
	return text.String()
}

func TestLinesWritesSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rss.svg")
	err := Lines(path, "RSS over time", "seconds", "MiB",
		Series{Name: "rss", X: []float64{0, 1, 2, 3}, Y: []float64{10, 12, 11, 12}},
		Series{Name: "descriptors", X: []float64{0, 1, 2}, Y: []float64{5, 7, 6}},
	)
	if err != nil {
		t.Fatal(err)
	}
	text := svgText(t, path)
	for _, want := range []string{"RSS over time", "seconds", "MiB", "rss", "descriptors"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the chart's text:\n%s", want, text)
		}
	}
}

func TestBarsWritesSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.svg")
	cats := []string{"echo 64 B", "echo 16 KiB", "idle"}
	err := Bars(path, "CPU per message", "ns", cats,
		BarSeries{Name: "twist", Values: []float64{900, 4000, 1}},
		BarSeries{Name: "gnet", Values: []float64{800, math.NaN(), 2}},
	)
	if err != nil {
		t.Fatal(err)
	}
	text := svgText(t, path)
	for _, want := range append(cats, "CPU per message", "ns", "twist", "gnet") {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the chart's text:\n%s", want, text)
		}
	}
}

func TestPNGByExtension(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.png")
	if err := Bars(path, "t", "y", []string{"a"}, BarSeries{Name: "s", Values: []float64{1}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("%s does not start with PNG's signature: % x", path, b[:min(8, len(b))])
	}
}

func TestRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		draw func(path string) error
	}{
		{"no series", func(p string) error { return Lines(p, "t", "x", "y") }},
		{"lengths differ", func(p string) error {
			return Lines(p, "t", "x", "y", Series{Name: "s", X: []float64{1, 2}, Y: []float64{1}})
		}},
		{"NaN point", func(p string) error {
			return Lines(p, "t", "x", "y", Series{Name: "s", X: []float64{1}, Y: []float64{math.NaN()}})
		}},
		{"no bar series", func(p string) error { return Bars(p, "t", "y", []string{"a"}) }},
		{"no categories", func(p string) error { return Bars(p, "t", "y", nil, BarSeries{Name: "s"}) }},
		{"values per category", func(p string) error {
			return Bars(p, "t", "y", []string{"a", "b"}, BarSeries{Name: "s", Values: []float64{1}})
		}},
		{"negative bar", func(p string) error {
			return Bars(p, "t", "y", []string{"a"}, BarSeries{Name: "s", Values: []float64{-1}})
		}},
		{"infinite bar", func(p string) error {
			return Bars(p, "t", "y", []string{"a"}, BarSeries{Name: "s", Values: []float64{math.Inf(1)}})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".svg")
			if err := tt.draw(path); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was written (stat: %v)", path, err)
			}
		})
	}
	if err := Lines(filepath.Join(dir, "chart.pdf"), "t", "x", "y", Series{Name: "s", X: []float64{1}, Y: []float64{1}}); err == nil {
		t.Error("a .pdf name was accepted")
	}
}
