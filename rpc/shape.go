package rpc

import (
	"encoding/binary"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// The shape of a connection's calls. A caller tends to make the same call
// again and again with other values: add(1, 2) with id 7, then add(3, 4)
// with id 8. A connection keeps the bytes of the last call that the
// single-pass parser took, and where its values of fixed size lie (the
// arguments, the id, maxTimeMS and noreply): a message of the same length
// that is the same byte for byte outside those holes has the same fields,
// keys, types and function, so only its values need reading, with the
// checks that depend on a value (those of fastScalar, maxTime and
// noreply). A call with a string argument or id, whose size varies, keeps
// no shape. FuzzShape checks that a connection answers a message read
// through a shape as the general path does.

// maxShape is the longest call whose shape a connection keeps.
const maxShape = 256

// holeRole says which value a hole holds: an argument (its index), or one
// of the fields below.
type holeRole uint8

const (
	holeID holeRole = maxShimParams + iota
	holeMaxTime
	holeNoReply
)

// maxHoles is the most holes a call has: its arguments and three fields.
const maxHoles = maxShimParams + 3

// A hole is a value of fixed size in a call read by parseFast. While the
// call is parsed, at is the value's cap (its distance from the end of the
// message's buffer, see holeAt); in a shape it is the value's offset.
type hole struct {
	at   int
	n    uint8
	t    bsoncore.Type
	role holeRole
}

// holeAt returns the hole of val, a value of type t inside the message.
func holeAt(val []byte, t bsoncore.Type, role holeRole) hole {
	return hole{at: cap(val), n: uint8(len(val)), t: t, role: role}
}

// copyValue copies a value of fixed size n (one of fixedLen's) from src to
// dst, without a call to memmove.
func copyValue(dst, src []byte, n uint8) {
	switch n {
	case 1:
		dst[0] = src[0]
	case 4:
		binary.LittleEndian.PutUint32(dst, binary.LittleEndian.Uint32(src))
	case 8:
		binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src))
	default:
		copy(dst[:n], src)
	}
}

// shape is the shape of a connection's last call (see above).
type shape struct {
	// doc is the call, whose holes are overwritten by the values of each
	// message tried against it.
	doc []byte
	// f is the function called, nil while no shape is kept.
	f     *function
	holes [maxHoles]hole
	n     int
	// last is the function of the last call, kept or not: parseFast
	// skips the lookup of a name that names it again.
	last *function
}

// parse reads doc into c as parseFast does, taking its shape's values if
// doc has the connection's shape, and keeps doc's shape otherwise.
func (sh *shape) parse(s *Server, doc []byte, c *fastCall) bool {
	if sh.f != nil && len(doc) == len(sh.doc) && sh.read(doc, c) {
		return true
	}
	c.f = sh.last
	if !s.parseFast(doc, c) {
		return false
	}
	sh.last = c.f
	sh.keep(doc, c)
	return true
}

// read reads doc into c if doc has the shape.
func (sh *shape) read(doc []byte, c *fastCall) bool {
	// With doc's values in its holes, the shape is doc if the rest is the
	// same: one comparison.
	holes := sh.holes[:sh.n]
	for i := range holes {
		copyValue(sh.doc[holes[i].at:], doc[holes[i].at:], holes[i].n)
	}
	if string(doc) != string(sh.doc) {
		return false
	}
	for i := range holes {
		h := &holes[i]
		val := doc[h.at : h.at+int(h.n)]
		switch h.role {
		case holeID:
			c.id = bson.RawValue{Type: bson.Type(h.t), Value: val}
		case holeMaxTime:
			if _, ok := maxTime(bsoncore.Value{Type: h.t, Data: val}); !ok {
				return false
			}
		case holeNoReply:
			if val[0] > 1 {
				return false
			}
			c.noReply = val[0] == 1
		default:
			if !sh.f.params[h.role].fastScalar(h.t, val, &c.in[h.role]) {
				return false
			}
		}
	}
	c.f = sh.f
	return true
}

// keep makes doc, a call that parseFast read into c, the shape, if it has
// one: no value of variable size, and not too long.
func (sh *shape) keep(doc []byte, c *fastCall) {
	sh.f, sh.n = nil, 0
	if len(doc) > maxShape {
		return
	}
	for _, h := range c.holes[:c.n] {
		if fixedLen[h.t] == 0 {
			return
		}
		h.at = cap(doc) - h.at
		// In order of offset, for read's sake: there are few.
		i := sh.n
		for i > 0 && sh.holes[i-1].at > h.at {
			sh.holes[i] = sh.holes[i-1]
			i--
		}
		sh.holes[i] = h
		sh.n++
	}
	sh.doc = append(sh.doc[:0], doc...)
	sh.f = c.f
}
