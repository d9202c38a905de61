package rpc_test

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

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

// AppendCall writes a result that is ready at once straight into the
// caller's buffer, as one BSON element: here, the whole of a document.
func ExampleServer_AppendCall() {
	s := rpc.NewServer()
	if err := s.Register("add", func(a, b int) int { return a + b }); err != nil {
		panic(err)
	}
	_, args, _ := bson.MarshalValue(bson.A{1, 2})
	idx, doc := bsoncore.AppendDocumentStart(nil)
	doc, d, err := s.AppendCall(doc, context.Background(), nil, "reply", "add", args)
	doc, _ = bsoncore.AppendDocumentEnd(doc, idx)
	fmt.Println(bson.Raw(doc), d == nil, err)
	// Output: {"reply": {"$numberInt":"3"}} true <nil>
}
