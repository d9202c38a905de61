package deferred_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/twistgo/twist/deferred"
)

// getter is the Deferred reference's Getter: it fires its Deferred later,
// with an error for odd numbers.
type getter struct {
	clk *manualClock
	d   *deferred.Deferred
}

func (g *getter) gotResults(x int) {
	// Forget the Deferred before firing it, so that it is never fired twice.
	d := g.d
	g.d = nil
	if x%2 == 0 {
		d.Callback(x * 3)
	} else {
		d.Errback(errors.New("You used an odd number!"))
	}
}

func (g *getter) getDummyData(x int) *deferred.Deferred {
	g.d = deferred.New()
	g.clk.CallLater(2*time.Second, func() { g.gotResults(x) })
	return g.d.AddCallback(func(r any) (any, error) {
		return fmt.Sprintf("Result: %v", r), nil
	})
}

// The Deferred reference's "multiple callbacks" example: each callback gets
// the previous one's result, and an error skips the callbacks for the next
// errback. The fake clock stands in for the reactor's callLater.
func Example_multipleCallbacks() {
	clk := newManualClock()
	printData := func(v any) (any, error) {
		fmt.Println(v)
		return nil, nil
	}
	printError := func(f *deferred.Failure) (any, error) {
		fmt.Println("error:", f.ErrorMessage())
		return nil, nil
	}

	// This one prints an error message.
	(&getter{clk: clk}).getDummyData(3).AddCallback(printData).AddErrback(printError)
	// This one prints "Result: 12".
	(&getter{clk: clk}).getDummyData(4).AddCallback(printData).AddErrback(printError)

	clk.Advance(2 * time.Second)
	// Output:
	// error: You used an odd number!
	// Result: 12
}

// An errback that returns a value ends the error: the callbacks after it run
// with that value, like the code after a try/except block that caught it.
func Example_handleErrorThenProceed() {
	f := func() *deferred.Deferred { return deferred.Fail(errors.New("no names")) }
	g := func(fl *deferred.Failure) (any, error) {
		fmt.Println("handled:", fl.ErrorMessage())
		return []string{"default"}, nil
	}
	h := func(y any) (any, error) {
		fmt.Println("proceeding with", y)
		return nil, nil
	}

	f().AddErrback(g).AddCallback(h)
	// Output:
	// handled: no names
	// proceeding with [default]
}

// AddCallbacks is try/except/else: the errback handles only the failures from
// before it, never those of the callback beside it. AddCallback followed by
// AddErrback is try/except around both.
func ExampleDeferred_AddCallbacks() {
	callback1 := func(any) (any, error) { return nil, errors.New("callback1 failed") }
	callback2 := func(v any) (any, error) { return v, nil }
	errback := func(name string) deferred.Errback {
		return func(f *deferred.Failure) (any, error) {
			fmt.Printf("%s handles %q\n", name, f.ErrorMessage())
			return nil, nil
		}
	}

	fmt.Println("Case 1: AddCallback, AddErrback")
	d := deferred.New()
	d.AddCallback(callback1)          // A
	d.AddErrback(errback("errback1")) // B
	d.AddCallback(callback2)
	d.AddErrback(errback("errback2"))
	d.Callback("result")

	fmt.Println("Case 2: AddCallbacks")
	d = deferred.New()
	d.AddCallbacks(callback1, errback("errback1")) // C
	d.AddCallbacks(callback2, errback("errback2"))
	d.Callback("result")
	// Output:
	// Case 1: AddCallback, AddErrback
	// errback1 handles "callback1 failed"
	// Case 2: AddCallbacks
	// errback2 handles "callback1 failed"
}

var (
	errSpam = errors.New("spam")
	errEgg  = errors.New("egg")
)

// Trap in an errback is an except clause: it handles the errors it names and
// passes any other failure on to the next errback.
func ExampleFailure_Trap() {
	errorHandler := func(f *deferred.Failure) (any, error) {
		if err := f.Trap(errSpam, errEgg); err != nil {
			return nil, err
		}
		fmt.Println("handled", f.ErrorMessage())
		return nil, nil
	}
	lastResort := func(f *deferred.Failure) (any, error) {
		fmt.Println("not trapped:", f.ErrorMessage())
		return nil, nil
	}

	for _, err := range []error{errSpam, fmt.Errorf("cooking: %w", errEgg), errors.New("toast")} {
		deferred.Fail(err).AddErrback(errorHandler).AddErrback(lastResort)
	}
	// Output:
	// handled spam
	// handled cooking: egg
	// not trapped: toast
}

// A Deferred without a canceller fails with ErrCancelled when cancelled, and
// the operation's late result is then dropped once, quietly.
func ExampleDeferred_Cancel() {
	operation := deferred.New()
	operation.AddCallback(func(v any) (any, error) {
		fmt.Println("Hooray, a result:", v)
		return nil, nil
	})
	operation.AddErrback(func(f *deferred.Failure) (any, error) {
		if err := f.Trap(deferred.ErrCancelled); err != nil {
			return nil, err
		}
		fmt.Println("cancelled")
		return nil, nil
	})
	operationDone := func() { operation.Callback("completed") }

	operation.Cancel()
	operationDone() // swallowed: no AlreadyCalled panic, no callback
	fmt.Println("done")
	// Output:
	// cancelled
	// done
}

// A canceller stops the operation behind a Deferred; the Deferred then fails
// with ErrCancelled unless the canceller fired it.
func ExampleNewWithCanceller() {
	request := func(path string) *deferred.Deferred {
		fmt.Println("GET", path)
		return deferred.NewWithCanceller(func(*deferred.Deferred) {
			fmt.Println("aborting connection")
		})
	}

	d := request("/slow")
	d.AddErrback(func(f *deferred.Failure) (any, error) {
		fmt.Println("request failed:", errors.Is(f, deferred.ErrCancelled))
		return nil, nil
	})
	d.Cancel()

	// A canceller may give a result of its own instead.
	cached := deferred.NewWithCanceller(func(d *deferred.Deferred) { d.Callback("cached copy") })
	cached.AddCallback(func(v any) (any, error) {
		fmt.Println("got", v)
		return nil, nil
	})
	cached.Cancel()
	// Output:
	// GET /slow
	// aborting connection
	// request failed: true
	// got cached copy
}

// A callback that returns a Deferred pauses the chain until that Deferred
// fires; the chain then goes on with its result.
func ExampleDeferred_AddCallback_returnDeferred() {
	inner := deferred.New()

	outer := deferred.Succeed("outer")
	outer.AddCallback(func(v any) (any, error) {
		fmt.Println("start of callback:", v)
		return inner, nil
	})
	outer.AddCallback(func(v any) (any, error) {
		fmt.Println("outer got:", v)
		return nil, nil
	})
	fmt.Println("waiting on the inner Deferred")
	inner.Callback("orange")
	// Output:
	// start of callback: outer
	// waiting on the inner Deferred
	// outer got: orange
}

// AddTimeout cancels a Deferred that has not fired in time and turns the
// cancellation into a *TimeoutError. A fake clock stands in for the reactor.
func ExampleDeferred_AddTimeout() {
	clk := newManualClock()
	onFailure := func(f *deferred.Failure) (any, error) {
		var te *deferred.TimeoutError
		if errors.As(f, &te) {
			fmt.Println("timed out after", te.Timeout)
			return nil, nil
		}
		return nil, f
	}

	slow := deferred.New().AddTimeout(2*time.Second, clk, nil)
	slow.AddCallback(func(v any) (any, error) {
		fmt.Println("slow:", v)
		return nil, nil
	}).AddErrback(onFailure)

	fast := deferred.New().AddTimeout(2*time.Second, clk, nil)
	fast.AddCallback(func(v any) (any, error) {
		fmt.Println("fast:", v)
		return nil, nil
	}).AddErrback(onFailure)

	clk.Advance(time.Second)
	fast.Callback("in time")
	clk.Advance(time.Second)
	// Output:
	// fast: in time
	// timed out after 2s
}
