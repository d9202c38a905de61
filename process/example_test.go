//go:build unix

package process_test

import (
	"fmt"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/process"
	"github.com/twistgo/twist/reactor"
)

// Run a command and take its output, as twisted.internet.utils does.
func ExampleGetProcessOutput() {
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	process.GetProcessOutput(loop, []string{"echo", "hello"}, nil, "").AddCallbacks(func(v any) (any, error) {
		fmt.Printf("%s", v)
		return nil, loop.Stop()
	}, func(f *deferred.Failure) (any, error) {
		fmt.Println(f.Error())
		return nil, loop.Stop()
	})
	_ = loop.Run()
	// Output: hello
}

// counter counts the bytes a child writes and prints how it ended.
type counter struct {
	process.BaseProcessProtocol
	loop *reactor.Reactor
	n    int
}

func (c *counter) ConnectionMade(t process.Transport) {
	c.BaseProcessProtocol.ConnectionMade(t)
	_, _ = t.Write([]byte("one\ntwo\nthree\n"))
	t.CloseStdin()
}

func (c *counter) OutReceived(b []byte) { c.n += len(b) }

func (c *counter) ProcessEnded(reason error) {
	fmt.Printf("%d bytes; %v\n", c.n, reason)
	_ = c.loop.Stop()
}

// A child whose standard input and output the loop drives.
func ExampleSpawnProcess() {
	loop, err := reactor.New()
	if err != nil {
		panic(err)
	}
	if _, err := process.SpawnProcess(loop, &counter{loop: loop}, []string{"sh", "-c", "wc -l; exit 2"}, nil, ""); err != nil {
		panic(err)
	}
	_ = loop.Run()
	// Output: 2 bytes; process: the process exited with status 2
}
