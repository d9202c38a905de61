package plot_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/twistgo/twist/bench/internal/plot"
)

func ExampleLines() {
	dir, err := os.MkdirTemp("", "plot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rss.svg")
	err = plot.Lines(path, "Resident memory", "seconds", "MiB",
		plot.Series{Name: "twistd", X: []float64{0, 60, 120}, Y: []float64{31, 33, 32}})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleBars() {
	dir, err := os.MkdirTemp("", "plot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cpu.svg")
	err = plot.Bars(path, "Server CPU per message", "ns", []string{"64 B", "16 KiB"},
		plot.BarSeries{Name: "twist", Values: []float64{950, 4100}},
		plot.BarSeries{Name: "gnet", Values: []float64{900, 3900}})
	fmt.Println(err)
	// Output: <nil>
}
