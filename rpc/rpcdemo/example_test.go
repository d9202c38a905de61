package rpcdemo_test

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/rpcdemo"
	"github.com/twistgo/twist/twisttest"
)

// The demo functions are registered on a server together and called by
// name, here through Dispatch as every transport calls them.
func Example() {
	s := rpc.NewServer()
	if err := rpcdemo.Register(s, twisttest.NewClock()); err != nil {
		panic(err)
	}
	for _, call := range []struct {
		name string
		args bson.A
	}{
		{"add", bson.A{1, 2}},
		{"cummingsify", bson.A{"Thou art more lovely"}},
		{"fail", bson.A{"on purpose"}},
	} {
		_, args, _ := bson.MarshalValue(call.args)
		v, err := s.Dispatch(context.Background(), nil, call.name, args).Result()
		fmt.Println(v, err)
	}
	// Output:
	// 3 <nil>
	// thou art more lovely <nil>
	// <nil> rpc: HandlerError: rpcdemo: failed as asked: on purpose
}
