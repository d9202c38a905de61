package service

import (
	"errors"
	"slices"
	"testing"

	"github.com/twistgo/twist/deferred"
)

// recorder is a service that records its starts and stops in a shared log,
// and can be told to fail or to stop later.
type recorder struct {
	Base
	id       string
	log      *[]string
	startErr error
	stopD    *deferred.Deferred // returned by StopService if set
}

func (r *recorder) StartService() error {
	*r.log = append(*r.log, "start "+r.id)
	if r.startErr != nil {
		return r.startErr
	}
	return r.Base.StartService()
}

func (r *recorder) StopService() *deferred.Deferred {
	*r.log = append(*r.log, "stop "+r.id)
	r.Base.StopService()
	return r.stopD
}

func named(t *testing.T, name string) *Base {
	t.Helper()
	s := &Base{}
	if err := s.SetName(name); err != nil {
		t.Fatal(err)
	}
	return s
}

func children(c Collection) []Service { return slices.Collect(c.Services()) }

func mustResult(t *testing.T, d *deferred.Deferred) any {
	t.Helper()
	if d == nil {
		t.Fatal("nil Deferred")
	}
	v, err := d.Result()
	if err != nil {
		t.Fatalf("Deferred: %v", err)
	}
	return v
}

func TestName(t *testing.T) {
	s := named(t, "hello")
	if s.Name() != "hello" {
		t.Fatalf("Name() = %q", s.Name())
	}
}

func TestParent(t *testing.T) {
	s, p := &Base{}, NewMultiService()
	if err := SetServiceParent(s, p); err != nil {
		t.Fatal(err)
	}
	if got := children(p); !slices.Equal(got, []Service{s}) {
		t.Fatalf("children = %v", got)
	}
	if s.Parent() != p {
		t.Fatalf("Parent() = %v, want %v", s.Parent(), p)
	}
}

func TestApplicationAsParent(t *testing.T) {
	s, a := &Base{}, NewApplication("")
	if err := SetServiceParent(s, a); err != nil {
		t.Fatal(err)
	}
	if got := children(a); !slices.Equal(got, []Service{s}) {
		t.Fatalf("children = %v", got)
	}
	if s.Parent() != Collection(a) {
		t.Fatalf("Parent() = %T, want the *Application", s.Parent())
	}
}

func TestNamedChild(t *testing.T) {
	s, p := named(t, "hello"), NewMultiService()
	if err := SetServiceParent(s, p); err != nil {
		t.Fatal(err)
	}
	got, ok := p.GetServiceNamed("hello")
	if !ok || got != s {
		t.Fatalf("GetServiceNamed = %v, %v", got, ok)
	}
	if _, ok := p.GetServiceNamed("other"); ok {
		t.Fatal("GetServiceNamed found a service that was never added")
	}
}

func TestRenameWithParentFails(t *testing.T) {
	s, p := named(t, "hello"), NewMultiService()
	SetServiceParent(s, p)
	if err := s.SetName("lala"); !errors.Is(err, ErrHasParent) {
		t.Fatalf("SetName = %v, want ErrHasParent", err)
	}
	if s.Name() != "hello" {
		t.Fatalf("name changed to %q", s.Name())
	}
}

func TestDuplicateNamedChild(t *testing.T) {
	p := NewMultiService()
	SetServiceParent(named(t, "hello"), p)
	s := named(t, "hello")
	if err := SetServiceParent(s, p); !errors.Is(err, ErrDuplicateName) {
		t.Fatalf("SetServiceParent = %v, want ErrDuplicateName", err)
	}
	if s.Parent() != nil || p.Len() != 1 {
		t.Fatalf("failed add left parent %v and %d children", s.Parent(), p.Len())
	}
}

func TestUnnamedChildrenDoNotClash(t *testing.T) {
	p := NewMultiService()
	for range 3 {
		if err := SetServiceParent(&Base{}, p); err != nil {
			t.Fatal(err)
		}
	}
	if p.Len() != 3 {
		t.Fatalf("Len() = %d", p.Len())
	}
}

func TestDisowning(t *testing.T) {
	s, p := &Base{}, NewMultiService()
	SetServiceParent(s, p)
	if _, err := DisownServiceParent(s); err != nil {
		t.Fatal(err)
	}
	if len(children(p)) != 0 || s.Parent() != nil {
		t.Fatalf("after disowning: children %v, parent %v", children(p), s.Parent())
	}
}

func TestDisownNamedFreesName(t *testing.T) {
	s, p := named(t, "hello"), NewMultiService()
	SetServiceParent(s, p)
	DisownServiceParent(s)
	if _, ok := p.GetServiceNamed("hello"); ok {
		t.Fatal("name still registered")
	}
	if err := SetServiceParent(named(t, "hello"), p); err != nil {
		t.Fatalf("reusing the name: %v", err)
	}
}

func TestDisownWithoutParent(t *testing.T) {
	if _, err := DisownServiceParent(&Base{}); !errors.Is(err, ErrNoParent) {
		t.Fatalf("DisownServiceParent = %v, want ErrNoParent", err)
	}
}

func TestSetServiceParentMoves(t *testing.T) {
	s, p1, p2 := &Base{}, NewMultiService(), NewMultiService()
	SetServiceParent(s, p1)
	if err := SetServiceParent(s, p2); err != nil {
		t.Fatal(err)
	}
	if p1.Len() != 0 || p2.Len() != 1 || s.Parent() != p2 {
		t.Fatalf("after moving: %d and %d children, parent %v", p1.Len(), p2.Len(), s.Parent())
	}
}

func TestAddServiceWithParentFails(t *testing.T) {
	s, p1, p2 := &Base{}, NewMultiService(), NewMultiService()
	p1.AddService(s)
	if err := p2.AddService(s); !errors.Is(err, ErrHasParent) {
		t.Fatalf("AddService = %v, want ErrHasParent", err)
	}
}

func TestRemoveNotChild(t *testing.T) {
	if _, err := NewMultiService().RemoveService(&Base{}); !errors.Is(err, ErrNotChild) {
		t.Fatalf("RemoveService = %v, want ErrNotChild", err)
	}
}

func TestRunning(t *testing.T) {
	s := &Base{}
	if s.Running() {
		t.Fatal("new service running")
	}
	s.StartService()
	if !s.Running() {
		t.Fatal("not running after StartService")
	}
	if d := s.StopService(); d != nil {
		t.Fatalf("Base.StopService = %v, want nil", d)
	}
	if s.Running() {
		t.Fatal("running after StopService")
	}
}

func TestRunningChildren(t *testing.T) {
	s, p := &Base{}, NewMultiService()
	SetServiceParent(s, p)
	if s.Running() || p.Running() {
		t.Fatal("running before start")
	}
	p.StartService()
	if !s.Running() || !p.Running() {
		t.Fatal("not running after start")
	}
	mustResult(t, p.StopService())
	if s.Running() || p.Running() {
		t.Fatal("running after stop")
	}
}

func TestStartInOrderStopInReverse(t *testing.T) {
	var log []string
	p := NewMultiService()
	for _, id := range []string{"a", "b", "c"} {
		SetServiceParent(&recorder{id: id, log: &log}, p)
	}
	p.StartService()
	mustResult(t, p.StopService())
	want := []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}
	if !slices.Equal(log, want) {
		t.Fatalf("log = %q, want %q", log, want)
	}
}

// TestRunningChildren2 pins down that a child is started after the ones added
// before it, and stopped before them (Twisted's testRunningChildren2).
func TestEarlierSiblingRunsAroundLaterOne(t *testing.T) {
	first := &Base{}
	var sawRunning []bool
	second := &hook{
		start: func() { sawRunning = append(sawRunning, first.Running()) },
		stop:  func() { sawRunning = append(sawRunning, first.Running()) },
	}
	p := NewMultiService()
	SetServiceParent(first, p)
	SetServiceParent(second, p)
	p.StartService()
	p.StopService()
	if !slices.Equal(sawRunning, []bool{true, true}) {
		t.Fatalf("first running during second's start and stop: %v", sawRunning)
	}
}

type hook struct {
	Base
	start, stop func()
}

func (h *hook) StartService() error {
	h.start()
	return h.Base.StartService()
}

func (h *hook) StopService() *deferred.Deferred {
	h.stop()
	return h.Base.StopService()
}

func TestStopWaitsForAllChildren(t *testing.T) {
	var log []string
	d1, d2 := deferred.New(), deferred.New()
	p := NewMultiService()
	SetServiceParent(&recorder{id: "a", log: &log, stopD: d1}, p)
	SetServiceParent(&recorder{id: "b", log: &log, stopD: d2}, p)
	p.StartService()
	d := p.StopService()
	if d.Called() {
		t.Fatal("fired before the children stopped")
	}
	d1.Callback(nil)
	if d.Called() {
		t.Fatal("fired before the second child stopped")
	}
	d2.Callback(nil)
	outcomes := mustResult(t, d).([]deferred.Outcome)
	if len(outcomes) != 2 || !outcomes[0].OK || !outcomes[1].OK {
		t.Fatalf("outcomes = %+v", outcomes)
	}
}

func TestStopRecordsChildFailure(t *testing.T) {
	var log []string
	boom := errors.New("boom")
	p := NewMultiService()
	SetServiceParent(&recorder{id: "a", log: &log, stopD: deferred.Fail(boom)}, p)
	SetServiceParent(&recorder{id: "b", log: &log}, p)
	p.StartService()
	outcomes := mustResult(t, p.StopService()).([]deferred.Outcome)
	// Reverse order: b first, then the failing a.
	if !outcomes[0].OK || outcomes[1].OK || !errors.Is(outcomes[1].Failure, boom) {
		t.Fatalf("outcomes = %+v", outcomes)
	}
	outcomes[1].Failure.Trap(boom)
}

func TestStopEmptyFiresAtOnce(t *testing.T) {
	p := NewMultiService()
	p.StartService()
	if got := mustResult(t, p.StopService()).([]deferred.Outcome); len(got) != 0 {
		t.Fatalf("outcomes = %v", got)
	}
}

func TestStartStopsAtFailingChild(t *testing.T) {
	var log []string
	boom := errors.New("address in use")
	p := NewMultiService()
	a := &recorder{id: "a", log: &log}
	b := &recorder{id: "b", log: &log, startErr: boom}
	c := &recorder{id: "c", log: &log}
	for _, s := range []Service{a, b, c} {
		SetServiceParent(s, p)
	}
	if err := p.StartService(); !errors.Is(err, boom) {
		t.Fatalf("StartService = %v, want %v", err, boom)
	}
	if !a.Running() || b.Running() || c.Running() {
		t.Fatalf("running: a %v b %v c %v", a.Running(), b.Running(), c.Running())
	}
}

func TestAddingIntoRunning(t *testing.T) {
	p := NewMultiService()
	p.StartService()
	s := &Base{}
	SetServiceParent(s, p)
	if !s.Running() {
		t.Fatal("child added to a running MultiService not started")
	}
	d, err := DisownServiceParent(s)
	if err != nil {
		t.Fatal(err)
	}
	mustResult(t, d)
	if s.Running() {
		t.Fatal("child removed from a running MultiService still running")
	}
}

func TestAddingIntoRunningReportsStartError(t *testing.T) {
	var log []string
	boom := errors.New("boom")
	p := NewMultiService()
	p.StartService()
	s := &recorder{id: "a", log: &log, startErr: boom}
	if err := p.AddService(s); !errors.Is(err, boom) {
		t.Fatalf("AddService = %v, want %v", err, boom)
	}
}

func TestRemoveFromRunningReturnsStopDeferred(t *testing.T) {
	var log []string
	stop := deferred.New()
	p := NewMultiService()
	s := &recorder{id: "a", log: &log, stopD: stop}
	SetServiceParent(s, p)
	p.StartService()
	d, _ := p.RemoveService(s)
	if d.Called() {
		t.Fatal("fired before the child stopped")
	}
	stop.Callback("done")
	if v := mustResult(t, d); v != "done" {
		t.Fatalf("result = %v", v)
	}
}

func TestRemoveFromStoppedDoesNotStop(t *testing.T) {
	var log []string
	p := NewMultiService()
	s := &recorder{id: "a", log: &log}
	SetServiceParent(s, p)
	d, _ := p.RemoveService(s)
	mustResult(t, d)
	if len(log) != 0 {
		t.Fatalf("log = %q", log)
	}
}

func TestStopServicePanicBecomesFailure(t *testing.T) {
	p := NewMultiService()
	SetServiceParent(&hook{start: func() {}, stop: func() { panic("kaboom") }}, p)
	p.StartService()
	outcomes := mustResult(t, p.StopService()).([]deferred.Outcome)
	var pe *deferred.PanicError
	if outcomes[0].OK || !errors.As(outcomes[0].Failure, &pe) {
		t.Fatalf("outcomes = %+v", outcomes)
	}
	outcomes[0].Failure.Trap(pe)
}

func TestIterationIsASnapshot(t *testing.T) {
	p := NewMultiService()
	a, b := &Base{}, &Base{}
	SetServiceParent(a, p)
	SetServiceParent(b, p)
	var seen []Service
	for s := range p.Services() {
		seen = append(seen, s)
		DisownServiceParent(s)
	}
	if !slices.Equal(seen, []Service{a, b}) || p.Len() != 0 {
		t.Fatalf("seen %v, %d left", seen, p.Len())
	}
}

func TestNestedMultiServices(t *testing.T) {
	var log []string
	root, mid := NewMultiService(), NewMultiService()
	SetServiceParent(&recorder{id: "a", log: &log}, root)
	SetServiceParent(mid, root)
	SetServiceParent(&recorder{id: "b", log: &log}, mid)
	SetServiceParent(&recorder{id: "c", log: &log}, root)
	root.StartService()
	mustResult(t, root.StopService())
	want := []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}
	if !slices.Equal(log, want) {
		t.Fatalf("log = %q, want %q", log, want)
	}
}

func TestRestart(t *testing.T) {
	s, p := &Base{}, NewMultiService()
	SetServiceParent(s, p)
	p.StartService()
	p.StopService()
	p.StartService()
	if !s.Running() {
		t.Fatal("child not running after restart")
	}
}

func TestApplication(t *testing.T) {
	a := NewApplication("hello")
	if a.Name() != "hello" || a.Parent() != nil {
		t.Fatalf("Name %q, Parent %v", a.Name(), a.Parent())
	}
	if a.UID != -1 || a.GID != -1 {
		t.Fatalf("UID %d GID %d, want -1 -1", a.UID, a.GID)
	}
	var _ Collection = a
}

func TestApplicationStartsAndStopsChildren(t *testing.T) {
	var log []string
	a := NewApplication("app")
	SetServiceParent(&recorder{id: "a", log: &log}, a)
	SetServiceParent(named(t, "x"), a)
	if err := a.StartService(); err != nil {
		t.Fatal(err)
	}
	if !a.Running() {
		t.Fatal("application not running")
	}
	if s, ok := a.GetServiceNamed("x"); !ok || !s.Running() {
		t.Fatal("named child not running")
	}
	mustResult(t, a.StopService())
	if !slices.Equal(log, []string{"start a", "stop a"}) {
		t.Fatalf("log = %q", log)
	}
}
