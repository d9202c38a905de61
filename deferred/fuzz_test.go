package deferred

import (
	"errors"
	"fmt"
	"testing"
)

// fuzzDeferreds is how many Deferreds a chain program plays with.
const fuzzDeferreds = 4

// fuzzErr is the error a "fail" step returns, carrying its input.
type fuzzErr struct{ n int }

func (e *fuzzErr) Error() string { return fmt.Sprintf("fuzz failure %d", e.n) }

// fuzzStep is one step a chain program added, and what became of it.
type fuzzStep struct {
	d, seq int // its Deferred, and its rank among that Deferred's steps
	// opaque steps return what the check cannot predict: a Deferred, or a
	// panic's failure.
	opaque bool
	// barrier marks the point where the Deferred's result was handed on,
	// by Chain or to a Deferred waiting on it: nil follows.
	barrier  bool
	calls    int
	in, out  any
	returned bool
}

// chainProgram plays a program on a few Deferreds and checks the
// invariants of the chain as it goes.
type chainProgram struct {
	t       *testing.T
	ds      [fuzzDeferreds]*Deferred
	steps   []*fuzzStep
	perD    [fuzzDeferreds]int
	target  [fuzzDeferreds]bool // waited on or chained to: used once as a target
	chained [fuzzDeferreds]bool // fired by a Chain: the program must not fire it
	// paused counts the program's own pauses: a Deferred that waits on
	// another is paused too, and that pause is not the program's to undo.
	paused   [fuzzDeferreds]int
	ran      [fuzzDeferreds][]int
	nextFail int
}

// add adds a recorded step to Deferred i.
func (p *chainProgram) add(i int, kind byte, j int) {
	s := &fuzzStep{d: i, seq: p.perD[i]}
	p.perD[i]++
	p.steps = append(p.steps, s)
	enter := func(in any) {
		s.calls++
		if s.calls > 1 {
			p.t.Fatalf("step %d of Deferred %d ran twice", s.seq, i)
		}
		s.in = in
		p.ran[i] = append(p.ran[i], s.seq)
	}
	leave := func(out any) { s.out, s.returned = out, true }
	d := p.ds[i]
	switch kind % 6 {
	case 0: // a callback that adds one
		d.AddCallback(func(v any) (any, error) {
			enter(v)
			n, _ := v.(int)
			leave(n + 1)
			return n + 1, nil
		})
	case 1: // a callback that fails
		d.AddCallback(func(v any) (any, error) {
			enter(v)
			n, _ := v.(int)
			err := &fuzzErr{n}
			leave(err)
			return nil, err
		})
	case 2: // an errback that recovers
		d.AddErrback(func(f *Failure) (any, error) {
			enter(f)
			var fe *fuzzErr
			n := 100
			if errors.As(f, &fe) {
				n = fe.n + 100
			}
			leave(n)
			return n, nil
		})
	case 3: // both: passes the result on unchanged
		d.AddBoth(func(v any) (any, error) {
			enter(v)
			leave(v)
			return v, nil
		})
	case 4: // a callback that panics
		s.opaque = true
		d.AddCallback(func(v any) (any, error) {
			enter(v)
			panic("fuzz panic")
		})
	case 5: // a callback that waits on Deferred j
		if j <= i || p.target[j] {
			return
		}
		p.target[j] = true
		s.opaque = true
		w := p.ds[j]
		d.AddCallback(func(v any) (any, error) {
			enter(v)
			p.barrier(j)
			return w, nil
		})
	}
}

// barrier records that Deferred i's result is handed on from here.
func (p *chainProgram) barrier(i int) {
	p.steps = append(p.steps, &fuzzStep{d: i, seq: p.perD[i], barrier: true})
	p.perD[i]++
}

// run plays program: two bytes per operation.
func (p *chainProgram) run(program []byte) {
	for k := 0; k+1 < len(program); k += 2 {
		op, arg := program[k], program[k+1]
		i, j := int(arg)%fuzzDeferreds, int(arg>>4)%fuzzDeferreds
		d := p.ds[i]
		switch op % 8 {
		case 0, 1, 2:
			p.add(i, op/8, j)
		case 3: // fire with a value
			if !d.Called() && !p.chained[i] {
				d.Callback(int(arg))
			}
		case 4: // fail
			if !d.Called() && !p.chained[i] {
				p.nextFail++
				d.Errback(&fuzzErr{-p.nextFail})
			}
		case 5:
			if arg&1 == 0 {
				d.Pause()
				p.paused[i]++
			} else if p.paused[i] > 0 {
				p.paused[i]--
				d.Unpause()
			}
		case 6: // make Deferred j fire with i's result
			if j > i && !p.target[j] && !p.ds[j].Called() {
				p.target[j], p.chained[j] = true, true
				p.barrier(i)
				d.Chain(p.ds[j])
			}
		case 7:
			d.Cancel()
		}
	}
	// Let everything run: unpause, and fire what the program did not.
	for i, d := range p.ds {
		for ; p.paused[i] > 0; p.paused[i]-- {
			d.Unpause()
		}
		if !d.Called() && !p.chained[i] {
			d.Callback(0)
		}
	}
}

// check verifies what the steps saw: each ran at most once (checked as they
// ran), in the order added, and each got what the step before it returned.
func (p *chainProgram) check() {
	for i, seqs := range p.ran {
		for k := 1; k < len(seqs); k++ {
			if seqs[k] <= seqs[k-1] {
				p.t.Fatalf("Deferred %d ran its steps in the order %v", i, seqs)
			}
		}
	}
	var lastRun [fuzzDeferreds]*fuzzStep
	for _, s := range p.steps {
		if s.barrier {
			lastRun[s.d] = nil
			continue
		}
		if s.calls == 0 {
			continue // skipped: the result went past it
		}
		prev := lastRun[s.d]
		lastRun[s.d] = s
		if prev == nil || prev.opaque || !prev.returned {
			continue
		}
		if resultKey(prev.out) != resultKey(s.in) {
			p.t.Fatalf("Deferred %d: step %d got %v, but step %d returned %v", s.d, s.seq, s.in, prev.seq, prev.out)
		}
	}
}

// resultKey is what a result is compared by: a failure by its error.
func resultKey(v any) any {
	if f, ok := v.(*Failure); ok {
		return f.Value()
	}
	return v
}

// FuzzDeferredChain plays random programs of adds, fires, pauses, chains
// and cancels on a few Deferreds, and checks that no panic escapes, that
// each callback runs at most once and in the order added, and that each
// gets the result of the one that ran before it.
func FuzzDeferredChain(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{0, 0, 3, 5},                         // add, fire
		{0, 0, 8, 0, 16, 0, 3, 1},            // inc, fail, recover, fire
		{5, 0, 0, 0, 3, 0, 5, 1},             // pause, add, fire, unpause
		{40, 0x10, 3, 0, 3, 1},               // wait on 1, fire 0, fire 1
		{6, 0x10, 0, 1, 3, 0},                // chain 0 to 1, add to 1, fire 0
		{0, 0, 7, 0, 3, 0},                   // add, cancel, fire (dropped)
		{40, 0x10, 3, 0, 7, 0, 3, 1},         // wait, fire, cancel the waiter
		{32, 0, 3, 0, 24, 0},                 // a callback that panics, then both
		{4, 2, 16, 2, 0, 2, 24, 2, 8, 2},     // errback then recover, inc, both, fail
		{6, 0x21, 6, 0x32, 3, 1, 0, 3, 7, 3}, // chains 1->2->3
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, program []byte) {
		if len(program) > 512 {
			return
		}
		p := &chainProgram{t: t}
		for i := range p.ds {
			p.ds[i] = New()
		}
		p.run(program)
		p.check()
		// Leave no failure to be reported as unhandled by the run.
		for _, d := range p.ds {
			if d.Paused() == 0 {
				d.AddErrback(func(*Failure) (any, error) { return nil, nil })
			}
		}
	})
}
