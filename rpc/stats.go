package rpc

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/metrics/latency"
)

// FunctionStats is what a Server counts of one of its functions.
type FunctionStats struct {
	// Name is the name the function is registered under.
	Name string
	// Calls is how many calls named it since it was registered, over every
	// protocol, those that failed included.
	Calls uint64
	// Errors counts the calls that failed, by kind of error:
	// BadArguments, HandlerError, Timeout, "Cancelled" for calls whose
	// connection was lost before they answered, and "Other" for an *Error
	// of another Message that the function returned itself.
	Errors map[string]uint64
	// InFlight is the number of its calls that have not answered yet:
	// those waiting on a Deferred (calls answered at once never are).
	InFlight int64
	// Latency is the distribution of its calls' durations, from dispatch
	// to answer, by the server's clock (WithClock) or the monotonic
	// clock. Every call that waits on a Deferred is timed. Of the calls
	// answered at once, which cost less than the two clock reads that
	// would time them, one in LatencySampleEvery is timed and counted
	// LatencySampleEvery times: the counts and sum are estimates for
	// those, exact in the mean.
	Latency latency.Counts
}

// LatencySampleEvery is how many calls answered at once count as one
// timed call in FunctionStats.Latency.
const LatencySampleEvery = 64

// The kinds of error a function's calls are counted by, and their names.
const (
	errBadArguments = iota
	errHandler
	errTimeout
	errCancelled
	errOther
	numErrorKinds
)

var errorKindNames = [numErrorKinds]string{BadArguments, HandlerError, Timeout, "Cancelled", "Other"}

// callStats is what a Server counts of one function, from every loop: one
// atomic add per call on the common path (a call answered at once,
// successfully), a few more on the others.
type callStats struct {
	calls    atomic.Uint64
	errors   [numErrorKinds]atomic.Uint64
	inFlight atomic.Int64
	latency  latency.Histogram
}

// callStart is when a timed call started, in nanoseconds by the clock
// that times it (Server.timeNow).
type callStart struct {
	at    int64
	timed bool
}

// monoEpoch is the origin of the monotonic clock calls are timed by: a
// time.Since reads one clock where time.Now reads two.
var monoEpoch = time.Now()

// timeNow is the time calls are timed by, in nanoseconds: the server's
// clock if it has one (WithClock, for tests), else the monotonic clock.
func (s *Server) timeNow() int64 {
	if s.clock != nil {
		return s.clock.Now().UnixNano()
	}
	return int64(time.Since(monoEpoch))
}

// startTimer starts timing a call. It is kept out of line so that begin,
// on every call's path, is inlined.
//
//go:noinline
func (s *Server) startTimer() callStart { return callStart{s.timeNow(), true} }

// elapsed returns the time since t started.
func (s *Server) elapsed(t callStart) time.Duration { return time.Duration(s.timeNow() - t.at) }

// begin counts a call and starts timing it if it is sampled.
func (st *callStats) begin(s *Server) callStart {
	if st.calls.Add(1)%LatencySampleEvery != 1 {
		return callStart{}
	}
	return s.startTimer()
}

// finish counts the end of a call answered at once, with err nil or its
// failure. The common case, a call neither failed nor timed, costs a test.
func (st *callStats) finish(s *Server, t callStart, err error) {
	if err != nil || t.timed {
		st.finishSlow(s, t, err)
	}
}

func (st *callStats) finishSlow(s *Server, t callStart, err error) {
	if err != nil {
		st.countError(err)
	}
	if t.timed {
		st.latency.ObserveN(s.elapsed(t), LatencySampleEvery)
	}
}

// pending counts a call that waits on d, until d fires; it returns d.
func (st *callStats) pending(s *Server, d *deferred.Deferred, t callStart) *deferred.Deferred {
	if !t.timed {
		t = s.startTimer()
	}
	st.inFlight.Add(1)
	return d.AddBoth(func(v any) (any, error) {
		st.inFlight.Add(-1)
		if fl, ok := v.(*deferred.Failure); ok {
			st.countError(fl)
		}
		st.latency.Observe(s.elapsed(t))
		return v, nil
	})
}

// countError counts a failed call by the kind of its error.
func (st *callStats) countError(err error) {
	kind := errOther
	var e *Error
	if errors.Is(err, deferred.ErrCancelled) {
		kind = errCancelled
	} else if errors.As(err, &e) {
		switch e.Message {
		case BadArguments:
			kind = errBadArguments
		case HandlerError:
			kind = errHandler
		case Timeout:
			kind = errTimeout
		}
	}
	st.errors[kind].Add(1)
}

// Stats returns the counters of the registered functions, sorted by name.
// It may be called from any goroutine.
func (s *Server) Stats() []FunctionStats {
	out := make([]FunctionStats, 0, len(s.funcs))
	for name, f := range s.funcs {
		fs := FunctionStats{
			Name:     name,
			Calls:    f.stats.calls.Load(),
			Errors:   make(map[string]uint64, numErrorKinds),
			InFlight: f.stats.inFlight.Load(),
			Latency:  f.stats.latency.Snapshot(),
		}
		for k, name := range errorKindNames {
			fs.Errors[name] = f.stats.errors[k].Load()
		}
		out = append(out, fs)
	}
	slices.SortFunc(out, func(a, b FunctionStats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// UnknownCalls returns how many calls named no registered function
// (NoSuchFunction): they are not counted per name, since a peer chooses
// the names.
func (s *Server) UnknownCalls() uint64 { return s.unknownCalls.Load() }

// UnsentAnswers returns how many answers, on this server's connections of
// either protocol, could not be written because the peer had reset or shut
// the connection. Each such connection logs the first at INFO; the rest
// are only counted here.
func (s *Server) UnsentAnswers() uint64 { return s.group.Unsent() }
