package deferred_test

import (
	"errors"
	"fmt"

	"github.com/twistgo/twist/deferred"
)

// printOutcomes prints each outcome of a List as Twisted's (success, value)
// pair, a failure by its message.
func printOutcomes(result any) (any, error) {
	for _, o := range result.([]deferred.Outcome) {
		if o.OK {
			fmt.Println(o.OK, o.Value)
		} else {
			fmt.Println(o.OK, o.Failure.ErrorMessage())
		}
	}
	return nil, nil
}

// The first DeferredList example of Twisted's Deferred reference: the List
// fires once all three have, with their outcomes in order, and ConsumeErrors
// handles the failure of the second.
func ExampleList() {
	deferred1 := deferred.New()
	deferred2 := deferred.New()
	deferred3 := deferred.New()
	dl := deferred.List([]*deferred.Deferred{deferred1, deferred2, deferred3}, deferred.ConsumeErrors)
	dl.AddCallback(printOutcomes)

	deferred1.Callback("one")
	deferred2.Errback(errors.New("bang!"))
	deferred3.Callback("three")
	// Output:
	// true one
	// false bang!
	// true three
}

// List records the result a Deferred has at the point of its chain where
// List added its callback: a callback added before List changes what the List
// sees, one added after does not (the addTen example of Twisted's Deferred
// reference).
func ExampleList_callbackOrder() {
	addTen := func(result any) (any, error) { return result.(string) + " ten", nil }

	fmt.Println("callback added before the List:")
	deferred1 := deferred.New()
	deferred2 := deferred.New()
	deferred1.AddCallback(addTen)
	dl := deferred.List([]*deferred.Deferred{deferred1, deferred2})
	dl.AddCallback(printOutcomes)
	deferred1.Callback("one") // runs addTen, then the List stores "one ten"
	deferred2.Callback("two")

	fmt.Println("callback added after the List:")
	deferred1 = deferred.New()
	deferred2 = deferred.New()
	dl = deferred.List([]*deferred.Deferred{deferred1, deferred2})
	deferred1.AddCallback(addTen) // runs after the List has stored "one"
	dl.AddCallback(printOutcomes)
	deferred1.Callback("one")
	deferred2.Callback("two")
	// Output:
	// callback added before the List:
	// true one ten
	// true two
	// callback added after the List:
	// true one
	// true two
}

// Gather joins parallel operations: it fires with all their values, in
// order, once the last has succeeded.
func ExampleGather() {
	d1 := deferred.New()
	d2 := deferred.New()
	d := deferred.Gather([]*deferred.Deferred{d1, d2}, deferred.ConsumeErrors)
	d.AddCallback(func(result any) (any, error) {
		fmt.Println(result)
		return nil, nil
	})
	d1.Callback("one")
	fmt.Println("d1 fired")
	d2.Callback("two")
	// Output:
	// d1 fired
	// [one two]
}

// Race fires with the first success and cancels the others.
func ExampleRace() {
	slow := deferred.New()
	fast := deferred.New()
	r := deferred.Race([]*deferred.Deferred{slow, fast})
	r.AddCallback(func(result any) (any, error) {
		first := result.(deferred.FirstResult)
		fmt.Println("winner:", first.Index, first.Value)
		return nil, nil
	})
	fast.Callback("fast")
	_, err := slow.Result()
	fmt.Println("slow:", slow.Called(), err)
	// Output:
	// winner: 1 fast
	// slow: true <nil>
}
