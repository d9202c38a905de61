package deferred_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/twistgo/twist/deferred"
)

// counter returns a callback that counts its calls in *n.
func counter(n *int) deferred.Callback {
	return func(v any) (any, error) {
		*n++
		return v, nil
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s did not panic", what)
		}
	}()
	f()
}

func TestLockAcquireFiresWithTheLockWhenUnlocked(t *testing.T) {
	var l deferred.Lock
	if l.Locked() {
		t.Fatal("zero Lock is locked")
	}
	if got := succeededWith(t, l.Acquire()); got != &l {
		t.Fatalf("Acquire fired with %v, want the Lock", got)
	}
	if !l.Locked() {
		t.Fatal("Lock not locked after Acquire")
	}
}

func TestLockReleaseHandsTheLockToWaitersInOrder(t *testing.T) {
	var l deferred.Lock
	var order []int
	for i := range 3 {
		l.Acquire().AddCallback(func(any) (any, error) {
			order = append(order, i)
			return nil, nil
		})
	}
	for want := 1; want <= 3; want++ {
		if !reflect.DeepEqual(order, []int{0, 1, 2}[:want]) || !l.Locked() {
			t.Fatalf("order = %v, locked = %v; want %d holders so far", order, l.Locked(), want)
		}
		l.Release()
	}
	if l.Locked() {
		t.Fatal("Lock still locked after the last Release")
	}
}

func TestLockReleaseOfAnUnlockedLockPanics(t *testing.T) {
	var l deferred.Lock
	mustPanic(t, "Release of an unlocked Lock", l.Release)
}

func TestLockRun(t *testing.T) {
	t.Run("holds the lock until the result of f fires", func(t *testing.T) {
		var l deferred.Lock
		control := deferred.New()
		called := 0
		result := l.Run(func() (any, error) {
			called++
			return control, nil
		})
		if called != 1 || !l.Locked() {
			t.Fatalf("called %d, locked %v", called, l.Locked())
		}
		next := 0
		l.Acquire().AddCallback(counter(&next))
		control.Callback("done")
		if got := succeededWith(t, result); got != "done" {
			t.Fatalf("Run fired with %v", got)
		}
		if next != 1 || !l.Locked() {
			t.Fatalf("the waiter got the lock %d times, locked %v", next, l.Locked())
		}
		l.Release()
		if l.Locked() {
			t.Fatal("still locked")
		}
	})
	t.Run("waits for the lock before calling f", func(t *testing.T) {
		var l deferred.Lock
		l.Acquire()
		called := 0
		result := l.Run(func() (any, error) { called++; return "v", nil })
		if called != 0 {
			t.Fatal("f was called while the lock was held")
		}
		l.Release()
		if called != 1 || succeededWith(t, result) != "v" || l.Locked() {
			t.Fatalf("called %d, locked %v", called, l.Locked())
		}
	})
	for _, tc := range []struct {
		name string
		f    func() (any, error)
	}{
		{"releases the lock when f fails", func() (any, error) { return nil, errBang }},
		{"releases the lock when f panics", func() (any, error) { panic(errBang) }},
		{"releases the lock when the Deferred of f fails", func() (any, error) { return deferred.Fail(errBang), nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l deferred.Lock
			failedWithErr(t, l.Run(tc.f), errBang)
			if l.Locked() {
				t.Fatal("still locked")
			}
		})
	}
}

func TestCancelLockAcquire(t *testing.T) {
	t.Run("after it fired has no effect", func(t *testing.T) {
		var l deferred.Lock
		d := l.Acquire()
		d.Cancel()
		if succeededWith(t, d) != &l || !l.Locked() {
			t.Fatal("cancelling an acquired Lock changed it")
		}
	})
	t.Run("before it fired fails it and gives up its place", func(t *testing.T) {
		var l deferred.Lock
		l.Acquire()
		d := l.Acquire()
		d.Cancel()
		failedWithErr(t, d, deferred.ErrCancelled)
		l.Release()
		if l.Locked() {
			t.Fatal("Release handed the lock to a cancelled waiter")
		}
	})
}

func TestNewSemaphoreNeedsAToken(t *testing.T) {
	for _, n := range []int{0, -1} {
		mustPanic(t, "NewSemaphore with no token", func() { deferred.NewSemaphore(n) })
	}
}

// TestSemaphore follows Twisted's testSemaphore.
func TestSemaphore(t *testing.T) {
	const n = 13
	s := deferred.NewSemaphore(n)
	if s.Limit() != n || s.Tokens() != n {
		t.Fatalf("Limit %d, Tokens %d; want %d", s.Limit(), s.Tokens(), n)
	}

	control := deferred.New()
	count := 0
	result := s.Run(func() (any, error) { return control, nil }).AddCallback(counter(&count))
	if count != 0 || s.Tokens() != n-1 {
		t.Fatalf("count %d, tokens %d while Run waits", count, s.Tokens())
	}
	control.Callback(nil)
	if succeededWith(t, result) != nil || count != 1 || s.Tokens() != n {
		t.Fatalf("count %d, tokens %d after Run", count, s.Tokens())
	}

	count = 0
	for i := 1; i <= n; i++ {
		s.Acquire().AddCallback(counter(&count))
		if count != i || s.Tokens() != n-i {
			t.Fatalf("acquire %d: count %d, tokens %d", i, count, s.Tokens())
		}
	}
	cancelled := s.Acquire()
	cancelled.Cancel()
	failedWithErr(t, cancelled, deferred.ErrCancelled)

	s.Acquire().AddCallback(counter(&count))
	if count != n {
		t.Fatalf("a waiter got a token: count %d", count)
	}
	s.Release()
	if count != n+1 || s.Tokens() != 0 {
		t.Fatalf("Release: count %d, tokens %d; want the waiter served", count, s.Tokens())
	}
	for i := 1; i <= n; i++ {
		s.Release()
		if count != n+1 || s.Tokens() != i {
			t.Fatalf("release %d: count %d, tokens %d", i, count, s.Tokens())
		}
	}
	mustPanic(t, "Release of a Semaphore with all tokens free", s.Release)
}

func TestCancelSemaphoreAcquire(t *testing.T) {
	t.Run("after it fired has no effect", func(t *testing.T) {
		s := deferred.NewSemaphore(1)
		d := s.Acquire()
		d.Cancel()
		if succeededWith(t, d) != s || s.Tokens() != 0 {
			t.Fatal("cancelling an acquired token changed the Semaphore")
		}
	})
	t.Run("before it fired fails it and gives up its place", func(t *testing.T) {
		s := deferred.NewSemaphore(1)
		s.Acquire()
		d := s.Acquire()
		d.Cancel()
		failedWithErr(t, d, deferred.ErrCancelled)
		s.Release()
		if s.Tokens() != 1 {
			t.Fatal("Release handed the token to a cancelled waiter")
		}
	})
}

func TestSemaphoreRunLimitsConcurrency(t *testing.T) {
	s := deferred.NewSemaphore(2)
	controls := newDeferreds(3)
	started := 0
	results := make([]*deferred.Deferred, 3)
	for i := range controls {
		results[i] = s.Run(func() (any, error) { started++; return controls[i], nil })
	}
	if started != 2 {
		t.Fatalf("%d running, want 2", started)
	}
	controls[1].Callback("b")
	if started != 3 || succeededWith(t, results[1]) != "b" {
		t.Fatalf("%d started after one finished, want 3", started)
	}
	controls[0].Callback("a")
	controls[2].Callback("c")
	if s.Tokens() != 2 {
		t.Fatalf("tokens %d after all finished", s.Tokens())
	}
}

// TestQueue follows Twisted's testQueue.
func TestQueue(t *testing.T) {
	const size, backlog = 2, 2
	q := deferred.NewQueue(size, backlog)
	var gotten []any
	collect := func(v any) (any, error) { gotten = append(gotten, v); return nil, nil }

	t.Run("Gets wait for values, up to the backlog", func(t *testing.T) {
		for range backlog {
			q.Get().AddCallback(collect)
		}
		if q.Waiting() != backlog {
			t.Fatalf("Waiting() = %d", q.Waiting())
		}
		failedWithErr(t, q.Get(), deferred.ErrQueueUnderflow)
	})
	t.Run("Put serves waiting Gets in order", func(t *testing.T) {
		for i := range backlog {
			if err := q.Put(i); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotten, []any{0, 1}[:i+1]) {
				t.Fatalf("gotten = %v", gotten)
			}
		}
	})
	t.Run("Put keeps values up to the size", func(t *testing.T) {
		for i := range size {
			if err := q.Put(size + i); err != nil {
				t.Fatal(err)
			}
		}
		if len(gotten) != backlog || q.Len() != size {
			t.Fatalf("gotten = %v, Len() = %d", gotten, q.Len())
		}
		if err := q.Put(nil); !errors.Is(err, deferred.ErrQueueOverflow) {
			t.Fatalf("Put on a full Queue = %v, want ErrQueueOverflow", err)
		}
	})
	t.Run("Get takes kept values in order", func(t *testing.T) {
		gotten = nil
		for i := range size {
			q.Get().AddCallback(collect)
			if !reflect.DeepEqual(gotten, []any{2, 3}[:i+1]) {
				t.Fatalf("gotten = %v", gotten)
			}
		}
		if q.Len() != 0 {
			t.Fatalf("Len() = %d", q.Len())
		}
	})
}

func TestQueueLimits(t *testing.T) {
	for _, tc := range []struct {
		name          string
		size, backlog int
		putErr        error // of a Put on the new Queue
		getErr        error // of a Get on the new Queue
	}{
		{"unlimited takes any number", deferred.Unlimited, deferred.Unlimited, nil, nil},
		{"size 0 overflows at once", 0, deferred.Unlimited, deferred.ErrQueueOverflow, nil},
		{"backlog 0 underflows at once", deferred.Unlimited, 0, nil, deferred.ErrQueueUnderflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := deferred.NewQueue(tc.size, tc.backlog)
			if err := q.Put(1); !errors.Is(err, tc.putErr) {
				t.Fatalf("Put = %v, want %v", err, tc.putErr)
			}
			q = deferred.NewQueue(tc.size, tc.backlog)
			if d := q.Get(); tc.getErr != nil {
				failedWithErr(t, d, tc.getErr)
			} else {
				stillWaiting(t, d)
			}
		})
	}
	t.Run("unlimited holds many values and Gets", func(t *testing.T) {
		q := deferred.NewQueue(deferred.Unlimited, deferred.Unlimited)
		var got []any
		for range 100 {
			q.Get().AddCallback(func(v any) (any, error) { got = append(got, v); return nil, nil })
		}
		for i := range 200 {
			if err := q.Put(i); err != nil {
				t.Fatal(err)
			}
		}
		if len(got) != 100 || got[99] != 99 || q.Len() != 100 || q.Waiting() != 0 {
			t.Fatalf("got %d values, Len() = %d, Waiting() = %d", len(got), q.Len(), q.Waiting())
		}
	})
}

func TestCancelQueueGet(t *testing.T) {
	t.Run("after it fired has no effect", func(t *testing.T) {
		q := deferred.NewQueue(deferred.Unlimited, deferred.Unlimited)
		d := q.Get()
		if err := q.Put("v"); err != nil {
			t.Fatal(err)
		}
		d.Cancel()
		if succeededWith(t, d) != "v" {
			t.Fatal("cancelling a fired Get changed it")
		}
	})
	t.Run("before it fired fails it and gives up its place", func(t *testing.T) {
		q := deferred.NewQueue(deferred.Unlimited, deferred.Unlimited)
		d := q.Get()
		d.Cancel()
		failedWithErr(t, d, deferred.ErrCancelled)
		if q.Waiting() != 0 {
			t.Fatalf("Waiting() = %d after cancel", q.Waiting())
		}
		// A value put later goes to the next Get, not to the cancelled one
		// (which would panic with ErrAlreadyCalled).
		if err := q.Put("v"); err != nil {
			t.Fatal(err)
		}
		if got := succeededWith(t, q.Get()); got != "v" {
			t.Fatalf("Get = %v", got)
		}
	})
	t.Run("frees a place in the backlog", func(t *testing.T) {
		q := deferred.NewQueue(deferred.Unlimited, 1)
		d := q.Get()
		d.Cancel()
		failedWithErr(t, d, deferred.ErrCancelled)
		stillWaiting(t, q.Get())
	})
}
