package bench

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/twistgo/twist/rpc"
)

// mongowire.NewServer serves an rpc.Server's functions over the MongoDB
// wire protocol (startTwist listens with mongowire.NewServer(s)), so that a
// stock driver, here the official Go driver, calls them as commands. (The
// example lives in bench/, which has the driver in its go.mod; the core
// module does not.)
func Example_mongoDriver() {
	s := rpc.NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		panic(err)
	}
	_, addr, stop, err := startTwist(s)
	if err != nil {
		panic(err)
	}
	defer stop()

	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr.String() + "/?directConnection=true"))
	if err != nil {
		panic(err)
	}
	defer func() { _ = client.Disconnect(ctx) }()
	var sum struct {
		Reply int `bson:"reply"`
	}
	err = client.Database("test").RunCommand(ctx, bson.D{{Key: "add", Value: bson.A{1, 2}}}).Decode(&sum)
	fmt.Println(sum.Reply, err)

	// An error answer is a command error with a stable code and codeName.
	err = client.Database("test").RunCommand(ctx, bson.D{{Key: "add", Value: bson.A{1}}}).Err()
	var ce mongo.CommandError
	fmt.Println(errors.As(err, &ce), ce.Code, ce.Name)
	// Output:
	// 3 <nil>
	// true 18802 BadArguments
}
