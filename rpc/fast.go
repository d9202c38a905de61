package rpc

import (
	"encoding/binary"
	"math"
	"reflect"
	"strconv"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
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

// The single-pass parser. A call of the common shape,
//
//	{call: {funcname: "add", arguments: [1, 2]}, id: 7, maxTimeMS: 250, noreply: false}
//
// to a function with a shim is read in one pass over the message: each
// field is checked as it is met, the function is looked up by the bytes
// of its name, and each argument is decoded straight into the scalar of
// its parameter, with no Message, no argument array walked twice, and no
// allocation but the copy of a string argument (the function may keep
// it). Anything else, and anything that would be an error, is left to the
// general path (ParseMessage, then decode), which reads the same bytes
// again and answers or explains: the fast path never makes an error of
// its own, so the two cannot disagree on what is wrong. FuzzFastCall
// checks that they answer every message alike.
//
// The limits hold on the fast path as they do on the general one: the
// message's size is bounded by the framing before it is parsed; only
// scalar arguments are taken, so nothing nests (depth 1 of MaxDepth); an
// unknown or repeated field, an id other than a plain scalar (plainID),
// and a maxTimeMS that is not a non-negative integer send the message to
// the general path, which rejects them.

// fastCall is a call read by parseFast.
type fastCall struct {
	f  *function
	in [maxShimParams]scalar
	// id is the call's id (Type 0 for none), sharing the message's bytes.
	id      bson.RawValue
	noReply bool
	// holes are where the values of the call lie, for its shape.
	holes [maxHoles]hole
	n     int
}

// hole notes where val, a value of type t, lies in the call.
func (c *fastCall) hole(val []byte, t bsoncore.Type, role holeRole) {
	c.holes[c.n] = holeAt(val, t, role)
	c.n++
}

// The top-level fields of a call, as bits of what parseFast has seen.
const (
	seenCall = 1 << iota
	seenID
	seenMaxTime
	seenNoReply
)

// parseFast reads doc into c if it is a call of the common shape to a
// function with a shim, whose arguments all decode into its parameters;
// it reports whether it did. It allocates nothing but string arguments.
// c.f, if set, is the function of the connection's previous call, which
// spares the lookup when the call names it again (a name once registered
// never changes its function).
//
// The keys are matched in place (hasKey) rather than cut out and compared:
// this parser is most of what a small call costs.
func (s *Server) parseFast(doc []byte, c *fastCall) bool {
	rem, ok := elements(doc)
	if !ok {
		return false
	}
	var seen int
	var call []byte
	for len(rem) > 0 {
		t := bsoncore.Type(rem[0])
		var bit, k int
		switch {
		case hasKey(rem, "call"):
			if t != bsoncore.TypeEmbeddedDocument {
				return false
			}
			bit, k = seenCall, len("call")
		case hasKey(rem, "id"):
			bit, k = seenID, len("id")
		case hasKey(rem, "maxTimeMS"):
			bit, k = seenMaxTime, len("maxTimeMS")
		case hasKey(rem, "noreply"):
			if t != bsoncore.TypeBoolean {
				return false
			}
			bit, k = seenNoReply, len("noreply")
		default:
			return false
		}
		val, rest := nextValue(t, rem[k+2:])
		if rest == nil || seen&bit != 0 {
			return false
		}
		rem, seen = rest, seen|bit
		switch bit {
		case seenCall:
			call = val
		case seenID:
			if !plainID(bsoncore.Value{Type: t, Data: val}) {
				return false
			}
			c.id = bson.RawValue{Type: bson.Type(t), Value: val}
			c.hole(val, t, holeID)
		case seenMaxTime:
			// A shimmed function answers before any deadline: the value
			// is only checked.
			if _, ok := maxTime(bsoncore.Value{Type: t, Data: val}); !ok {
				return false
			}
			c.hole(val, t, holeMaxTime)
		case seenNoReply:
			if val[0] > 1 {
				return false
			}
			c.noReply = val[0] == 1
			c.hole(val, t, holeNoReply)
		}
	}
	if call == nil {
		return false
	}
	return s.parseFastBody(call, c)
}

// hasKey reports whether the element at the start of b, which is not
// empty, has the given key. Go compares a short constant string with a
// load or two.
func hasKey(b []byte, key string) bool {
	return len(b) > len(key)+1 && b[len(key)+1] == 0 && string(b[1:len(key)+1]) == key
}

// parseFastBody reads the call document {funcname, arguments} into c.
func (s *Server) parseFastBody(call []byte, c *fastCall) bool {
	rem, ok := elements(call)
	if !ok {
		return false
	}
	var name, args []byte
	for len(rem) > 0 {
		t := bsoncore.Type(rem[0])
		switch {
		case t == bsoncore.TypeString && name == nil && hasKey(rem, "funcname"):
			val, rest := nextValue(t, rem[len("funcname")+2:])
			if rest == nil {
				return false
			}
			name, rem = val[4:len(val)-1], rest
		case t == bsoncore.TypeArray && args == nil && hasKey(rem, "arguments"):
			val, rest := nextValue(t, rem[len("arguments")+2:])
			if rest == nil {
				return false
			}
			args, rem = val, rest
		default:
			return false
		}
	}
	if name == nil {
		return false
	}
	if c.f == nil || c.f.name != string(name) {
		c.f = s.funcs[string(name)]
	}
	if c.f == nil || c.f.shim == nil {
		return false
	}
	if args == nil {
		return len(c.f.params) == 0
	}
	return c.f.fastArgs(args, &c.in, c)
}

// fastArgs decodes args, an argument array, straight into the scalars of
// f's shim, if every element is a scalar that its parameter takes as is;
// it reports whether it did. Anything else (a wrong count or type, a
// value that needs the general rules, or a malformed array) is for decode
// to handle and explain. If c is not nil, the arguments are its holes.
func (f *function) fastArgs(args []byte, in *[maxShimParams]scalar, c *fastCall) bool {
	rem, ok := elements(args)
	if !ok {
		return false
	}
	n := 0
	for len(rem) > 0 {
		// The keys of an array's elements are not read, as decode does
		// not read them.
		k := 1
		for k < len(rem) && rem[k] != 0 {
			k++
		}
		if k >= len(rem) || n == len(f.params) {
			return false
		}
		t := bsoncore.Type(rem[0])
		val, rest := nextValue(t, rem[k+1:])
		if rest == nil || !f.params[n].fastScalar(t, val, &in[n]) {
			return false
		}
		if c != nil {
			c.hole(val, t, holeRole(n))
		}
		rem = rest
		n++
	}
	return n == len(f.params)
}

// fastScalar decodes val, a BSON value of type t, into dst if p takes it
// without a conversion that could fail: what param.scalar would decode.
func (p *param) fastScalar(t bsoncore.Type, val []byte, dst *scalar) bool {
	switch p.kind {
	case kindInt, kindInt64:
		switch t {
		case bsoncore.TypeInt32:
			dst.n = int64(int32(binary.LittleEndian.Uint32(val)))
		case bsoncore.TypeInt64:
			dst.n = int64(binary.LittleEndian.Uint64(val))
			if p.kind == kindInt && strconv.IntSize == 32 && dst.n != int64(int32(dst.n)) {
				return false
			}
		default:
			return false
		}
	case kindFloat64:
		switch t {
		case bsoncore.TypeDouble:
			dst.f = math.Float64frombits(binary.LittleEndian.Uint64(val))
		case bsoncore.TypeInt32:
			dst.f = float64(int32(binary.LittleEndian.Uint32(val)))
		case bsoncore.TypeInt64:
			dst.f = float64(int64(binary.LittleEndian.Uint64(val)))
		default:
			return false
		}
	case kindString:
		if t != bsoncore.TypeString {
			return false
		}
		dst.s = string(val[4 : len(val)-1])
	case kindBool:
		if t != bsoncore.TypeBoolean || val[0] > 1 {
			return false
		}
		dst.b = val[0] == 1
	default:
		return false
	}
	return true
}

// fixedLen is the length of a value of each type that has a fixed one and
// that the fast path reads: int32, int64, double, boolean, ObjectId.
var fixedLen = [256]int8{
	bsoncore.TypeInt32:    4,
	bsoncore.TypeInt64:    8,
	bsoncore.TypeDouble:   8,
	bsoncore.TypeBoolean:  1,
	bsoncore.TypeObjectID: 12,
}

// nextValue splits v, which starts with a value of type t, into the value
// and what follows it if the fast path reads that type: one of fixedLen's,
// a string (with its terminating NUL), or a document or array (its length
// only checked, against v and its own terminating NUL). Otherwise rest is
// nil.
func nextValue(t bsoncore.Type, v []byte) (val, rest []byte) {
	n := int(fixedLen[t])
	if n == 0 {
		n = varLen(t, v)
	}
	if n <= 0 || n > len(v) {
		return nil, nil
	}
	return v[:n], v[n:]
}

// varLen returns the length of the string, document or array at the start
// of v, checked against v, or 0.
func varLen(t bsoncore.Type, v []byte) int {
	if t != bsoncore.TypeString && t != bsoncore.TypeEmbeddedDocument && t != bsoncore.TypeArray || len(v) < 4 {
		return 0
	}
	l := int64(int32(binary.LittleEndian.Uint32(v)))
	if t == bsoncore.TypeString {
		l += 4
	}
	if l < 5 || l > int64(len(v)) || v[l-1] != 0 {
		return 0
	}
	return int(l)
}
