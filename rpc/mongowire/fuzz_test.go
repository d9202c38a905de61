package mongowire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// fuzzFrame checks parseFrame on one message built from body and opCode:
// it never panics, fails only with a malformed or too-deep error, and a
// request it accepts holds a command that validates.
func fuzzFrame(t *testing.T, opCode int32, body []byte) {
	frame := binary.LittleEndian.AppendUint32(nil, 1) // requestID
	frame = binary.LittleEndian.AppendUint32(frame, 0)
	frame = binary.LittleEndian.AppendUint32(frame, uint32(opCode))
	frame = append(frame, body...)
	req, err := parseFrame(frame, 20)
	if err != nil {
		if !errors.Is(err, errMalformed) && !errors.Is(err, errTooDeep) {
			t.Fatalf("error %v, neither malformed nor too deep", err)
		}
		return
	}
	if err := req.cmd.Validate(); err != nil {
		t.Fatalf("accepted a command that does not validate: %v", err)
	}
	if req.to.requestID != 1 || req.to.opCode != opCode {
		t.Fatalf("reply to %+v", req.to)
	}
}

// bodyOf returns msg without its header.
func bodyOf(msg []byte) []byte { return msg[headerLen:] }

// FuzzOpMsg fuzzes the decoding of OP_MSG bodies: flags, sections of both
// kinds, checksums, and deep or malformed documents.
func FuzzOpMsg(f *testing.F) {
	deep := deepArrayCommand(30)
	for _, msg := range [][]byte{
		command(f, 1, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}}),
		opMsgFrame(1, flagChecksumPresent, kind0(f, bson.D{{Key: "ping", Value: 1}})),
		opMsgFrame(1, flagMoreToCome, kind0(f, bson.D{{Key: "add", Value: bson.A{1, 2}}})),
		opMsgFrame(1, 0, kind0(f, bson.D{{Key: "insert", Value: "c"}}), kind1(f, "documents", bson.D{{Key: "a", Value: 1}}, bson.D{})),
		opMsgFrame(1, 0, kind1(f, "documents")),
		opMsgFrame(1, 0, kind0(f, bson.D{}), kind0(f, bson.D{})),
		opMsgFrame(1, 0, append([]byte{0}, deep...)),
		opMsgFrame(1, 1<<16, kind0(f, bson.D{{Key: "hello", Value: 1}})),
		opMsgFrame(1, 0, []byte{2, 0, 0, 0}),
	} {
		f.Add(bodyOf(msg))
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzFrame(t, opMsg, body) })
}

// FuzzOpQuery fuzzes the decoding of OP_QUERY bodies: the collection, the
// query with or without its $query wrapper, and the field selector.
func FuzzOpQuery(f *testing.F) {
	for _, msg := range [][]byte{
		opQueryMsg(f, 1, "admin.$cmd", bson.D{{Key: "isMaster", Value: 1}}),
		opQueryMsg(f, 1, "admin.$cmd", bson.D{{Key: "$query", Value: bson.D{{Key: "ping", Value: 1}}}, {Key: "$readPreference", Value: bson.D{}}}),
		opQueryMsg(f, 1, "admin.$cmd", bson.D{{Key: "$query", Value: "ping"}}),
		opQueryMsg(f, 1, "test.rpc", bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: bson.A{bson.A{1, 2}, bson.D{}}}}),
		append(opQueryMsg(f, 1, "test.rpc", bson.D{{Key: "funcname", Value: "add"}}), 5, 0, 0, 0, 0),
		opQueryMsg(f, 1, "x", bson.Raw(deepArrayCommand(30))),
	} {
		f.Add(bodyOf(msg))
	}
	f.Add([]byte{0, 0, 0, 0, 'a', 0})
	f.Fuzz(func(t *testing.T, body []byte) { fuzzFrame(t, opQuery, body) })
}

// errClass names which of parseFrame's errors err is, to compare two walks.
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errTooDeep):
		return "too deep"
	case errors.Is(err, errMalformed):
		return "malformed"
	}
	return "other: " + err.Error()
}

// FuzzScanCommand holds readCommand's single walk to readDocument's: the
// same documents accepted, the same kind of error otherwise, and a top
// level that agrees with looking the fields up.
func FuzzScanCommand(f *testing.F) {
	for _, d := range []bson.D{
		{{Key: "add", Value: bson.A{1, 2}}, {Key: "lsid", Value: bson.D{{Key: "id", Value: bson.Binary{Subtype: 4, Data: make([]byte, 16)}}}}, {Key: "$db", Value: "test"}},
		{{Key: "add", Value: bson.A{1, 2}}, {Key: "maxTimeMS", Value: 5}, {Key: "bogus", Value: 1}, {Key: "maxTimeMS", Value: 7}},
		{{Key: "maxTimeMS", Value: 1}},
		{},
	} {
		f.Add(kind0(f, d)[1:], 3)
	}
	f.Add(deepArrayCommand(30), 20)
	f.Add(deepArrayCommand(3), 3)
	f.Add(deepArrayCommand(3), 0)
	f.Add([]byte{5, 0, 0, 0, 1}, 5)
	f.Fuzz(func(t *testing.T, b []byte, maxDepth int) {
		maxDepth %= 40
		p := parser{maxDepth: maxDepth}
		doc, rest, err := p.readDocument(b)
		cmd, top, rest2, err2 := p.readCommand(b)
		if errClass(err) != errClass(err2) {
			t.Fatalf("readDocument: %v; readCommand: %v", err, err2)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(doc, cmd) || !bytes.Equal(rest, rest2) {
			t.Fatalf("readCommand split %x | %x, readDocument %x | %x", cmd, rest2, doc, rest)
		}
		elems, err := cmd.Elements()
		if err != nil {
			t.Fatalf("accepted a command that does not split into elements: %v", err)
		}
		if len(elems) == 0 {
			if top.key != nil {
				t.Fatalf("empty command with the key %q", top.key)
			}
			return
		}
		if string(top.key) != elems[0].Key() || !top.first.Equal(elems[0].Value()) {
			t.Fatalf("first element %q: %v, want %q: %v", top.key, top.first, elems[0].Key(), elems[0].Value())
		}
		var maxTime bson.RawValue
		var unknown []byte
		for _, e := range elems[1:] {
			if e.Key() == "maxTimeMS" {
				maxTime = e.Value()
			} else if unknown == nil && !genericArgs[e.Key()] {
				unknown = []byte(e.Key())
			}
		}
		if !top.maxTimeMS.Equal(maxTime) || string(top.unknown) != string(unknown) {
			t.Fatalf("maxTimeMS %v, unknown %q; want %v, %q", top.maxTimeMS, top.unknown, maxTime, unknown)
		}
	})
}
