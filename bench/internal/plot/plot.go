// Package plot draws the charts of the benchmark and soak reports: line
// charts of series over a shared X axis and grouped bar charts, written as
// SVG (or PNG, by the file's extension) with gonum.org/v1/plot.
//
// It is a deliberately small layer: a title, axis labels, one legend entry
// per series, distinct colours and dashes, and nothing to configure, so
// that every chart in docs/ looks alike.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Series is one line of a line chart: the points (X[i], Y[i]), in order.
type Series struct {
	Name string
	X, Y []float64
}

// BarSeries is one colour of a bar chart: Values[i] is its bar in the
// chart's i-th category. A NaN value is a bar that was not measured: it is
// left out, and the category keeps its place.
type BarSeries struct {
	Name   string
	Values []float64
}

// The size of a chart: line charts are this size, bar charts widen with
// their bars.
const (
	width  = 7 * vg.Inch
	height = 4 * vg.Inch
	// A bar is as wide as fills 70% of its category's share of a chart
	// of the usual width, within these bounds; a chart of many bars
	// widens instead.
	minBar, maxBar = 8, 20 // points
	groupGap       = 4 * vg.Millimeter
)

// Lines draws series as lines over a shared X axis, one colour and dash
// pattern each, and writes the chart to path: SVG for a .svg name, PNG for
// .png. It returns an error, writing nothing, if there is no series, if a
// series' X and Y differ in length or if a value is NaN or infinite.
func Lines(path, title, xLabel, yLabel string, series ...Series) error {
	if len(series) == 0 {
		return errors.New("plot: no series")
	}
	p := newPlot(title, xLabel, yLabel)
	for i, s := range series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("plot: series %q has %d X and %d Y values", s.Name, len(s.X), len(s.Y))
		}
		pts := make(plotter.XYs, len(s.X))
		for j := range pts {
			pts[j].X, pts[j].Y = s.X[j], s.Y[j]
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	roomForLegend(p, len(series))
	return save(p, width, height, path)
}

// Bars draws a grouped bar chart: one group per category, named on the X
// axis, with one bar per series in each, and writes it to path as Lines
// does. Every series needs a value per category; values must not be
// negative or infinite (NaN is a missing bar). The Y axis starts at zero.
func Bars(path, title, yLabel string, categories []string, series ...BarSeries) error {
	if len(series) == 0 || len(categories) == 0 {
		return errors.New("plot: no series or no categories")
	}
	p := newPlot(title, "", yLabel)
	barWidth := (width - 1.5*vg.Inch) * 0.7 / vg.Length(len(categories)*len(series))
	barWidth = min(max(barWidth, minBar), maxBar)
	top := 0.0
	for i, s := range series {
		if len(s.Values) != len(categories) {
			return fmt.Errorf("plot: series %q has %d values for %d categories", s.Name, len(s.Values), len(categories))
		}
		vals := make(plotter.Values, len(s.Values))
		for j, v := range s.Values {
			switch {
			case math.IsNaN(v):
				v = 0
			case v < 0 || math.IsInf(v, 0):
				return fmt.Errorf("plot: series %q: value %v in category %q", s.Name, v, categories[j])
			}
			vals[j] = v
			top = max(top, v)
		}
		b, err := plotter.NewBarChart(vals, barWidth)
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		// The group is centred on its category.
		b.Offset = vg.Length(float64(i)-float64(len(series)-1)/2) * barWidth
		p.Add(b)
		p.Legend.Add(s.Name, b)
	}
	p.NominalX(categories...)
	// The axis holds the outer bars of the first and last groups whole.
	p.X.Min, p.X.Max = -0.5, float64(len(categories))-0.5
	p.Y.Min, p.Y.Max = 0, math.Max(top, 1e-9)
	roomForLegend(p, len(series))
	if len(categories) > 4 {
		p.X.Tick.Label.Rotation = math.Pi / 8
		p.X.Tick.Label.XAlign = -0.9 // right-aligned under its group
	}
	w := vg.Length(len(categories))*(vg.Length(len(series))*barWidth+groupGap) + 1.5*vg.Inch
	return save(p, max(w, width), height, path)
}

// roomForLegend raises the top of p's Y axis so that the data stays below
// the legend of n entries, which sits inside the chart's top right corner.
func roomForLegend(p *gplot.Plot, n int) {
	// The legend's height as a share of the plotting area's, from the
	// default font's line height and the space the title and the X axis
	// take.
	const entry, chrome vg.Length = 13, 80 // points
	share := float64(vg.Length(n)*entry+10) / float64(height-chrome)
	share = min(share, 0.6)
	p.Y.Max += (p.Y.Max - p.Y.Min) * share / (1 - share)
}

// newPlot returns an empty chart with the common look.
func newPlot(title, xLabel, yLabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	p.BackgroundColor = color.White
	return p
}

// save writes p to path in the format its extension names.
func save(p *gplot.Plot, w, h vg.Length, path string) error {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".svg", ".png":
	default:
		return fmt.Errorf("plot: %s: want a .svg or .png name", path)
	}
	if err := p.Save(w, h, path); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
