package reactor_test

import (
	"fmt"
	"log/slog"
	"time"

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
