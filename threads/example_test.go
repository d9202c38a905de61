package threads_test

import (
	"fmt"
	"sync"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/threads"
)

// A blocking computation runs on a worker; its result prints from the loop.
func ExampleDeferToThread() {
	r, err := reactor.New()
	if err != nil {
		panic(err)
	}
	r.CallWhenRunning(func() {
		d := threads.DeferToThread(r, func() (any, error) {
			sum := 0
			for i := 1; i <= 1000; i++ { // stands for a blocking call
				sum += i
			}
			return sum, nil
		})
		d.AddCallback(func(v any) (any, error) {
			fmt.Println("sum:", v) // on the loop
			return nil, r.Stop()
		})
	})
	if err := r.Run(); err != nil {
		panic(err)
	}
	// Output: sum: 500500
}

// A goroutine outside the loop asks the loop for its state and waits.
func ExampleBlockingCallFromThread() {
	r, err := reactor.New()
	if err != nil {
		panic(err)
	}
	visits := 0 // the loop's: touched on the loop only
	go func() {
		for range 3 {
			v, _ := threads.BlockingCallFromThread(r, func() (any, error) {
				visits++
				return visits, nil
			})
			fmt.Println("visit", v)
		}
		r.Stop() // safe from any goroutine
	}()
	if err := r.Run(); err != nil {
		panic(err)
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// A pool of its own runs work at most two at a time; Stop waits for it.
func ExamplePool() {
	p := threads.NewPool(0, 2)
	var mu sync.Mutex
	total := 0
	for i := 1; i <= 10; i++ {
		if err := p.CallInThread(func() {
			mu.Lock()
			total += i
			mu.Unlock()
		}); err != nil {
			panic(err)
		}
	}
	p.Stop()
	fmt.Println("total:", total)
	// Output: total: 55
}
