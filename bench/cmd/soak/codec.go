package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// maxMessage bounds what the soak reads from the server.
const maxMessage = 16 << 20

// call is one call the soak makes, and what its answer must be.
type call struct {
	fn      string // add, echo, sleep or fail
	a, b    int64  // add's arguments
	s       string // echo's and fail's argument
	seconds float64
	noReply bool
}

// randomCall returns a call of a random function: mostly add and echo,
// some sleeps (answered out of order) and failures.
func randomCall(r *rand.Rand) call {
	switch n := r.IntN(100); {
	case n < 40:
		return call{fn: "add", a: r.Int64N(1 << 40), b: r.Int64N(1 << 40)}
	case n < 80:
		return call{fn: "echo", s: randomString(r, 1+r.IntN(200))}
	case n < 92:
		return call{fn: "sleep", seconds: float64(r.IntN(50)) / 1000}
	default:
		return call{fn: "fail", s: randomString(r, 1+r.IntN(20))}
	}
}

func randomString(r *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(letters[r.IntN(len(letters))])
	}
	return b.String()
}

func (c call) args() bson.A {
	switch c.fn {
	case "add":
		return bson.A{c.a, c.b}
	case "sleep":
		return bson.A{c.seconds}
	}
	return bson.A{c.s}
}

// checkReply checks an answer's reply value (or error document) against
// the call; replyKey and errKind name where the protocol puts them.
func (c call) check(reply bson.RawValue, errKind string) error {
	switch {
	case c.fn == "fail":
		if errKind != "HandlerError" {
			return fmt.Errorf("fail(%q): error kind %q, want HandlerError", c.s, errKind)
		}
		return nil
	case errKind != "":
		return fmt.Errorf("%s: error %s", c.fn, errKind)
	}
	switch c.fn {
	case "add":
		if v, ok := reply.AsInt64OK(); !ok || v != c.a+c.b {
			return fmt.Errorf("add(%d, %d) = %v, want %d", c.a, c.b, reply, c.a+c.b)
		}
	case "echo":
		if v, ok := reply.StringValueOK(); !ok || v != c.s {
			return fmt.Errorf("echo of %d bytes answered with %.60s", len(c.s), reply)
		}
	case "sleep":
		if reply.Type != bson.TypeNull {
			return fmt.Errorf("sleep(%v) = %v, want null", c.seconds, reply)
		}
	}
	return nil
}

// codec is an RPC protocol as the soak speaks it.
type codec interface {
	// append appends a call with id (none if id < 0) to b.
	append(b []byte, id int32, c call) []byte
	// read reads an answer: its id (-1 for none), its reply and its
	// error kind ("" for a reply).
	read(r *bufio.Reader) (id int32, reply bson.RawValue, errKind string, err error)
}

// framed is Twist's framed protocol: a 4-byte big-endian length, a BSON
// document.
type framed struct{}

func (framed) append(b []byte, id int32, c call) []byte {
	doc := bson.D{{Key: "call", Value: bson.D{{Key: "funcname", Value: c.fn}, {Key: "arguments", Value: c.args()}}}}
	if id >= 0 {
		doc = append(doc, bson.E{Key: "id", Value: id})
	}
	if c.noReply {
		doc = append(doc, bson.E{Key: "noreply", Value: true})
	}
	body, err := bson.Marshal(doc)
	if err != nil {
		panic(err) // the soak's own documents always marshal
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

func (framed) read(r *bufio.Reader) (int32, bson.RawValue, string, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return 0, bson.RawValue{}, "", err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxMessage {
		return 0, bson.RawValue{}, "", fmt.Errorf("a framed answer of %d bytes", size)
	}
	doc := make(bson.Raw, size)
	if _, err := io.ReadFull(r, doc); err != nil {
		return 0, bson.RawValue{}, "", err
	}
	if err := doc.Validate(); err != nil {
		return 0, bson.RawValue{}, "", fmt.Errorf("a framed answer that is not BSON: %v", err)
	}
	id := int32(-1)
	if v, err := doc.LookupErr("id"); err == nil {
		id = v.Int32()
	}
	if e, err := doc.LookupErr("error"); err == nil {
		kind, _ := e.Document().Lookup("message").StringValueOK()
		return id, bson.RawValue{}, kind, nil
	}
	reply, err := doc.LookupErr("reply")
	if err != nil {
		return 0, bson.RawValue{}, "", fmt.Errorf("a framed answer with neither reply nor error: %.100s", doc)
	}
	return id, reply, "", nil
}

// wire is the MongoDB wire protocol's OP_MSG, the call a command
// {fn: [args]}; the id is the requestID, and a call without one is sent
// with moreToCome (no reply).
type wire struct{}

const (
	opMsg          = 2013
	flagMoreToCome = 1 << 1
)

func (wire) append(b []byte, id int32, c call) []byte {
	body, err := bson.Marshal(bson.D{{Key: c.fn, Value: c.args()}, {Key: "$db", Value: "soak"}})
	if err != nil {
		panic(err)
	}
	var flags uint32
	if c.noReply {
		flags = flagMoreToCome
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(16+4+1+len(body)))
	b = binary.LittleEndian.AppendUint32(b, uint32(id))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, opMsg)
	b = binary.LittleEndian.AppendUint32(b, flags)
	b = append(b, 0)
	return append(b, body...)
}

func (wire) read(r *bufio.Reader) (int32, bson.RawValue, string, error) {
	var h [21]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, bson.RawValue{}, "", err
	}
	size := binary.LittleEndian.Uint32(h[:])
	if size > maxMessage || size < 21+5 {
		return 0, bson.RawValue{}, "", fmt.Errorf("an OP_MSG of %d bytes", size)
	}
	if op := binary.LittleEndian.Uint32(h[12:]); op != opMsg || h[20] != 0 {
		return 0, bson.RawValue{}, "", fmt.Errorf("an answer with opcode %d, section kind %d", op, h[20])
	}
	doc := make(bson.Raw, size-21)
	if _, err := io.ReadFull(r, doc); err != nil {
		return 0, bson.RawValue{}, "", err
	}
	if err := doc.Validate(); err != nil {
		return 0, bson.RawValue{}, "", fmt.Errorf("an OP_MSG answer that is not BSON: %v", err)
	}
	id := int32(binary.LittleEndian.Uint32(h[8:]))
	if ok, _ := doc.Lookup("ok").AsFloat64OK(); ok != 1 {
		kind, _ := doc.Lookup("codeName").StringValueOK()
		if kind == "" {
			return 0, bson.RawValue{}, "", fmt.Errorf("an OP_MSG error without codeName: %.100s", doc)
		}
		return id, bson.RawValue{}, kind, nil
	}
	reply, err := doc.LookupErr("reply")
	if err != nil {
		return 0, bson.RawValue{}, "", errors.New("an OP_MSG answer without reply")
	}
	return id, reply, "", nil
}
