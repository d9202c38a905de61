package service_test

import (
	"fmt"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/service"
	"github.com/twistgo/twist/task"
)

// greeter is a service that says when it starts and stops.
type greeter struct {
	service.Base
	word string
}

func (g *greeter) StartService() error {
	fmt.Println("start", g.word)
	return g.Base.StartService()
}

func (g *greeter) StopService() *deferred.Deferred {
	fmt.Println("stop", g.word)
	return g.Base.StopService()
}

// An Application starts its services in order and stops them in reverse.
func Example() {
	app := service.NewApplication("demo")
	for _, w := range []string{"database", "cache", "web"} {
		service.SetServiceParent(&greeter{word: w}, app)
	}
	app.StartService()
	app.StopService().AddCallback(func(any) (any, error) {
		fmt.Println("all stopped")
		return nil, nil
	})
	// Output:
	// start database
	// start cache
	// start web
	// stop web
	// stop cache
	// stop database
	// all stopped
}

// A TimerService runs a function every interval while it runs; a fake clock
// drives it here.
func ExampleTimerService() {
	clk := task.NewClock()
	ticks := 0
	ts := service.NewTimerService(clk, time.Minute, func() (any, error) {
		ticks++
		fmt.Println("tick", ticks)
		return nil, nil
	})
	ts.StartService()
	clk.Advance(time.Minute)
	clk.Advance(time.Minute)
	ts.StopService()
	clk.Advance(time.Hour)
	// Output:
	// tick 1
	// tick 2
	// tick 3
}
