package rpc_test

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
)

// A server registers an ordinary Go function, and a call to it by name
// goes through Dispatch, as every transport's calls do.
func Example() {
	s := rpc.NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		panic(err)
	}
	_, args, _ := bson.MarshalValue(bson.A{1, 2})
	v, err := s.Dispatch(context.Background(), nil, "add", args).Result()
	fmt.Println(v, err)
	// Output: 3 <nil>
}
