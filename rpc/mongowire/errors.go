package mongowire

import (
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/internal/session"
)

// Error codes of the {ok: 0, errmsg, code, codeName} replies. The codeName of
// an RPC error is the kind of the error, the code is fixed per kind. The
// codes are outside every list that drivers act on: none of them makes a
// driver clear its connection pool, retry, or report a time-out, and no
// errmsg says "not master" or "node is recovering" unless a function's own
// error does.
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
	// CodeTimeout: the function did not finish in time, the call's
	// maxTimeMS or the server's call time-out: MongoDB's MaxTimeMSExpired,
	// which drivers report as a time-out of the operation.
	CodeTimeout = 50
	// CodeBadMessage: a message was not a well-formed call.
	CodeBadMessage = 18806
)

// kindCodes maps the kinds of RPC errors to their codes.
var kindCodes = map[string]int32{
	rpc.NoSuchFunction: CodeNoSuchFunction,
	rpc.BadArguments:   CodeBadArguments,
	rpc.HandlerError:   CodeHandlerError,
	rpc.TooLarge:       CodeTooLarge,
	rpc.Timeout:        CodeTimeout,
	rpc.BadMessage:     CodeBadMessage,
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
	name := e.Message
	if name == rpc.Timeout {
		name = "MaxTimeMSExpired"
	}
	return commandError(session.Bound(e.Detail), kindCodes[e.Message], name)
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
