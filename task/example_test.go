package task_test

import (
	"fmt"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/task"
)

// The LoopingCall example of Twisted's "Scheduling tasks for the future"
// howto, on the fake clock: a function runs every second until it has run
// three times, then stops the loop, which fires the Deferred from Start.
func ExampleLoopingCall() {
	clk := task.NewClock()
	const loopTimes = 3
	counter := 0
	var loop *task.LoopingCall
	loop = task.NewLoopingCall(clk, func() (any, error) {
		if counter < loopTimes {
			counter++
			fmt.Println("A new second has passed.")
			return nil, nil
		}
		return nil, loop.Stop()
	})
	done, _ := loop.Start(time.Second, true)
	done.AddCallbacks(func(any) (any, error) {
		fmt.Println("Loop done.")
		return nil, nil
	}, func(f *deferred.Failure) (any, error) {
		fmt.Println("Loop failed:", f)
		return nil, nil
	})
	clk.Pump([]time.Duration{time.Second, time.Second, time.Second})
	// Output:
	// A new second has passed.
	// A new second has passed.
	// A new second has passed.
	// Loop done.
}

// DeferLater runs a function after a delay and hands its result to the
// Deferred's callbacks.
func ExampleDeferLater() {
	clk := task.NewClock()
	d := task.DeferLater(clk, 3500*time.Millisecond, func() (any, error) {
		fmt.Println("running at", clk.Seconds())
		return 5 * 2, nil
	})
	d.AddCallback(func(result any) (any, error) {
		fmt.Println("result:", result)
		return nil, nil
	})
	clk.Advance(3 * time.Second)
	fmt.Println("nothing yet at", clk.Seconds())
	clk.Advance(500 * time.Millisecond)
	// Output:
	// nothing yet at 3
	// running at 3.5
	// result: 10
}

// A Cooperator interleaves long tasks, one step of each in turn; a task
// that yields a Deferred waits for it without holding up the others.
func ExampleCooperator() {
	clk := task.NewClock()
	coop := task.NewCooperator(clk)
	count := func(name string, n int) func(yield func(*deferred.Deferred) bool) {
		return func(yield func(*deferred.Deferred) bool) {
			for i := 1; i <= n; i++ {
				fmt.Println(name, i)
				if !yield(nil) {
					return
				}
			}
		}
	}
	coop.Coiterate(count("a", 3))
	coop.Coiterate(count("b", 2))
	coop.Coiterate(func(yield func(*deferred.Deferred) bool) {
		fmt.Println("c waits a second")
		if yield(task.DeferLater(clk, time.Second, nil)) {
			fmt.Println("c goes on at", clk.Seconds())
		}
	}).AddCallback(func(any) (any, error) {
		fmt.Println("c done")
		return nil, nil
	})
	clk.Advance(0)
	clk.Advance(time.Second)
	// Output:
	// a 1
	// b 1
	// c waits a second
	// a 2
	// b 2
	// a 3
	// c goes on at 1
	// c done
}

// RunMain runs a reactor until main's Deferred fires; React does the same
// and exits the process with the code.
func ExampleRunMain() {
	code := task.RunMain(func(r *reactor.Reactor) *deferred.Deferred {
		return task.DeferLater(r, 10*time.Millisecond, func() (any, error) {
			fmt.Println("done")
			return nil, task.ExitError{Code: 2}
		})
	})
	fmt.Println("exit code", code)
	// Output:
	// done
	// exit code 2
}
