package rpc

import (
	"reflect"
	"sync"
)

// Functions of the commonest shapes are called without reflection: no
// parameter, one, or two of the same type, each an int, int64, float64,
// string or bool, and the results (R) or (R, error), R being one of those
// types. Register finds a shim for such a function's exact type in a table,
// and a call decodes the arguments into scalars, calls the function through
// the shim and appends the result straight into the answer: no
// reflect.Value.Call, no boxing, no Deferred. The checks and errors are
// those of the reflective path.
//
// The table has 110 shapes, which add about 400 KB to a stripped program;
// every pair of parameter types would be 310 shapes and about 1.1 MB.

// scalarKind is the type of a scalar parameter or result.
type scalarKind uint8

const (
	notScalar scalarKind = iota
	kindInt
	kindInt64
	kindFloat64
	kindString
	kindBool
)

// scalarKindOf returns the kind of t if it is one of the scalar types
// exactly (not a named type defined on one).
func scalarKindOf(t reflect.Type) scalarKind {
	switch t {
	case reflect.TypeFor[int]():
		return kindInt
	case reflect.TypeFor[int64]():
		return kindInt64
	case reflect.TypeFor[float64]():
		return kindFloat64
	case reflect.TypeFor[string]():
		return kindString
	case reflect.TypeFor[bool]():
		return kindBool
	}
	return notScalar
}

// scalar holds one argument or result of a shimmed call, in the field of
// its kind.
type scalar struct {
	n int64
	f float64
	s string
	b bool
}

// scalarType is the set of types a shim takes and returns.
type scalarType interface {
	int | int64 | float64 | string | bool
}

func get[T scalarType](v *scalar) T {
	var t T
	switch p := any(&t).(type) {
	case *int:
		*p = int(v.n)
	case *int64:
		*p = v.n
	case *float64:
		*p = v.f
	case *string:
		*p = v.s
	case *bool:
		*p = v.b
	}
	return t
}

func put[T scalarType](t T) scalar {
	switch x := any(t).(type) {
	case int:
		return scalar{n: int64(x)}
	case int64:
		return scalar{n: x}
	case float64:
		return scalar{f: x}
	case string:
		return scalar{s: x}
	case bool:
		return scalar{b: x}
	}
	return scalar{}
}

// maxShimParams is the most parameters a shimmed function has.
const maxShimParams = 2

// shim calls a function with its decoded arguments.
type shim func(in [maxShimParams]scalar) (scalar, error)

func shim0[R scalarType](fn func() R) shim {
	return func([maxShimParams]scalar) (scalar, error) { return put(fn()), nil }
}

func shim0E[R scalarType](fn func() (R, error)) shim {
	return func([maxShimParams]scalar) (scalar, error) {
		r, err := fn()
		return put(r), err
	}
}

func shim1[A, R scalarType](fn func(A) R) shim {
	return func(in [maxShimParams]scalar) (scalar, error) { return put(fn(get[A](&in[0]))), nil }
}

func shim1E[A, R scalarType](fn func(A) (R, error)) shim {
	return func(in [maxShimParams]scalar) (scalar, error) {
		r, err := fn(get[A](&in[0]))
		return put(r), err
	}
}

func shim2[A, B, R scalarType](fn func(A, B) R) shim {
	return func(in [maxShimParams]scalar) (scalar, error) {
		return put(fn(get[A](&in[0]), get[B](&in[1]))), nil
	}
}

func shim2E[A, B, R scalarType](fn func(A, B) (R, error)) shim {
	return func(in [maxShimParams]scalar) (scalar, error) {
		r, err := fn(get[A](&in[0]), get[B](&in[1]))
		return put(r), err
	}
}

// shims maps each function type that has a shim to the maker of its shim.
// It is built on first use, so that programs that register nothing do not
// pay for it.
var shims = sync.OnceValue(func() map[reflect.Type]func(fn any) shim {
	m := make(map[reflect.Type]func(fn any) shim)
	withResult[int](m)
	withResult[int64](m)
	withResult[float64](m)
	withResult[string](m)
	withResult[bool](m)
	return m
})

// withResult adds the shims of the functions with result R.
func withResult[R scalarType](m map[reflect.Type]func(any) shim) {
	addShim(m, shim0[R])
	addShim(m, shim0E[R])
	withParam[R, int](m)
	withParam[R, int64](m)
	withParam[R, float64](m)
	withParam[R, string](m)
	withParam[R, bool](m)
}

// withParam adds the shims of the functions with result R whose parameters
// are one or two A.
func withParam[R, A scalarType](m map[reflect.Type]func(any) shim) {
	addShim(m, shim1[A, R])
	addShim(m, shim1E[A, R])
	addShim(m, shim2[A, A, R])
	addShim(m, shim2E[A, A, R])
}

func addShim[F any](m map[reflect.Type]func(any) shim, make func(F) shim) {
	m[reflect.TypeFor[F]()] = func(fn any) shim { return make(fn.(F)) }
}

// shimFor returns the shim of fn, or nil if its type has none.
func shimFor(fn reflect.Value) shim {
	if mk := shims()[fn.Type()]; mk != nil {
		return mk(fn.Interface())
	}
	return nil
}
