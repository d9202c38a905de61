package reactor_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
)

// The reactor runs a function once it has started.
func ExampleReactor_CallWhenRunning() {
	r, err := reactor.New()
	if err != nil {
		panic(err)
	}
	r.CallWhenRunning(func() {
		fmt.Println("hello from the reactor loop")
		r.Stop()
	})
	if err := r.Run(); err != nil {
		panic(err)
	}
	fmt.Println("the reactor has stopped")
	// Output:
	// hello from the reactor loop
	// the reactor has stopped
}

// countdown is the Countdown of Dave Peticolas's Twisted introduction
// (countdown.py), with a shorter tick.
type countdown struct {
	r       *reactor.Reactor
	counter int
}

func (c *countdown) count() {
	if c.counter == 0 {
		c.r.Stop()
		return
	}
	fmt.Println(c.counter, "...")
	c.counter--
	c.r.CallLater(10*time.Millisecond, c.count)
}

// A countdown made of delayed calls, from the Twisted introduction.
func ExampleReactor_CallLater() {
	r, err := reactor.New()
	if err != nil {
		panic(err)
	}
	r.CallWhenRunning((&countdown{r: r, counter: 5}).count)
	fmt.Println("Start!")
	if err := r.Run(); err != nil {
		panic(err)
	}
	fmt.Println("Stop!")
	// Output:
	// Start!
	// 5 ...
	// 4 ...
	// 3 ...
	// 2 ...
	// 1 ...
	// Stop!
}

// A panic in a callback is logged and does not stop the reactor: the
// falldown/upagain example (exception.py) of the Twisted introduction. The
// panic and its stack go to the logger, discarded here.
func Example_panicDoesNotStopTheReactor() {
	r, err := reactor.New(reactor.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	r.CallWhenRunning(func() {
		panic("I fall down.")
	})
	r.CallWhenRunning(func() {
		fmt.Println("But I get up again.")
		r.Stop()
	})
	fmt.Println("Starting the reactor.")
	if err := r.Run(); err != nil {
		panic(err)
	}
	// Output:
	// Starting the reactor.
	// But I get up again.
}

// getDummyData is the Deferred reference's: it returns a Deferred that a
// delayed call fires with inputData * 3 (2 s in the reference, 20 ms here).
func getDummyData(r *reactor.Reactor, inputData int) *deferred.Deferred {
	d := deferred.New()
	r.CallLater(20*time.Millisecond, func() { d.Callback(inputData * 3) })
	return d
}

// The Deferred reference's first example on a real reactor: a result that
// arrives later goes to the callback added now, and the reactor is stopped
// by a delayed call of its own.
func Example_getDummyData() {
	r, err := reactor.New()
	if err != nil {
		panic(err)
	}
	d := getDummyData(r, 3)
	d.AddCallback(func(result any) (any, error) {
		fmt.Printf("Result received: %v\n", result)
		return nil, nil
	})
	// The reference stops the reactor 4 s later; the same, scaled.
	r.CallLater(40*time.Millisecond, func() { r.Stop() })
	fmt.Println("Starting the reactor")
	if err := r.Run(); err != nil {
		panic(err)
	}
	// Output:
	// Starting the reactor
	// Result received: 9
}
