package bench

import (
	"context"
	"errors"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	twistrpc "github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/mongowire"
)

// driverClient serves add and fail on a Twist MongoDB wire server and
// connects the official Go driver to it.
func driverClient(t *testing.T) *mongo.Client {
	t.Helper()
	s := twistrpc.NewServer()
	for name, fn := range map[string]any{"add": add, "fail": func() error { return errors.New("boom") }} {
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

func TestGoDriverListsDatabases(t *testing.T) {
	c := driverClient(t)
	names, err := c.ListDatabaseNames(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"rpc"}) {
		t.Errorf("database names %q, want [rpc]", names)
	}
}
