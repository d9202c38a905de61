package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/twistgo/twist/reactor"
)

// countdown prints its counter and schedules itself again until it reaches
// zero, when it stops the reactor.
type countdown struct {
	r        *reactor.Reactor
	counter  int
	interval time.Duration
}

func (c *countdown) count() {
	if c.counter == 0 {
		c.r.Stop()
		return
	}
	fmt.Println(c.counter, "...")
	c.counter--
	c.r.CallLater(c.interval, c.count)
}

func main() {
	from := flag.Int("from", 5, "the number to count down from")
	interval := flag.Duration("interval", time.Second, "the time between two numbers")
	flag.Parse()

	r, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	c := &countdown{r: r, counter: *from, interval: *interval}
	r.CallWhenRunning(c.count)
	fmt.Println("Start!")
	if err := r.Run(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Stop!")
}
