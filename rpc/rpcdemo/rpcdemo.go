package rpcdemo

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/protocols/poetry"
	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/task"
)

// ErrGibberish is the error of Cummingsify for a text without a letter,
// after the GibberishError of the Twisted introduction's cummingsify.
var ErrGibberish = errors.New("rpcdemo: gibberish: the text has no letters")

// ErrFailed is the error of the fail function, wrapped with its message.
var ErrFailed = errors.New("rpcdemo: failed as asked")

// Register registers the demo functions on s:
//
//	add(a, b int) int                 a + b; BadArguments if it overflows
//	echo(v any) any                   v, whatever BSON value it is
//	sleep(seconds float64) null       answers after the given time, without blocking the loop
//	poetry.get() string               Shakespeare's Sonnet 18
//	cummingsify(text string) string   the text in lower case; ErrGibberish without a letter
//	fail(message string) error        always fails: a HandlerError whose detail holds message
//
// clk is the loop that serves the functions (a *reactor.Reactor), or a
// fake clock in tests: sleep's timers run on it, so a server using these
// functions must serve on that one loop, not on a group of loops.
func Register(s *rpc.Server, clk clock.Clock) error {
	funcs := []struct {
		name string
		fn   any
	}{
		{"add", Add},
		{"echo", Echo},
		{"sleep", func(seconds float64) (*deferred.Deferred, error) { return Sleep(clk, seconds) }},
		{"poetry.get", Poem},
		{"cummingsify", Cummingsify},
		{"fail", Fail},
	}
	for _, f := range funcs {
		if err := s.Register(f.name, f.fn); err != nil {
			return err
		}
	}
	return nil
}

// Add returns a + b, or a BadArguments error if the sum overflows an int
// rather than a wrapped sum.
func Add(a, b int) (int, error) {
	sum := a + b
	if (sum > a) != (b > 0) {
		return 0, &rpc.Error{Message: rpc.BadArguments, Detail: fmt.Sprintf("add: %d + %d overflows int", a, b)}
	}
	return sum, nil
}

// Echo returns v unchanged.
func Echo(v bson.RawValue) bson.RawValue { return v }

// Sleep returns a Deferred that fires with nil after seconds on clk;
// cancelling it cancels the timer. A negative or non-finite time is a
// BadArguments error.
func Sleep(clk clock.Clock, seconds float64) (*deferred.Deferred, error) {
	if seconds < 0 || math.IsNaN(seconds) || seconds > math.MaxInt64/float64(time.Second) {
		return nil, &rpc.Error{Message: rpc.BadArguments, Detail: fmt.Sprintf("sleep: cannot sleep %v seconds", seconds)}
	}
	return task.DeferLater(clk, time.Duration(seconds*float64(time.Second)), nil), nil
}

// Poem returns the text of Shakespeare's Sonnet 18, the poem that twistd's
// poetry plugins serve.
func Poem() string { return string(poetry.Sonnet18) }

// Cummingsify returns text in lower case, as e. e. cummings might have
// written it: the transformation of the Twisted introduction's poetry
// client, without its random failures. A text with no letter is
// ErrGibberish.
func Cummingsify(text string) (string, error) {
	if strings.IndexFunc(text, unicode.IsLetter) < 0 {
		return "", ErrGibberish
	}
	return strings.ToLower(text), nil
}

// Fail always returns an error that wraps ErrFailed and says message.
func Fail(message string) error { return fmt.Errorf("%w: %s", ErrFailed, message) }
