package deferred_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/twistgo/twist/deferred"
)

// fakeServer stands in for the network of the Deferred howto's examples: a
// request's Deferred fires when answer runs, later, as a reactor would fire
// it.
type fakeServer struct {
	// responses maps "METHOD path" to a body (a string) or an error.
	responses map[string]any
	pending   []func()
}

func (s *fakeServer) makeRequest(method, path string) *deferred.Deferred {
	d := deferred.New()
	s.pending = append(s.pending, func() {
		switch r := s.responses[method+" "+path].(type) {
		case error:
			d.Errback(r)
		default:
			d.Callback(r)
		}
	})
	return d
}

// answer fires the requests made so far, and those they lead to.
func (s *fakeServer) answer() {
	for len(s.pending) > 0 {
		next := s.pending[0]
		s.pending = s.pending[1:]
		next()
	}
}

// printPyList prints a list of strings as Python's print does, so that the
// output is the one of the howto's Python code.
func printPyList(v any) (any, error) {
	users := v.([]string)
	if len(users) == 0 {
		fmt.Println("[]")
	} else {
		fmt.Printf("['%s']\n", strings.Join(users, "', '"))
	}
	return v, nil
}

// getUsers is the Deferred howto's inlineCallbacks getUsers: it awaits the
// response and parses it, and a connection error is logged and gives no users.
func getUsers(s *fakeServer) *deferred.Deferred {
	return deferred.Inline(func(c *deferred.Co) (any, error) {
		body, err := deferred.Await[string](c, s.makeRequest("GET", "/users"))
		if errors.Is(err, syscall.ECONNREFUSED) {
			fmt.Println("makeRequest failed due to connection error")
			return []string{}, nil
		}
		if err != nil {
			return nil, err
		}
		var users []string
		err = json.Unmarshal([]byte(body), &users)
		return users, err
	})
}

// The Deferred howto's getUsers, written with Inline instead of callbacks: it
// reads as sequential code, yet lets the loop run while the request is out.
func ExampleInline() {
	s := &fakeServer{responses: map[string]any{"GET /users": `["alice", "bob"]`}}
	getUsers(s).AddCallback(printPyList)
	fmt.Println("request sent")
	s.answer()
	// Output:
	// request sent
	// ['alice', 'bob']
}

// Errors arrive as Await's error, and are handled with ordinary Go code
// where Twisted's version uses try/except.
func ExampleInline_errorHandling() {
	s := &fakeServer{responses: map[string]any{"GET /users": syscall.ECONNREFUSED}}
	getUsers(s).AddCallback(printPyList)
	s.answer()
	// Output:
	// makeRequest failed due to connection error
	// []
}

// The inlineCallbacks API documentation's thingummy: the function's return
// value fires the Deferred, its error fails it.
func ExampleInline_returnValue() {
	thingummy := func(s *fakeServer) *deferred.Deferred {
		return deferred.Inline(func(c *deferred.Co) (any, error) {
			thing, err := c.Await(s.makeRequest("GET", "/thing"))
			if err != nil {
				return nil, err
			}
			fmt.Println(thing) // the result! hoorj!
			if thing == "I love Twisted" {
				return "TWISTED IS GREAT!", nil
			}
			return nil, errors.New("DESTROY ALL LIFE")
		})
	}
	for _, answer := range []string{"I love Twisted", "I am indifferent"} {
		s := &fakeServer{responses: map[string]any{"GET /thing": answer}}
		thingummy(s).AddCallbacks(func(v any) (any, error) {
			fmt.Println("result:", v)
			return nil, nil
		}, func(f *deferred.Failure) (any, error) {
			fmt.Println("error:", f)
			return nil, nil
		})
		s.answer()
	}
	// Output:
	// I love Twisted
	// result: TWISTED IS GREAT!
	// I am indifferent
	// error: DESTROY ALL LIFE
}

// Functions that take the *Co await directly, without an Inline of their own:
// only the outermost function, bar, is wrapped, as with Twisted's coroutines
// and Deferred.fromCoroutine.
func ExampleCo_Await() {
	s := &fakeServer{responses: map[string]any{"GET /baz": 3, "GET /foo": 4}}
	foo := func(c *deferred.Co) (int, error) {
		return deferred.Await[int](c, s.makeRequest("GET", "/foo"))
	}
	bar := func(c *deferred.Co) (any, error) {
		baz, err := deferred.Await[int](c, s.makeRequest("GET", "/baz"))
		if err != nil {
			return nil, err
		}
		fooResult, err := foo(c)
		if err != nil {
			return nil, err
		}
		return baz + fooResult, nil
	}
	d := deferred.Inline(bar)
	s.answer()
	fmt.Println(deferred.Value[int](d))
	// Output:
	// 7 <nil>
}

// Cancelling an Inline function's Deferred cancels what the function awaits;
// the function sees ErrCancelled and chooses the outcome.
func ExampleInline_cancel() {
	s := &fakeServer{}
	d := deferred.Inline(func(c *deferred.Co) (any, error) {
		_, err := c.Await(s.makeRequest("GET", "/slow"))
		if errors.Is(err, deferred.ErrCancelled) {
			fmt.Println("request cancelled, cleaning up")
			return nil, err
		}
		return "unreachable", err
	})
	d.Cancel()
	_, err := deferred.Value[any](d)
	fmt.Println(err)
	// Output:
	// request cancelled, cleaning up
	// deferred: cancelled
}

func ExampleThen() {
	d := deferred.New()
	deferred.Then(d, func(body string) (int, error) {
		return len(body), nil
	})
	deferred.Then(d, func(n int) (any, error) {
		fmt.Println("length:", n)
		return nil, nil
	})
	d.Callback("hello")
	// Output:
	// length: 5
}

func ExampleCatch() {
	d := deferred.Fail(fmt.Errorf("fetch: %w", &deferred.TimeoutError{Timeout: 3e9}))
	deferred.Catch(d, func(err *deferred.TimeoutError) (string, error) {
		return fmt.Sprintf("no answer in %v, using the cache", err.Timeout), nil
	})
	fmt.Println(deferred.Value[string](d))
	// Output:
	// no answer in 3s, using the cache <nil>
}

func ExampleAwait() {
	count := deferred.New()
	d := deferred.Inline(func(c *deferred.Co) (any, error) {
		n, err := deferred.Await[int](c, count)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("%d users", n), nil
	})
	count.Callback(2)
	fmt.Println(deferred.Value[string](d))
	// Output:
	// 2 users <nil>
}

func ExampleValue() {
	fmt.Println(deferred.Value[int](deferred.Succeed(3)))
	fmt.Println(deferred.Value[int](deferred.New()))
	fmt.Println(deferred.Value[int](deferred.Succeed("three")))
	// Output:
	// 3 <nil>
	// 0 deferred: no result yet
	// 0 deferred: result is string, want int
}
