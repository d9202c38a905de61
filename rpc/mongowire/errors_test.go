package mongowire

import (
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
)

// Each kind of error has its fixed code and codeName, and the errmsg is the
// error's detail.
func TestErrorDocCodes(t *testing.T) {
	for _, tt := range []struct {
		err      error
		code     int32
		codeName string
	}{
		{&rpc.Error{Message: rpc.NoSuchFunction, Detail: "d"}, CodeNoSuchFunction, "NoSuchFunction"},
		{&rpc.Error{Message: rpc.BadArguments, Detail: "d"}, CodeBadArguments, "BadArguments"},
		{&rpc.Error{Message: rpc.HandlerError, Detail: "d"}, CodeHandlerError, "HandlerError"},
		{&rpc.Error{Message: rpc.TooLarge, Detail: "d"}, CodeTooLarge, "TooLarge"},
		{&rpc.Error{Message: rpc.Timeout, Detail: "d"}, 50, "MaxTimeMSExpired"},
		{&rpc.Error{Message: rpc.BadMessage, Detail: "d"}, CodeBadMessage, "BadMessage"},
		{&rpc.Error{Message: "SomethingElse", Detail: "d"}, CodeHandlerError, "HandlerError"},
		{errors.New("d"), CodeHandlerError, "HandlerError"},
	} {
		doc, err := bson.Marshal(errorDoc(tt.err))
		if err != nil {
			t.Fatal(err)
		}
		checkError(t, doc, tt.code, tt.codeName)
		if msg := bson.Raw(doc).Lookup("errmsg").StringValue(); msg != "d" && msg != tt.err.Error() {
			t.Errorf("%v: errmsg %q", tt.err, msg)
		}
	}
}
