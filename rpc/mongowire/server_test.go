package mongowire

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestCallAnswersReply(t *testing.T) {
	f := newFixture(t)
	r := f.send(command(t, 7, bson.D{{Key: "add", Value: bson.A{1, 2}}, {Key: "$db", Value: "test"}}))
	if r.responseTo != 7 || r.opCode != opMsg {
		t.Fatalf("responseTo %d opCode %d", r.responseTo, r.opCode)
	}
	checkOK(t, r.doc)
	if got := field(t, r.doc, bson.TypeInt32, "reply").Int32(); got != 3 {
		t.Fatalf("reply = %d", got)
	}
	if first := r.doc.Index(0).Key(); first != "reply" {
		t.Errorf("first key %q", first)
	}
}

func TestUnknownCommandIsCommandNotFound(t *testing.T) {
	f := newFixture(t)
	r := f.send(command(t, 1, bson.D{{Key: "nosuch", Value: 1}, {Key: "$db", Value: "admin"}}))
	checkError(t, r.doc, CodeCommandNotFound, "CommandNotFound")
	if msg := field(t, r.doc, bson.TypeString, "errmsg").StringValue(); !strings.Contains(msg, "nosuch") {
		t.Errorf("errmsg %q", msg)
	}
}

// handshakeTypes are the fields of the handshake reply and their types,
// which the Go driver checks.
var handshakeTypes = []struct {
	key string
	typ bson.Type
}{
	{"maxBsonObjectSize", bson.TypeInt32},
	{"maxMessageSizeBytes", bson.TypeInt32},
	{"maxWriteBatchSize", bson.TypeInt32},
	{"localTime", bson.TypeDateTime},
	{"logicalSessionTimeoutMinutes", bson.TypeInt32},
	{"connectionId", bson.TypeInt32},
	{"minWireVersion", bson.TypeInt32},
	{"maxWireVersion", bson.TypeInt32},
	{"readOnly", bson.TypeBoolean},
	{"ok", bson.TypeDouble},
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name    string
		msg     func(t *testing.T) []byte
		primary string
		opCode  int32
		helloOk bool
	}{
		{"isMaster over OP_QUERY with helloOk", func(t *testing.T) []byte {
			return opQueryMsg(t, 4, "admin.$cmd", bson.D{{Key: "isMaster", Value: 1}, {Key: "helloOk", Value: true}, {Key: "client", Value: bson.D{{Key: "driver", Value: bson.D{{Key: "name", Value: "nodejs"}}}}}})
		}, "ismaster", opReply, true},
		{"ismaster over OP_QUERY", func(t *testing.T) []byte {
			return opQueryMsg(t, 4, "admin.$cmd", bson.D{{Key: "ismaster", Value: 1}})
		}, "ismaster", opReply, false},
		{"hello over OP_MSG", func(t *testing.T) []byte {
			return command(t, 4, bson.D{{Key: "hello", Value: 1}, {Key: "$db", Value: "admin"}})
		}, "isWritablePrimary", opMsg, false},
		{"hello over OP_MSG with helloOk", func(t *testing.T) []byte {
			return command(t, 4, bson.D{{Key: "hello", Value: 1}, {Key: "helloOk", Value: true}, {Key: "$db", Value: "admin"}})
		}, "isWritablePrimary", opMsg, true},
		{"isMaster over OP_MSG", func(t *testing.T) []byte {
			return command(t, 4, bson.D{{Key: "isMaster", Value: 1}, {Key: "$db", Value: "admin"}})
		}, "ismaster", opMsg, false},
		{"hello over OP_QUERY", func(t *testing.T) []byte {
			return opQueryMsg(t, 4, "admin.$cmd", bson.D{{Key: "hello", Value: 1}})
		}, "isWritablePrimary", opReply, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.send(tt.msg(t))
			if r.opCode != tt.opCode || r.responseTo != 4 || r.flags != 0 {
				t.Fatalf("opCode %d responseTo %d flags %d", r.opCode, r.responseTo, r.flags)
			}
			if !field(t, r.doc, bson.TypeBoolean, tt.primary).Boolean() {
				t.Errorf("%s is false", tt.primary)
			}
			for _, ft := range handshakeTypes {
				field(t, r.doc, ft.typ, ft.key)
			}
			checkOK(t, r.doc)
			want := map[string]int32{"maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
				"logicalSessionTimeoutMinutes": 30, "connectionId": 1, "minWireVersion": 0, "maxWireVersion": 21}
			for k, w := range want {
				if got := r.doc.Lookup(k).Int32(); got != w {
					t.Errorf("%s = %d, want %d", k, got, w)
				}
			}
			if r.doc.Lookup("readOnly").Boolean() {
				t.Error("readOnly is true")
			}
			_, err := r.doc.LookupErr("helloOk")
			if tt.helloOk != (err == nil) || tt.helloOk && !field(t, r.doc, bson.TypeBoolean, "helloOk").Boolean() {
				t.Errorf("helloOk present = %v, want %v", err == nil, tt.helloOk)
			}
			for _, absent := range []string{"setName", "msg", "topologyVersion", "$clusterTime", "compression"} {
				if _, err := r.doc.LookupErr(absent); err == nil {
					t.Errorf("%s present", absent)
				}
			}
		})
	}
}

func TestConnectionIDPerConnection(t *testing.T) {
	f := newFixture(t)
	p2, tr2 := f.connect()
	p2.DataReceived(command(t, 1, bson.D{{Key: "hello", Value: 1}}))
	f.proto.DataReceived(command(t, 1, bson.D{{Key: "hello", Value: 1}}))
	if id := replies(t, tr2)[0].doc.Lookup("connectionId").Int32(); id != 2 {
		t.Errorf("second connection's id %d", id)
	}
	if id := replies(t, f.tr)[0].doc.Lookup("connectionId").Int32(); id != 1 {
		t.Errorf("first connection's id %d", id)
	}
}

func TestMaxMessageSizeAdvertised(t *testing.T) {
	f := newFixture(t, WithMaxMessageSize(1<<20))
	r := f.send(command(t, 1, bson.D{{Key: "hello", Value: 1}}))
	if got := field(t, r.doc, bson.TypeInt32, "maxMessageSizeBytes").Int32(); got != 1<<20 {
		t.Fatalf("maxMessageSizeBytes = %d", got)
	}
}

// TestBuiltinCommands sends each command that drivers and mongosh send on
// their own and checks the reply field by field, types included.
func TestBuiltinCommands(t *testing.T) {
	tests := []struct {
		name   string
		cmd    bson.D
		checks []check
	}{
		{"ping", bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}}, nil},
		{"ping is built in before the function of the same name", bson.D{{Key: "ping", Value: bson.A{}}}, nil},
		{"endSessions", bson.D{{Key: "endSessions", Value: bson.A{bson.D{{Key: "id", Value: bson.Binary{Subtype: 4, Data: make([]byte, 16)}}}}}, {Key: "$db", Value: "admin"}}, nil},
		{"buildInfo", bson.D{{Key: "buildInfo", Value: 1}, {Key: "$db", Value: "admin"}}, []check{
			{[]string{"version"}, bson.TypeString, "7.0.0"},
			{[]string{"versionArray"}, bson.TypeArray, nil},
			{[]string{"versionArray", "0"}, bson.TypeInt32, int32(7)},
			{[]string{"gitVersion"}, bson.TypeString, nil},
			{[]string{"modules"}, bson.TypeArray, nil},
			{[]string{"bits"}, bson.TypeInt32, int32(64)},
			{[]string{"debug"}, bson.TypeBoolean, false},
			{[]string{"maxBsonObjectSize"}, bson.TypeInt32, int32(16777216)},
			{[]string{"buildEnvironment"}, bson.TypeEmbeddedDocument, nil},
		}},
		{"buildinfo", bson.D{{Key: "buildinfo", Value: 1}}, []check{{[]string{"version"}, bson.TypeString, "7.0.0"}}},
		{"getParameter featureCompatibilityVersion", bson.D{{Key: "getParameter", Value: 1}, {Key: "featureCompatibilityVersion", Value: 1}, {Key: "$db", Value: "admin"}}, []check{
			{[]string{"featureCompatibilityVersion", "version"}, bson.TypeString, "7.0"},
		}},
		{"getParameter *", bson.D{{Key: "getParameter", Value: "*"}}, []check{
			{[]string{"featureCompatibilityVersion", "version"}, bson.TypeString, "7.0"},
		}},
		{"getLog startupWarnings", bson.D{{Key: "getLog", Value: "startupWarnings"}, {Key: "$db", Value: "admin"}}, []check{
			{[]string{"totalLinesWritten"}, bson.TypeInt32, int32(0)},
			{[]string{"log"}, bson.TypeArray, nil},
		}},
		{"getLog *", bson.D{{Key: "getLog", Value: "*"}}, []check{
			{[]string{"names", "0"}, bson.TypeString, "startupWarnings"},
		}},
		{"listDatabases", bson.D{{Key: "listDatabases", Value: 1}, {Key: "nameOnly", Value: false}, {Key: "$db", Value: "admin"}}, []check{
			{[]string{"databases"}, bson.TypeArray, nil},
			{[]string{"totalSize"}, bson.TypeInt64, int64(0)},
		}},
		{"listCollections", bson.D{{Key: "listCollections", Value: 1}, {Key: "nameOnly", Value: true}, {Key: "$db", Value: "test"}}, []check{
			{[]string{"cursor", "id"}, bson.TypeInt64, int64(0)},
			{[]string{"cursor", "ns"}, bson.TypeString, "test.$cmd.listCollections"},
			{[]string{"cursor", "firstBatch"}, bson.TypeArray, nil},
		}},
		{"listCommands", bson.D{{Key: "listCommands", Value: 1}, {Key: "$db", Value: "admin"}}, []check{
			{[]string{"commands", "add", "arity"}, bson.TypeInt32, int32(2)},
			{[]string{"commands", "add", "params", "1"}, bson.TypeString, "int"},
			{[]string{"commands", "add", "help"}, bson.TypeString, "function of 2 arguments"},
			{[]string{"commands", "echo", "help"}, bson.TypeString, "function of 1 argument"},
			{[]string{"commands", "serverStatus", "adminOnly"}, bson.TypeBoolean, false},
		}},
		{"dbStats", bson.D{{Key: "dbStats", Value: 1}, {Key: "scale", Value: 1}, {Key: "$db", Value: "test"}}, []check{
			{[]string{"db"}, bson.TypeString, "test"},
			{[]string{"collections"}, bson.TypeInt32, int32(0)},
			{[]string{"objects"}, bson.TypeInt64, int64(0)},
			{[]string{"functions"}, bson.TypeInt32, int32(5)},
		}},
		{"connectionStatus", bson.D{{Key: "connectionStatus", Value: 1}, {Key: "$db", Value: "admin"}}, []check{
			{[]string{"authInfo", "authenticatedUsers"}, bson.TypeArray, nil},
			{[]string{"authInfo", "authenticatedUserRoles"}, bson.TypeArray, nil},
		}},
		{"aggregate on admin.atlascli", bson.D{{Key: "aggregate", Value: "atlascli"}, {Key: "pipeline", Value: bson.A{}}, {Key: "cursor", Value: bson.D{}}, {Key: "$db", Value: "admin"}}, []check{
			{[]string{"cursor", "id"}, bson.TypeInt64, int64(0)},
			{[]string{"cursor", "ns"}, bson.TypeString, "admin.atlascli"},
			{[]string{"cursor", "firstBatch"}, bson.TypeArray, nil},
		}},
		{"find on another collection", bson.D{{Key: "find", Value: "things"}, {Key: "filter", Value: bson.D{}}, {Key: "$db", Value: "test"}}, []check{
			{[]string{"cursor", "ns"}, bson.TypeString, "test.things"},
			{[]string{"cursor", "firstBatch"}, bson.TypeArray, nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.send(command(t, 3, tt.cmd))
			checkOK(t, r.doc)
			if _, err := r.doc.LookupErr("reply"); err == nil {
				t.Errorf("a function answered: %v", r.doc)
			}
			checkFields(t, r.doc, tt.checks)
			if arr, ok := r.doc.Lookup("cursor", "firstBatch").ArrayOK(); ok && tt.cmd[0].Key != "listCollections" {
				if vals, _ := arr.Values(); len(vals) != 0 {
					t.Errorf("firstBatch %v, want empty", arr)
				}
			}
		})
	}
}

func TestCommandErrors(t *testing.T) {
	tests := []struct {
		name     string
		cmd      bson.D
		code     int32
		codeName string
	}{
		{"atlasVersion", bson.D{{Key: "atlasVersion", Value: 1}, {Key: "$db", Value: "admin"}}, CodeCommandNotFound, "CommandNotFound"},
		{"empty command", bson.D{}, CodeCommandNotFound, "CommandNotFound"},
		{"getParameter unknown", bson.D{{Key: "getParameter", Value: 1}, {Key: "nosuchParameter", Value: 1}}, CodeInvalidOptions, "InvalidOptions"},
		{"handler error", bson.D{{Key: "fail", Value: bson.A{}}}, CodeHandlerError, "HandlerError"},
		{"bad arguments", bson.D{{Key: "add", Value: bson.A{"one", 2}}}, CodeBadArguments, "BadArguments"},
		{"too many arguments", bson.D{{Key: "add", Value: bson.A{1, 2, 3}}}, CodeBadArguments, "BadArguments"},
		{"a single argument where two are needed", bson.D{{Key: "add", Value: 1}}, CodeBadArguments, "BadArguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			checkError(t, f.send(command(t, 1, tt.cmd)).doc, tt.code, tt.codeName)
		})
	}
}

func TestNonArrayValueIsTheOnlyArgument(t *testing.T) {
	f := newFixture(t)
	r := f.send(command(t, 1, bson.D{{Key: "echo", Value: "hi"}, {Key: "$db", Value: "test"}, {Key: "lsid", Value: bson.D{{Key: "id", Value: 1}}}, {Key: "maxTimeMS", Value: 100}}))
	checkOK(t, r.doc)
	if got := field(t, r.doc, bson.TypeString, "reply").StringValue(); got != "hi" {
		t.Fatalf("reply %q", got)
	}
}

func TestAsyncRepliesGoOutOfOrder(t *testing.T) {
	f := newFixture(t)
	f.proto.DataReceived(command(t, 10, bson.D{{Key: "later", Value: bson.A{}}}))
	f.proto.DataReceived(command(t, 11, bson.D{{Key: "later", Value: bson.A{}}}))
	if len(f.tr.Value()) != 0 || len(f.later) != 2 {
		t.Fatalf("%d bytes written, %d calls running", len(f.tr.Value()), len(f.later))
	}
	f.later[1].Callback("second")
	f.later[0].Callback("first")
	rs := replies(t, f.tr)
	if len(rs) != 2 || rs[0].responseTo != 11 || rs[1].responseTo != 10 {
		t.Fatalf("replies %+v", rs)
	}
	if rs[0].doc.Lookup("reply").StringValue() != "second" || rs[1].doc.Lookup("reply").StringValue() != "first" {
		t.Fatalf("replies %v, %v", rs[0].doc, rs[1].doc)
	}
	if rs[0].requestID == rs[1].requestID {
		t.Error("replies share a requestID")
	}
}

func TestReplyAfterConnectionLostIsDropped(t *testing.T) {
	f := newFixture(t)
	f.proto.DataReceived(command(t, 10, bson.D{{Key: "later", Value: bson.A{}}}))
	f.proto.ConnectionLost(nil)
	f.later[0].Callback(1)
	if n := len(f.tr.Value()); n != 0 {
		t.Fatalf("%d bytes written after the connection was lost", n)
	}
}

func TestMoreToComeGetsNoReply(t *testing.T) {
	f := newFixture(t)
	f.proto.DataReceived(opMsgFrame(1, flagMoreToCome, kind0(t, bson.D{{Key: "endSessions", Value: bson.A{}}, {Key: "$db", Value: "admin"}})))
	f.proto.DataReceived(opMsgFrame(2, flagMoreToCome, kind0(t, bson.D{{Key: "later", Value: bson.A{}}})))
	f.proto.DataReceived(opMsgFrame(3, flagMoreToCome, kind0(t, bson.D{{Key: "fail", Value: bson.A{}}})))
	if len(f.later) != 1 {
		t.Fatal("the one-way call did not run")
	}
	f.later[0].Callback(1)
	if n := len(f.tr.Value()); n != 0 || f.tr.Disconnecting() {
		t.Fatalf("%d bytes written, disconnecting %v", n, f.tr.Disconnecting())
	}
}

func TestChecksummedRequestGetsPlainReply(t *testing.T) {
	f := newFixture(t)
	r := f.send(opMsgFrame(5, flagChecksumPresent, kind0(t, bson.D{{Key: "add", Value: bson.A{2, 3}}})))
	if got := r.doc.Lookup("reply").Int32(); got != 5 {
		t.Fatalf("reply %d", got)
	}
}

func TestMessagesSplitAndCoalesced(t *testing.T) {
	f := newFixture(t)
	var stream []byte
	for i := int32(1); i <= 3; i++ {
		stream = append(stream, command(t, i, bson.D{{Key: "add", Value: bson.A{i, 10}}})...)
	}
	// One byte at a time, then the rest at once.
	for _, b := range stream[:30] {
		f.proto.DataReceived([]byte{b})
	}
	f.proto.DataReceived(stream[30:])
	rs := replies(t, f.tr)
	if len(rs) != 3 {
		t.Fatalf("%d replies", len(rs))
	}
	for i, r := range rs {
		if r.responseTo != int32(i+1) || r.doc.Lookup("reply").Int32() != int32(i+11) {
			t.Errorf("reply %d: responseTo %d, %v", i, r.responseTo, r.doc)
		}
	}
}

func TestServerStatusCountsCallsAndConnections(t *testing.T) {
	f := newFixture(t)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.srv.stats.started, f.srv.now = start, func() time.Time { return start.Add(90 * time.Second) }
	f.send(command(t, 1, bson.D{{Key: "add", Value: bson.A{1, 2}}}))
	f.send(command(t, 2, bson.D{{Key: "add", Value: bson.A{"x", 2}}}))
	other, _ := f.connect()
	gone, _ := f.connect()
	gone.ConnectionLost(nil)
	r := f.send(command(t, 3, bson.D{{Key: "serverStatus", Value: 1}, {Key: "$db", Value: "admin"}}))
	checkOK(t, r.doc)
	checkFields(t, r.doc, []check{
		{[]string{"rpc", "functions", "add", "calls"}, bson.TypeInt64, int64(2)},
		{[]string{"rpc", "functions", "echo", "calls"}, bson.TypeInt64, int64(0)},
		{[]string{"connections", "current"}, bson.TypeInt32, int32(2)},
		{[]string{"connections", "totalCreated"}, bson.TypeInt64, int64(3)},
		{[]string{"uptime"}, bson.TypeDouble, 90.0},
		{[]string{"uptimeMillis"}, bson.TypeInt64, int64(90_000)},
		{[]string{"version"}, bson.TypeString, serverVersion},
	})
	other.ConnectionLost(nil)
}

// The fields drivers add to every command are taken with a call.
func TestCallTakesTheGenericFields(t *testing.T) {
	f := newFixture(t)
	r := f.send(command(t, 1, bson.D{
		{Key: "add", Value: bson.A{1, 2}},
		{Key: "lsid", Value: bson.D{{Key: "id", Value: bson.Binary{Subtype: 4, Data: make([]byte, 16)}}}},
		{Key: "$clusterTime", Value: bson.D{}},
		{Key: "$readPreference", Value: bson.D{{Key: "mode", Value: "primaryPreferred"}}},
		{Key: "maxTimeMS", Value: int32(1000)},
		{Key: "comment", Value: "hi"},
		{Key: "apiVersion", Value: "1"},
		{Key: "$db", Value: "test"},
	}))
	checkOK(t, r.doc)
	if got := field(t, r.doc, bson.TypeInt32, "reply").Int32(); got != 3 {
		t.Fatalf("reply = %d", got)
	}
}

// check is a field a reply must have: its path, its type and, when val is
// not nil, its value.
type check struct {
	key []string
	typ bson.Type
	val any
}

// checkFields checks that doc has the fields of checks.
func checkFields(t *testing.T, doc bson.Raw, checks []check) {
	t.Helper()
	for _, c := range checks {
		v := field(t, doc, c.typ, c.key...)
		if c.val == nil {
			continue
		}
		var got any
		switch c.typ {
		case bson.TypeString:
			got = v.StringValue()
		case bson.TypeInt32:
			got = v.Int32()
		case bson.TypeInt64:
			got = v.Int64()
		case bson.TypeDouble:
			got = v.Double()
		case bson.TypeBoolean:
			got = v.Boolean()
		}
		if got != c.val {
			t.Errorf("%v = %v, want %v", c.key, got, c.val)
		}
	}
}
