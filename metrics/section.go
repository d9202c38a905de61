package metrics

import (
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twistgo/twist/reactor"
)

// A Figure is one of a program's own numbers, in a Section: what the
// registry does not know of, such as a crawler's pages and queue.
type Figure struct {
	// Name is the figure's name in snake_case ([a-z][a-z0-9_]*); the
	// Prometheus metric is twist_SECTION_NAME, with _total added for a
	// counter, so put the unit in the name (_bytes, _seconds).
	Name string `json:"name"`
	// Label and LabelValue, if Label is set, tell apart the figures of
	// one name, such as errors by kind: a Prometheus label. Keep the
	// values few: never take them from a peer.
	Label      string `json:"label,omitempty"`
	LabelValue string `json:"label_value,omitempty"`
	// Help says what it counts; the figures of one name share it.
	Help string `json:"help"`
	// Counter is set for a cumulative count (its rate is shown); a figure
	// that goes up and down, such as a queue's length, is a gauge.
	Counter bool    `json:"counter"`
	Value   float64 `json:"value"`
}

// Key names the figure within its section: Name, or Name/LabelValue.
func (f *Figure) Key() string {
	if f.Label == "" {
		return f.Name
	}
	return f.Name + "/" + f.LabelValue
}

// Section is a program's own figures in a Snapshot (Registry.AddSection).
type Section struct {
	Name string `json:"name"`
	// Responding is false when the section's loop did not run its reader
	// in time; the figures are then those it gave last.
	Responding bool     `json:"responding"`
	Figures    []Figure `json:"figures"`
}

// section is a registered section and the figures it gave last.
type section struct {
	name string
	loop *reactor.Reactor
	read func() []Figure
	mu   sync.Mutex
	last []Figure
}

var sectionName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// AddSection adds a section of the program's own figures under name (in
// snake_case, such as "crawl"), shown on the status page, in the Snapshot
// and as Prometheus metrics twist_NAME_*. read gives the figures now; it is
// called for each Snapshot and each scrape. If loop is not nil, read runs
// on loop, so that it may read what the loop's callbacks write without a
// lock, and a loop that does not run it within the loop wait leaves the
// section reported as not responding, with the figures it gave last; a
// nil loop lets read run on the reader's goroutine. It panics if name is
// not snake_case.
func (r *Registry) AddSection(name string, loop *reactor.Reactor, read func() []Figure) {
	if !sectionName.MatchString(name) {
		panic(fmt.Sprintf("metrics: section name %q is not snake_case", name))
	}
	r.mu.Lock()
	r.sections = append(r.sections, &section{name: name, loop: loop, read: read})
	r.mu.Unlock()
}

// readSections reads every section at once, each on its loop if it has
// one, and returns them when done: wait bounds the time the caller waits
// for each.
func readSections(sections []*section, wait time.Duration) func() []Section {
	out := make([]Section, len(sections))
	var wg sync.WaitGroup
	for i, s := range sections {
		wg.Go(func() { out[i] = s.snapshot(wait) })
	}
	return func() []Section {
		wg.Wait()
		return out
	}
}

func (s *section) snapshot(wait time.Duration) Section {
	var figs []Figure
	ok := true
	if s.loop == nil {
		figs = s.read()
	} else {
		ch := make(chan []Figure, 1)
		s.loop.CallFromThread(func() { ch <- s.read() })
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case figs = <-ch:
		case <-t.C:
			ok = false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.last = figs
	}
	return Section{Name: s.name, Responding: ok, Figures: append([]Figure(nil), s.last...)}
}

// sectionCollector gives the sections as Prometheus metrics. Their names
// are known only once read, so it is an unchecked collector: it describes
// nothing.
type sectionCollector struct{ r *Registry }

func (sectionCollector) Describe(chan<- *prometheus.Desc) {}

func (c sectionCollector) Collect(ch chan<- prometheus.Metric) {
	c.r.mu.Lock()
	sections, wait := append([]*section(nil), c.r.sections...), c.r.wait
	c.r.mu.Unlock()
	for _, s := range readSections(sections, wait)() {
		collectSection(ch, &s)
	}
}

// collectSection sends a section's figures; one whose name Prometheus
// refuses is sent as an invalid metric, which fails that metric alone.
func collectSection(ch chan<- prometheus.Metric, s *Section) {
	for _, f := range s.Figures {
		name, kind := "twist_"+s.Name+"_"+f.Name, prometheus.GaugeValue
		if f.Counter {
			name, kind = name+"_total", prometheus.CounterValue
		}
		var labels, values []string
		if f.Label != "" {
			labels, values = []string{f.Label}, []string{f.LabelValue}
		}
		d := prometheus.NewDesc(name, f.Help, labels, nil)
		m, err := prometheus.NewConstMetric(d, kind, f.Value, values...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
}
