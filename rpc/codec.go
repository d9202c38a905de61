package rpc

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/protocols/basic"
)

// The client's side of the framed protocol: calls are encoded straight from
// the caller's arguments, with the common scalar types written by hand and
// the rest through the bson package, and replies are decoded into the
// common scalar types without reflection.

// argKeys are the keys of the first elements of an argument array.
var argKeys = func() (keys [16]string) {
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	return keys
}()

// appendCallFrame appends the frame of the call {call: {funcname: name,
// arguments: args}, id: id, maxTimeMS} to dst, its length prefix included.
// maxTimeMS, the milliseconds the server has to answer, rounded up, is left
// out when limit is zero.
func appendCallFrame(dst []byte, name string, args []any, id int64, limit time.Duration) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	idx, dst := bsoncore.AppendDocumentStart(dst)
	cidx, dst := bsoncore.AppendDocumentElementStart(dst, "call")
	dst = bsoncore.AppendStringElement(dst, "funcname", name)
	aidx, dst := bsoncore.AppendArrayElementStart(dst, "arguments")
	for i, a := range args {
		var err error
		if dst, err = appendArg(dst, i, a); err != nil {
			return dst[:start], fmt.Errorf("rpc: %s: cannot encode argument %d: %w", name, i+1, err)
		}
	}
	dst, _ = bsoncore.AppendArrayEnd(dst, aidx)
	dst, _ = bsoncore.AppendDocumentEnd(dst, cidx)
	dst = bsoncore.AppendInt64Element(dst, "id", id)
	if limit > 0 {
		ms := (limit + time.Millisecond - 1) / time.Millisecond
		dst = bsoncore.AppendInt64Element(dst, "maxTimeMS", int64(ms))
	}
	dst, _ = bsoncore.AppendDocumentEnd(dst, idx)
	return prefixLength(dst, start)
}

// appendFrame appends m's frame to dst, its length prefix included.
func appendFrame(dst []byte, m *Message) ([]byte, error) {
	start := len(dst)
	dst, err := AppendMessage(append(dst, 0, 0, 0, 0), m)
	if err != nil {
		return dst[:start], err
	}
	return prefixLength(dst, start)
}

// prefixLength writes the length of the document after the 4 bytes at
// start into them.
func prefixLength(b []byte, start int) ([]byte, error) {
	n := uint64(len(b) - start - 4)
	if n > math.MaxUint32 {
		return b[:start], fmt.Errorf("%w: %d bytes, at most %d", basic.ErrStringTooLong, n, uint64(math.MaxUint32))
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b, nil
}

// appendArg appends argument i, a, as an element of an array. Integers are
// encoded as the bson package would: an int as an int32 when it fits.
func appendArg(dst []byte, i int, a any) ([]byte, error) {
	var key string
	if i < len(argKeys) {
		key = argKeys[i]
	} else {
		key = strconv.Itoa(i)
	}
	switch v := a.(type) {
	case nil:
		return bsoncore.AppendNullElement(dst, key), nil
	case int:
		if v == int(int32(v)) {
			return bsoncore.AppendInt32Element(dst, key, int32(v)), nil
		}
		return bsoncore.AppendInt64Element(dst, key, int64(v)), nil
	case int32:
		return bsoncore.AppendInt32Element(dst, key, v), nil
	case int64:
		return bsoncore.AppendInt64Element(dst, key, v), nil
	case float64:
		return bsoncore.AppendDoubleElement(dst, key, v), nil
	case string:
		return bsoncore.AppendStringElement(dst, key, v), nil
	case bool:
		return bsoncore.AppendBooleanElement(dst, key, v), nil
	}
	t, data, err := bson.MarshalValue(a)
	if err != nil {
		return dst, err
	}
	return bsoncore.AppendValueElement(dst, key, bsoncore.Value{Type: bsoncore.Type(t), Data: data}), nil
}

// decodeReply decodes v into result, a pointer. The commonest pairs of
// BSON type and Go type are decoded here; the others, and the errors, go
// through the bson package, which decides what converts to what.
func decodeReply(v bson.RawValue, result any) error {
	switch r := result.(type) {
	case *int:
		switch v.Type {
		case bson.TypeInt32:
			*r = int(v.Int32())
			return nil
		case bson.TypeInt64:
			if n := v.Int64(); n == int64(int(n)) {
				*r = int(n)
				return nil
			}
		}
	case *int64:
		switch v.Type {
		case bson.TypeInt32:
			*r = int64(v.Int32())
			return nil
		case bson.TypeInt64:
			*r = v.Int64()
			return nil
		}
	case *float64:
		if v.Type == bson.TypeDouble {
			*r = v.Double()
			return nil
		}
	case *string:
		if v.Type == bson.TypeString {
			*r = v.StringValue()
			return nil
		}
	case *bool:
		if v.Type == bson.TypeBoolean {
			*r = v.Boolean()
			return nil
		}
	}
	return v.Unmarshal(result)
}

// int64ID is id as a BSON value.
func int64ID(id int64) bson.RawValue {
	return bson.RawValue{Type: bson.TypeInt64, Value: binary.LittleEndian.AppendUint64(nil, uint64(id))}
}
