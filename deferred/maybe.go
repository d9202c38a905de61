package deferred

// Maybe calls f and returns its result as a Deferred (Twisted's
// maybeDeferred), so that callers treat synchronous and asynchronous
// functions alike:
//
//   - a *Deferred value is returned as it is;
//   - a non-nil error, or a *Failure value, gives a failed Deferred;
//   - any other value gives a Deferred that has fired with it;
//   - a panic gives a Deferred failed with a *PanicError, never a crash.
func Maybe(f func() (any, error)) (d *Deferred) {
	defer func() {
		if r := recover(); r != nil {
			d = New()
			d.fire(panicFailure(r))
		}
	}()
	v, err := f()
	if failure, ok := v.(*Failure); ok && err == nil {
		err = failure
	}
	if err != nil {
		d = New()
		d.fire(failureFrom(err, f))
		return d
	}
	if inner, ok := v.(*Deferred); ok {
		return inner
	}
	return Succeed(v)
}
