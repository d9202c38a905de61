package rpc

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/rpc/internal/session"
)

// param is the plan for one parameter: its type and the decoder from a BSON
// value into it, chosen once by type when the function is registered.
type param struct {
	typ    reflect.Type
	decode func(v bson.RawValue) (reflect.Value, error)
	// kind is the scalar kind of typ, for calls without reflection.
	kind scalarKind
}

var (
	rawValueType = reflect.TypeFor[bson.RawValue]()
	rawType      = reflect.TypeFor[bson.Raw]()
	bytesType    = reflect.TypeFor[[]byte]()
)

func paramFor(t reflect.Type) param {
	p := param{typ: t}
	switch {
	case t == rawValueType:
		p.decode = func(v bson.RawValue) (reflect.Value, error) {
			// The value outlives the message's buffer in asynchronous calls.
			v.Value = bytes.Clone(v.Value)
			return reflect.ValueOf(v), nil
		}
		return p
	case t == bytesType:
		p.decode = func(v bson.RawValue) (reflect.Value, error) {
			if v.Type == bson.TypeNull {
				return reflect.Zero(t), nil
			}
			_, b, ok := v.BinaryOK()
			if !ok {
				return reflect.Value{}, mismatch(v, t)
			}
			return reflect.ValueOf(bytes.Clone(b)), nil
		}
		return p
	}
	p.kind = scalarKindOf(t)
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.decode = func(v bson.RawValue) (reflect.Value, error) {
			n, err := intArg(v, t)
			if err != nil {
				return reflect.Value{}, err
			}
			if t.Kind() == reflect.Int && t.PkgPath() == "" {
				return reflect.ValueOf(int(n)), nil
			}
			r := reflect.New(t).Elem()
			r.SetInt(n)
			return r, nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		p.decode = func(v bson.RawValue) (reflect.Value, error) {
			n, ok := integer(v)
			if !ok {
				return reflect.Value{}, mismatch(v, t)
			}
			if n < 0 || t.OverflowUint(uint64(n)) {
				return reflect.Value{}, fmt.Errorf("%d overflows %v", n, t)
			}
			r := reflect.New(t).Elem()
			r.SetUint(uint64(n))
			return r, nil
		}
	case reflect.Float32, reflect.Float64:
		p.decode = func(v bson.RawValue) (reflect.Value, error) {
			f, err := floatArg(v, t)
			if err != nil {
				return reflect.Value{}, err
			}
			r := reflect.New(t).Elem()
			r.SetFloat(f)
			return r, nil
		}
	case reflect.String:
		p.decode = func(v bson.RawValue) (reflect.Value, error) {
			s, err := stringArg(v, t)
			if err != nil {
				return reflect.Value{}, err
			}
			if t.PkgPath() == "" {
				return reflect.ValueOf(s), nil
			}
			return reflect.ValueOf(s).Convert(t), nil
		}
	case reflect.Bool:
		p.decode = func(v bson.RawValue) (reflect.Value, error) {
			b, err := boolArg(v, t)
			if err != nil {
				return reflect.Value{}, err
			}
			return reflect.ValueOf(b).Convert(t), nil
		}
	default:
		// Structs, maps, slices, pointers, interfaces and the bson types
		// go through the bson package's own decoders.
		p.decode = func(v bson.RawValue) (reflect.Value, error) {
			r := reflect.New(t)
			if err := bson.UnmarshalValue(v.Type, v.Value, r.Interface()); err != nil {
				return reflect.Value{}, fmt.Errorf("cannot decode %v into %v: %v", v.Type, t, err)
			}
			return r.Elem(), nil
		}
	}
	return p
}

// The decoders of the scalar kinds, shared by both ways of calling: t is
// the parameter's type, for its range and for the error.

func intArg(v bson.RawValue, t reflect.Type) (int64, error) {
	n, ok := integer(v)
	if !ok {
		return 0, mismatch(v, t)
	}
	if t.OverflowInt(n) {
		return 0, fmt.Errorf("%d overflows %v", n, t)
	}
	return n, nil
}

func floatArg(v bson.RawValue, t reflect.Type) (float64, error) {
	if !v.IsNumber() || v.Type == bson.TypeDecimal128 {
		return 0, mismatch(v, t)
	}
	return v.AsFloat64(), nil
}

func stringArg(v bson.RawValue, t reflect.Type) (string, error) {
	s, ok := v.StringValueOK()
	if !ok {
		return "", mismatch(v, t)
	}
	return s, nil
}

func boolArg(v bson.RawValue, t reflect.Type) (bool, error) {
	b, ok := v.BooleanOK()
	if !ok {
		return false, mismatch(v, t)
	}
	return b, nil
}

// scalar decodes v into dst, the field of p's kind.
func (p *param) scalar(v bson.RawValue, dst *scalar) (err error) {
	switch p.kind {
	case kindInt, kindInt64:
		dst.n, err = intArg(v, p.typ)
	case kindFloat64:
		dst.f, err = floatArg(v, p.typ)
	case kindString:
		dst.s, err = stringArg(v, p.typ)
	case kindBool:
		dst.b, err = boolArg(v, p.typ)
	}
	return err
}

// integer returns v as an int64 if it is a BSON integer or a double with an
// integral value.
func integer(v bson.RawValue) (int64, bool) {
	switch v.Type {
	case bson.TypeInt32:
		return int64(v.Int32()), true
	case bson.TypeInt64:
		return v.Int64(), true
	case bson.TypeDouble:
		f := v.Double()
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// DefaultMaxDepth is how deeply documents and arrays may nest in one
// argument or reply unless told otherwise (a document holding only scalars
// is one level): MongoDB's own limit for stored documents.
const DefaultMaxDepth = 100

// checkDepth returns an error if the BSON value of type t in data nests
// documents and arrays more than max levels deep, or is malformed. It
// walks the value without recursion (see session.CheckDepth): the bson
// package's decoders recurse once per level, and a message of a few
// megabytes can nest millions deep, past the goroutine stack's limit, a
// fatal error that no recover catches.
func checkDepth(t bsoncore.Type, data []byte, max int) error {
	err := session.CheckDepth(t, data, max)
	if errors.Is(err, session.ErrMalformed) {
		return fmt.Errorf("malformed %v", t)
	}
	return err
}

// maxQuoted is the largest argument, in bytes of BSON, that an error
// quotes.
const maxQuoted = 40

// mismatch is the error of an argument of the wrong type. It quotes a small
// scalar only: quoting any value would make an error answer as large as the
// call (or, escaped, several times larger), and rendering one nested a
// million deep would overflow the stack.
func mismatch(v bson.RawValue, t reflect.Type) error {
	switch v.Type {
	case bson.TypeEmbeddedDocument, bson.TypeArray, bson.TypeCodeWithScope, bson.TypeBinary:
	default:
		if len(v.Value) <= maxQuoted {
			return fmt.Errorf("want %v, got BSON %v %s", t, v.Type, v.String())
		}
	}
	return fmt.Errorf("want %v, got BSON %v", t, v.Type)
}
