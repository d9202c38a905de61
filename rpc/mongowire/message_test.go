package mongowire

import (
	"encoding/binary"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestParseMessage(t *testing.T) {
	ping := bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}}
	withChecksum := opMsgFrame(3, flagChecksumPresent, kind0(t, ping))
	badChecksum := append([]byte(nil), withChecksum...)
	badChecksum[len(badChecksum)-1] ^= 0xff
	lengthMismatch := command(t, 1, ping)
	binary.LittleEndian.PutUint32(lengthMismatch, uint32(len(lengthMismatch)+1))
	badDoc := command(t, 1, ping)
	badDoc[len(badDoc)-1] = 7 // the document's terminating NUL
	compressed := appendHeader(nil, 1, 0, 2012)
	compressed = append(compressed, make([]byte, 9)...)
	finishMessage(compressed)

	tests := []struct {
		name       string
		msg        []byte
		wantErr    bool
		wantCmd    string // the first key
		moreToCome bool
	}{
		{name: "kind 0", msg: command(t, 1, ping), wantCmd: "ping"},
		{name: "checksum verified", msg: withChecksum, wantCmd: "ping"},
		{name: "moreToCome", msg: opMsgFrame(1, flagMoreToCome, kind0(t, ping)), wantCmd: "ping", moreToCome: true},
		{name: "exhaustAllowed and unknown high bits ignored", msg: opMsgFrame(1, 1<<16|1<<20, kind0(t, ping)), wantCmd: "ping"},
		{name: "kind 1 after kind 0", msg: opMsgFrame(1, 0, kind0(t, ping), kind1(t, "documents", bson.D{{Key: "a", Value: 1}})), wantCmd: "ping"},
		{name: "kind 1 before kind 0", msg: opMsgFrame(1, 0, kind1(t, "documents"), kind0(t, ping)), wantCmd: "ping"},
		{name: "OP_QUERY", msg: opQueryMsg(t, 1, "admin.$cmd", bson.D{{Key: "isMaster", Value: 1}}), wantCmd: "isMaster"},
		{name: "OP_QUERY wrapped in $query", msg: opQueryMsg(t, 1, "admin.$cmd", bson.D{{Key: "$query", Value: bson.D{{Key: "ismaster", Value: 1}}}}), wantCmd: "ismaster"},
		{name: "short header", msg: command(t, 1, ping)[:12], wantErr: true},
		{name: "length field mismatch", msg: lengthMismatch, wantErr: true},
		{name: "no flag bits", msg: opMsgFrame(1, 0)[:headerLen+2], wantErr: true},
		{name: "unknown section kind", msg: opMsgFrame(1, 0, kind0(t, ping), []byte{2, 5, 0, 0, 0, 0}), wantErr: true},
		{name: "bad checksum", msg: badChecksum, wantErr: true},
		{name: "unknown required flag bit", msg: opMsgFrame(1, 1<<2, kind0(t, ping)), wantErr: true},
		{name: "two kind-0 sections", msg: opMsgFrame(1, 0, kind0(t, ping), kind0(t, ping)), wantErr: true},
		{name: "no kind-0 section", msg: opMsgFrame(1, 0, kind1(t, "documents")), wantErr: true},
		{name: "document overruns message", msg: opMsgFrame(1, 0, []byte{0, 200, 0, 0, 0, 0}), wantErr: true},
		{name: "invalid document", msg: badDoc, wantErr: true},
		{name: "kind-1 size overruns message", msg: opMsgFrame(1, 0, kind0(t, ping), []byte{1, 99, 0, 0, 0, 'x', 0}), wantErr: true},
		{name: "kind-1 identifier unterminated", msg: opMsgFrame(1, 0, kind0(t, ping), []byte{1, 6, 0, 0, 0, 'x', 'y'}), wantErr: true},
		{name: "OP_COMPRESSED", msg: compressed, wantErr: true},
		{name: "OP_QUERY without query", msg: opQueryMsg(t, 1, "admin.$cmd", ping)[:headerLen+4+11+8], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := parseMessage(tt.msg)
			if tt.wantErr {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("err = %v, want a malformed-message error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := req.cmd.Index(0).Key(); got != tt.wantCmd {
				t.Errorf("command %q, want %q", got, tt.wantCmd)
			}
			if req.to.moreToCome != tt.moreToCome {
				t.Errorf("moreToCome = %v", req.to.moreToCome)
			}
		})
	}
}

func TestKindOneSectionsFoldIntoArrays(t *testing.T) {
	msg := opMsgFrame(1, 0,
		kind1(t, "documents", bson.D{{Key: "a", Value: 1}}, bson.D{{Key: "b", Value: 2}}),
		kind0(t, bson.D{{Key: "insert", Value: "rpc"}, {Key: "$db", Value: "test"}}),
		kind1(t, "updates"),
	)
	req, err := parseMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Insert    string
		Documents []bson.M
		Updates   []bson.M
	}
	if err := bson.Unmarshal(req.cmd, &got); err != nil {
		t.Fatal(err)
	}
	if got.Insert != "rpc" || len(got.Documents) != 2 || got.Documents[1]["b"] != int32(2) || got.Updates == nil || len(got.Updates) != 0 {
		t.Fatalf("folded command %v", req.cmd)
	}
}

func TestReplyFraming(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want []uint32
	}{
		{"OP_MSG", appendMsgHeader(nil, 5, 9), []uint32{0, 5, 9, opMsg, 0}},
		{"OP_REPLY", appendReplyHeader(nil, 5, 9, queryFailure), []uint32{0, 5, 9, opReply, queryFailure, 0, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			finishMessage(tt.b)
			tt.want[0] = uint32(len(tt.b))
			for i, w := range tt.want {
				if got := binary.LittleEndian.Uint32(tt.b[4*i:]); got != w {
					t.Errorf("word %d = %d, want %d", i, got, w)
				}
			}
		})
	}
}
