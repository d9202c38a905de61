package mongowire

import (
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/internal/session"
)

// Error codes of the {ok: 0, errmsg, code, codeName} replies. Each kind of
// RPC error has a fixed code and codeName; errmsg is the error's detail,
// for people. The codes of the kinds are outside every list that drivers
// act on, but for Timeout: none of them makes a driver clear its
// connection pool or retry, and no errmsg says "not master" or "node is
// recovering" unless a function's own error does.
const (
	// CodeCommandNotFound is MongoDB's code for a command that is neither
	// built in nor the name of a registered function (codeName
	// CommandNotFound).
	CodeCommandNotFound = 59
	// CodeInvalidOptions is MongoDB's code for getParameter without a
	// parameter the server knows (codeName InvalidOptions).
	CodeInvalidOptions = 72
	// CodeNoSuchFunction: a function called another that is not
	// registered, or an older-style call named one. A command naming no
	// registered function is CommandNotFound instead.
	CodeNoSuchFunction = 18801
	// CodeBadArguments: the arguments do not fit the function, or keyword
	// arguments were given (the registry takes positional arguments only).
	CodeBadArguments = 18802
	// CodeHandlerError: the function failed, or its result could not be
	// encoded; the error of any kind not listed here.
	CodeHandlerError = 18803
	// CodeTooLarge: a message or a result is larger than allowed.
	CodeTooLarge = 18804
	// CodeTimeout is MongoDB's MaxTimeMSExpired (codeName
	// MaxTimeMSExpired): the function did not finish within the call's
	// maxTimeMS or the server's call time-out. Drivers report it as a
	// time-out of the operation, and do not retry it.
	CodeTimeout = 50
	// CodeBadMessage: a message was not a well-formed call.
	CodeBadMessage = 18806
)

// errorCode is the code and codeName of a kind of RPC error.
type errorCode struct {
	code int32
	name string
}

// kindCodes maps the kinds of RPC errors to their codes.
var kindCodes = map[string]errorCode{
	rpc.NoSuchFunction: {CodeNoSuchFunction, rpc.NoSuchFunction},
	rpc.BadArguments:   {CodeBadArguments, rpc.BadArguments},
	rpc.HandlerError:   {CodeHandlerError, rpc.HandlerError},
	rpc.TooLarge:       {CodeTooLarge, rpc.TooLarge},
	rpc.Timeout:        {CodeTimeout, "MaxTimeMSExpired"},
	rpc.BadMessage:     {CodeBadMessage, rpc.BadMessage},
}

// rpcError returns err as an *rpc.Error: the one in its chain, or a
// HandlerError saying what err says. A kind without a code is a
// HandlerError too.
func rpcError(err error) *rpc.Error {
	var e *rpc.Error
	if errors.As(err, &e) {
		if _, ok := kindCodes[e.Message]; ok {
			return e
		}
	}
	return &rpc.Error{Message: rpc.HandlerError, Detail: err.Error()}
}

// errorDoc is the command reply for err, its text bounded
// (session.Bound): it may quote what the peer sent.
func errorDoc(err error) bson.D {
	e := rpcError(err)
	code := kindCodes[e.Message]
	return commandError(session.Bound(e.Detail), code.code, code.name)
}

// commandError is the error reply of a command.
func commandError(errmsg string, code int32, codeName string) bson.D {
	return bson.D{
		{Key: "ok", Value: 0.0},
		{Key: "errmsg", Value: errmsg},
		{Key: "code", Value: code},
		{Key: "codeName", Value: codeName},
	}
}

// oldStyleError is the document of the older RPC style for err.
func oldStyleError(err error) bson.D {
	e := rpcError(err)
	return bson.D{{Key: "$error", Value: bson.D{
		{Key: "message", Value: e.Message},
		{Key: "detail", Value: e.Detail},
	}}}
}
