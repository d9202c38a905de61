package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/task"
)

func main() {
	verbose := flag.Bool("v", false, "report each piece of poetry as it arrives")
	xform := flag.String("transform", "", "[host:]port of a transform server to cummingsify the poems")
	flag.Parse()
	cfg := config{log: os.Stderr, verbose: *verbose}
	for _, arg := range flag.Args() {
		addr, err := poetry.Address(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "getpoetry:", err)
			os.Exit(2)
		}
		cfg.addrs = append(cfg.addrs, addr)
	}
	if len(cfg.addrs) == 0 {
		fmt.Fprintln(os.Stderr, "usage: getpoetry [-v] [-transform [HOST:]PORT] [HOST:]PORT ...")
		os.Exit(2)
	}
	if *xform != "" {
		addr, err := poetry.Address(*xform)
		if err != nil {
			fmt.Fprintln(os.Stderr, "getpoetry:", err)
			os.Exit(2)
		}
		cfg.xform = addr
	}
	task.React(func(r *reactor.Reactor) *deferred.Deferred {
		start := r.Now()
		return run(internet.RealNet(r), os.Stdout, cfg).AddCallback(func(n any) (any, error) {
			fmt.Printf("Got %d poems in %v\n", n, r.Now().Sub(start).Round(time.Millisecond))
			return nil, nil
		})
	})
}

// config is what the command line asks for.
type config struct {
	addrs   []string
	xform   string    // the transform server, or ""
	verbose bool      // report progress to log
	log     io.Writer // progress and transform failures
}

// run downloads the poems and writes the report to out once all are done.
// The Deferred fires with how many poems were had.
func run(n internet.Net, out io.Writer, cfg config) *deferred.Deferred {
	ds := make([]*deferred.Deferred, len(cfg.addrs))
	for i, addr := range cfg.addrs {
		var progress func(int)
		if cfg.verbose {
			progress = func(nbytes int) {
				fmt.Fprintf(cfg.log, "Task %d: got %d bytes of poetry from %s\n", i+1, nbytes, addr)
			}
		}
		ds[i] = poetry.Get(n, addr, progress)
		if cfg.xform != "" {
			ds[i].AddCallback(func(poem any) (any, error) { return cummingsify(n, cfg, i+1, poem.(string)), nil })
		}
	}
	return deferred.List(ds, deferred.ConsumeErrors).AddCallback(func(res any) (any, error) {
		got := 0
		for i, o := range res.([]deferred.Outcome) {
			if !o.OK {
				fmt.Fprintf(out, "Task %d: poem from %s failed: %v\n", i+1, cfg.addrs[i], o.Failure)
				continue
			}
			got++
			fmt.Fprintf(out, "Task %d: poem from %s:\n%s\n", i+1, cfg.addrs[i], o.Value)
		}
		return got, nil
	})
}

// cummingsify asks the transform server for the cummingsified poem, and falls
// back to the poem itself if that fails in any way: the intro's
// maybeDeferred-and-errback pattern, which copes alike with a transform that
// returns at once, one that answers later, and one that panics.
func cummingsify(n internet.Net, cfg config, task int, poem string) *deferred.Deferred {
	return deferred.Maybe(func() (any, error) {
		return poetry.Xform(n, cfg.xform, "cummingsify", poem), nil
	}).AddErrback(func(f *deferred.Failure) (any, error) {
		fmt.Fprintf(cfg.log, "Task %d: cummingsify failed (%v), keeping the poem as it came\n", task, f)
		return poem, nil
	})
}
