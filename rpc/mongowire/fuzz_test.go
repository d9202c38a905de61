package mongowire

import (
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
