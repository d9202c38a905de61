package bench

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/twistgo/twist/deferred"
	twistrpc "github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/mongowire"
)

// driverClient serves add, fail and hang on a Twist MongoDB wire server
// and connects the official Go driver to it. The server times calls out
// after 5 s, so that no test waits for hang for ever.
func driverClient(t testing.TB) *mongo.Client {
	t.Helper()
	s := twistrpc.NewServer(twistrpc.WithCallTimeout(5 * time.Second))
	for name, fn := range map[string]any{
		"add":  add,
		"fail": func() error { return errors.New("boom") },
		"hang": func() *deferred.Deferred { return deferred.New() },
	} {
		if err := s.Register(name, fn); err != nil {
			t.Fatal(err)
		}
	}
	_, addr, stop, err := startTwist(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c, err := mongoClient(addr.String(), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Disconnect(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return c
}

func TestGoDriverPingsAndCalls(t *testing.T) {
	c := driverClient(t)
	ctx := context.Background()
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Reply int     `bson:"reply"`
		OK    float64 `bson:"ok"`
	}
	if err := c.Database("test").RunCommand(ctx, bson.D{{Key: "add", Value: bson.A{1, 2}}}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Reply != 3 || got.OK != 1 {
		t.Errorf("add(1, 2) = %+v, want {reply: 3, ok: 1}", got)
	}
}

func TestGoDriverGetsCommandErrors(t *testing.T) {
	c := driverClient(t)
	for _, tc := range []struct {
		name string
		cmd  bson.D
		code int32
	}{
		{"handler error", bson.D{{Key: "fail", Value: bson.A{}}}, mongowire.CodeHandlerError},
		{"bad arguments", bson.D{{Key: "add", Value: bson.A{"one", "two"}}}, mongowire.CodeBadArguments},
		{"no such command", bson.D{{Key: "subtract", Value: bson.A{1, 2}}}, mongowire.CodeCommandNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Database("test").RunCommand(context.Background(), tc.cmd).Err()
			var ce mongo.CommandError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("error %#v, want a mongo.CommandError with code %d", err, tc.code)
			}
		})
	}
}

func TestGoDriverFindsTheOlderRPCStyle(t *testing.T) {
	c := driverClient(t)
	filter := bson.D{{Key: "funcname", Value: "add"}, {Key: "argstr", Value: bson.A{bson.A{1, 2}, bson.D{}}}}
	var got struct {
		Result int `bson:"$result"`
	}
	if err := c.Database("calc").Collection("rpc").FindOne(context.Background(), filter).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Result != 3 {
		t.Errorf("find {funcname: add, argstr: [[1, 2], {}]} = %+v, want {$result: 3}", got)
	}
}

// The server holds no data: no databases, no collections; what describes
// it is listCommands, serverStatus, dbStats and connectionStatus.
func TestGoDriverSeesNoDataAndTheServerStatus(t *testing.T) {
	c := driverClient(t)
	ctx := context.Background()
	names, err := c.ListDatabaseNames(ctx, bson.D{})
	if err != nil || len(names) != 0 {
		t.Errorf("database names %q, %v, want none", names, err)
	}
	colls, err := c.Database("test").ListCollectionNames(ctx, bson.D{})
	if err != nil || len(colls) != 0 {
		t.Errorf("collection names %q, %v, want none", colls, err)
	}
	admin := c.Database("admin")
	for range 2 {
		if err := admin.RunCommand(ctx, bson.D{{Key: "add", Value: bson.A{1, 2}}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var cmds struct {
		Commands map[string]struct {
			Arity  int      `bson:"arity"`
			Params []string `bson:"params"`
		} `bson:"commands"`
	}
	if err := admin.RunCommand(ctx, bson.D{{Key: "listCommands", Value: 1}}).Decode(&cmds); err != nil {
		t.Fatal(err)
	}
	if add := cmds.Commands["add"]; add.Arity != 2 || !slices.Equal(add.Params, []string{"int", "int"}) {
		t.Errorf("listCommands: add is %+v", add)
	}
	var status struct {
		Connections struct {
			Current int `bson:"current"`
		} `bson:"connections"`
		RPC struct {
			Functions map[string]struct {
				Calls int64 `bson:"calls"`
			} `bson:"functions"`
		} `bson:"rpc"`
	}
	if err := admin.RunCommand(ctx, bson.D{{Key: "serverStatus", Value: 1}}).Decode(&status); err != nil {
		t.Fatal(err)
	}
	if status.RPC.Functions["add"].Calls != 2 || status.Connections.Current < 1 {
		t.Errorf("serverStatus %+v", status)
	}
	var stats struct {
		Collections int32 `bson:"collections"`
		Functions   int32 `bson:"functions"`
	}
	if err := c.Database("test").RunCommand(ctx, bson.D{{Key: "dbStats", Value: 1}}).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	if stats.Collections != 0 || stats.Functions != 3 {
		t.Errorf("dbStats %+v", stats)
	}
}

// A call that outlives its maxTimeMS fails with MaxTimeMSExpired (50),
// which the driver reports as a time-out.
func TestGoDriverTimeoutIsMaxTimeMSExpired(t *testing.T) {
	c := driverClient(t)
	// No deadline on the context: the driver would send its own maxTimeMS.
	start := time.Now()
	err := c.Database("test").RunCommand(context.Background(), bson.D{{Key: "hang", Value: bson.A{}}, {Key: "maxTimeMS", Value: 50}}).Err()
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != mongowire.CodeTimeout || ce.Name != "MaxTimeMSExpired" || !mongo.IsTimeout(err) {
		t.Fatalf("error %#v, want MaxTimeMSExpired", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %v: the server's time-out, not maxTimeMS", took)
	}
}

// BenchmarkGoDriverCall measures a call of add(1, 2) through the Go driver
// to a Twist server in this process, one after another: as the server
// allocates nothing for it (TestDriverCallDoesNotAllocate), allocs/op are
// the driver's.
func BenchmarkGoDriverCall(b *testing.B) {
	call := mongoCall(driverClient(b))
	b.ReportAllocs()
	for b.Loop() {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNetRPCCall is BenchmarkGoDriverCall's peer: Arith.Add(1, 2)
// through net/rpc's client to its server in this process (allocs/op are
// both sides').
func BenchmarkNetRPCCall(b *testing.B) {
	addrs, stop, err := serveNetRPC()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	calls, closeAll, err := netRPCDial(addrs[listenNetRPC], 1)
	if err != nil {
		b.Fatal(err)
	}
	defer closeAll()
	b.ReportAllocs()
	for b.Loop() {
		if err := calls[0](); err != nil {
			b.Fatal(err)
		}
	}
}

// driverWatch records what the Go driver does besides the calls it is
// asked to make: the server it believes it talks to, its heartbeats, the
// connections it opens and the commands it sends.
type driverWatch struct {
	mu         sync.Mutex
	server     event.ServerDescription
	heartbeats int
	opened     int
	commands   []string
}

func (w *driverWatch) options() *options.ClientOptions {
	locked := func(f func()) { w.mu.Lock(); defer w.mu.Unlock(); f() }
	return options.Client().
		SetServerMonitor(&event.ServerMonitor{
			ServerDescriptionChanged: func(e *event.ServerDescriptionChangedEvent) {
				locked(func() { w.server = e.NewDescription })
			},
			ServerHeartbeatStarted: func(*event.ServerHeartbeatStartedEvent) { locked(func() { w.heartbeats++ }) },
		}).
		SetPoolMonitor(&event.PoolMonitor{Event: func(e *event.PoolEvent) {
			if e.Type == event.ConnectionCreated {
				locked(func() { w.opened++ })
			}
		}}).
		SetMonitor(&event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
			locked(func() { w.commands = append(w.commands, e.CommandName) })
		}})
}

// reset forgets the heartbeats, connections and commands seen so far.
func (w *driverWatch) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.heartbeats, w.opened, w.commands = 0, 0, nil
}

// The driver takes the handshake's answer for a standalone server it can
// use at once, with sessions, and then makes each call as one command on a
// pooled connection: no heartbeat, connection or other command per call,
// nothing that would make a call wait (the previous session's question
// about the driver's latency).
func TestGoDriverCallIsOneCommand(t *testing.T) {
	s := twistrpc.NewServer()
	if err := s.Register("add", add); err != nil {
		t.Fatal(err)
	}
	_, addr, stop, err := startTwist(s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var w driverWatch
	c, err := mongo.Connect(w.options().ApplyURI("mongodb://" + addr.String() + "/?directConnection=true"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Disconnect(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	if err := c.Ping(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	d := w.server
	w.mu.Unlock()
	if d.Kind != "Standalone" || !d.HelloOK || d.MinWireVersion != 0 || d.MaxWireVersion != 21 ||
		d.SessionTimeoutMinutes == nil || *d.SessionTimeoutMinutes != 30 || d.MaxMessageSize == 0 || d.MaxDocumentSize == 0 {
		t.Fatalf("the driver sees %+v", d)
	}
	w.reset()
	const calls = 100
	call := mongoCall(c)
	for range calls {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// A heartbeat is due every 10 s: one may fall in the window by chance.
	if w.heartbeats > 1 || w.opened != 0 || len(w.commands) != calls || slices.ContainsFunc(w.commands, func(n string) bool { return n != "add" }) {
		t.Errorf("%d calls: %d heartbeats, %d connections opened, commands %q", calls, w.heartbeats, w.opened, w.commands)
	}
}
