package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/clock"
	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/rpc/internal/session"
)

// DefaultMaxMessageSize is the longest message body a server or client
// accepts unless told otherwise: 16 MiB, MongoDB's limit.
const DefaultMaxMessageSize = 16 << 20

// DefaultMaxPending is how many calls a connection has outstanding before
// it stops reading: calls whose result is awaited, and answers to calls
// without an id held back for an earlier call to finish.
const DefaultMaxPending = 1024

// Server holds a registry of functions and serves them: over the framed
// protocol with Factory, or over any other transport with Dispatch.
//
// Register functions before serving: the registry is read without locks by
// every connection, on every loop.
type Server struct {
	name    string
	version string
	limits  Limits
	timeout time.Duration
	clock   clock.Clock
	logger  *slog.Logger
	funcs   map[string]*function
	// group holds the live connections, for Drain.
	group session.Group
	// framed is the session configuration of the framed protocol.
	framed session.Config
	// unknownCalls counts the calls of no registered function (stats.go).
	unknownCalls atomic.Uint64
}

// A ServerOption configures a Server.
type ServerOption func(*Server)

// WithName sets the name and version the server gives in its info.
func WithName(name, version string) ServerOption {
	return func(s *Server) { s.name, s.version = name, version }
}

// WithMaxMessageSize sets the longest framed message body accepted, in
// bytes: Limits.MaxMessage. Less than 1 means the default.
func WithMaxMessageSize(n int) ServerOption {
	return func(s *Server) { s.limits.MaxMessage = n; s.limits = s.limits.withDefaults() }
}

// WithMaxPending sets how many calls a connection has outstanding before it
// pauses reading: Limits.MaxPending. Less than 1 means the default.
func WithMaxPending(n int) ServerOption {
	return func(s *Server) { s.limits.MaxPending = n; s.limits = s.limits.withDefaults() }
}

// WithMaxDepth sets how deeply documents and arrays may nest in one
// call: Limits.MaxDepth. Less than 1 means the default.
func WithMaxDepth(n int) ServerOption {
	return func(s *Server) { s.limits.MaxDepth = n; s.limits = s.limits.withDefaults() }
}

// WithCallTimeout fails calls that have not finished after d with a Timeout
// error. Zero, the default, means no limit.
func WithCallTimeout(d time.Duration) ServerOption { return func(s *Server) { s.timeout = d } }

// WithClock sets the clock that times calls out, instead of the loop of
// each connection: for tests with a fake clock.
func WithClock(c clock.Clock) ServerOption { return func(s *Server) { s.clock = c } }

// WithLogger sets the logger of connection errors; the default is
// slog.Default().
func WithLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.logger = l } }

// NewServer returns a Server with no functions.
func NewServer(opts ...ServerOption) *Server {
	s := &Server{
		name:   "twist-rpc",
		limits: DefaultLimits(),
		funcs:  make(map[string]*function),
	}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.framed = session.Config{
		Name:       "rpc",
		MaxMessage: s.limits.MaxMessage,
		MaxPending: s.limits.MaxPending,
		MaxOutput:  s.limits.MaxOutput,
		Logger:     s.logger,
		Group:      &s.group,
		Clock:      s.clock,
	}
	return s
}

// function is a registered function and its plan: how to decode each
// argument and how to read its results, worked out once by Register.
type function struct {
	name    string
	fn      reflect.Value
	withCtx bool
	params  []param
	// maxDepth bounds the nesting of every argument.
	maxDepth int
	results  resultShape
	// shim calls fn without reflection, if its type has one (see fast.go);
	// result is then the kind of its result.
	shim   shim
	result scalarKind
	// stats counts its calls (stats.go).
	stats callStats
}

// resultShape is what a function returns.
type resultShape int

const (
	resNone      resultShape = iota // ()
	resValue                        // (T)
	resValueErr                     // (T, error)
	resErr                          // (error)
	resDeferred                     // (*deferred.Deferred)
	resDeferredE                    // (*deferred.Deferred, error)
)

var (
	ctxType      = reflect.TypeFor[context.Context]()
	errType      = reflect.TypeFor[error]()
	deferredType = reflect.TypeFor[*deferred.Deferred]()
)

// Register makes fn callable as name. fn is a function whose parameters are
// decoded from the call's arguments, after an optional leading
// context.Context (the connection's: cancelled when it is lost), and whose
// results are (), (T), (T, error), (error), (*deferred.Deferred) or
// (*deferred.Deferred, error). A Deferred result is waited for, and its
// result is the reply.
//
// Functions run on the connection's loop and must not block it: a function
// that blocks runs its work with threads.DeferToThread and returns that
// Deferred.
func (s *Server) Register(name string, fn any) error {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return fmt.Errorf("rpc: Register(%q): %T is not a function", name, fn)
	}
	f, err := s.plan(name, v)
	if err != nil {
		return err
	}
	if _, dup := s.funcs[name]; dup {
		return fmt.Errorf("rpc: Register(%q): a function is registered under that name", name)
	}
	s.funcs[name] = f
	return nil
}

// RegisterObject registers the exported methods of obj as prefix.method,
// the method's name with its first letter lowercased (Get on prefix
// "poetry" is "poetry.get"). Methods that Register refuses are skipped; it
// fails if none is left.
func (s *Server) RegisterObject(prefix string, obj any) error {
	v := reflect.ValueOf(obj)
	n := 0
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		r, size := utf8.DecodeRuneInString(m.Name)
		name := prefix + "." + string(unicode.ToLower(r)) + m.Name[size:]
		f, err := s.plan(name, v.Method(i))
		if err != nil {
			continue
		}
		if _, dup := s.funcs[name]; dup {
			return fmt.Errorf("rpc: RegisterObject: a function is registered under %q", name)
		}
		s.funcs[name] = f
		n++
	}
	if n == 0 {
		return fmt.Errorf("rpc: RegisterObject(%q): %T has no method that can be registered", prefix, obj)
	}
	return nil
}

func (s *Server) plan(name string, v reflect.Value) (*function, error) {
	t := v.Type()
	if t.IsVariadic() {
		return nil, fmt.Errorf("rpc: Register(%q): variadic functions are not supported", name)
	}
	f := &function{name: name, fn: v, maxDepth: s.limits.MaxDepth}
	first := 0
	if t.NumIn() > 0 && t.In(0) == ctxType {
		f.withCtx, first = true, 1
	}
	for i := first; i < t.NumIn(); i++ {
		f.params = append(f.params, paramFor(t.In(i)))
	}
	switch {
	case t.NumOut() == 0:
		f.results = resNone
	case t.NumOut() == 1 && t.Out(0) == deferredType:
		f.results = resDeferred
	case t.NumOut() == 1 && t.Out(0) == errType:
		f.results = resErr
	case t.NumOut() == 1:
		f.results = resValue
	case t.NumOut() == 2 && t.Out(1) == errType && t.Out(0) == deferredType:
		f.results = resDeferredE
	case t.NumOut() == 2 && t.Out(1) == errType:
		f.results = resValueErr
	default:
		return nil, fmt.Errorf("rpc: Register(%q): results %v: want (), (T), (T, error), (error) or a *deferred.Deferred", name, t)
	}
	if f.shim = shimFor(v); f.shim != nil {
		f.result = scalarKindOf(t.Out(0))
	}
	return f, nil
}

// Dispatch calls the function registered as name with args, on the
// caller's loop: it is the entry point of every transport. It returns a
// Deferred that fires with the function's result (nil for a function
// without one) or fails with an *Error: NoSuchFunction, BadArguments,
// HandlerError (the function's error, or a panic, never a crash) or
// Timeout.
//
// args may be reused once Dispatch returns: the arguments are decoded
// before it does. ctx is given to functions that take one; if it is the
// context of a call with maxTimeMS, the call times out then. clk times the
// call out, when the server has a call time-out or the call a maxTimeMS
// (WithClock overrides it); nil means no time-out.
func (s *Server) Dispatch(ctx context.Context, clk clock.Clock, name string, args bson.RawArray) *deferred.Deferred {
	f := s.funcs[name]
	if f == nil {
		s.unknownCalls.Add(1)
		return deferred.Fail(noSuchFunction(name))
	}
	t := f.stats.begin(s)
	d := s.timed(f.call(ctx, args), ctx, clk, name)
	if v, err := d.Result(); d.Called() && !isDeferred(v) {
		f.stats.finish(s, t, err)
		return d
	}
	return f.stats.pending(s, d, t)
}

func isDeferred(v any) bool {
	_, ok := v.(*deferred.Deferred)
	return ok
}

func noSuchFunction(name string) *Error {
	return errorf(NoSuchFunction, "no function named %s", session.Bound(name))
}

// timed adds a time-out to d, a call's Deferred, unless it has fired: the
// server's call time-out, or the call's maxTimeMS (carried by ctx) if it
// is shorter, by clk. At expiry d is cancelled, which cancels the
// handler's Deferred, and fails with a Timeout error; a result that comes
// later is dropped.
func (s *Server) timed(d *deferred.Deferred, ctx context.Context, clk clock.Clock, name string) *deferred.Deferred {
	if s.clock != nil {
		clk = s.clock
	}
	if d.Called() || clk == nil {
		return d
	}
	timeout := s.timeout
	if ctx != nil {
		if left, ok := session.MaxTime(ctx); ok && (timeout <= 0 || left < timeout) {
			timeout = left
		}
	}
	if timeout <= 0 {
		return d
	}
	return d.AddTimeout(timeout, clk, func(result any, timeout time.Duration) (any, error) {
		if fl, ok := result.(*deferred.Failure); ok && !errors.Is(fl, deferred.ErrCancelled) {
			return nil, fl
		}
		return nil, errorf(Timeout, "%s did not answer within %v", session.Bound(name), timeout)
	})
}

// AppendCall calls the function name with args as Dispatch does, for a
// transport that carries the result as one BSON element of its answer. A
// function that answers at once has its result appended to dst as the
// element key (which, as any BSON key, holds no NUL: AppendCall panics
// otherwise, as the bson package does), and AppendCall returns the
// extended dst; one that fails at once returns dst and the *Error; one
// that answers later returns dst and the Deferred that Dispatch would have
// returned, to wait on.
//
// It is the cheap way in: a function of one of the commonest shapes (no
// parameter, one, or two of the same type, each an int, int64, float64,
// string or bool, and the results (R) or (R, error) with R one of those) is
// called without reflection, its result is appended without being boxed,
// and no Deferred is made.
func (s *Server) AppendCall(dst []byte, ctx context.Context, clk clock.Clock, key, name string, args bson.RawArray) ([]byte, *deferred.Deferred, error) {
	if strings.IndexByte(key, 0) >= 0 {
		panic("rpc: AppendCall: a BSON key cannot hold a NUL")
	}
	f := s.funcs[name]
	if f == nil {
		s.unknownCalls.Add(1)
		return dst, nil, noSuchFunction(name)
	}
	t := f.stats.begin(s)
	out, d, err := s.appendCall(f, dst, ctx, clk, key, name, args)
	if d != nil {
		return out, f.stats.pending(s, d, t), nil
	}
	f.stats.finish(s, t, err)
	return out, nil, err
}

// appendCall is AppendCall once the function is found and the call counted.
func (s *Server) appendCall(f *function, dst []byte, ctx context.Context, clk clock.Clock, key, name string, args bson.RawArray) ([]byte, *deferred.Deferred, error) {
	if f.shim != nil {
		out, err := f.callShim(dst, key, args)
		if err != nil {
			return dst, nil, err
		}
		return out, nil, nil
	}
	d := s.timed(f.call(ctx, args), ctx, clk, name)
	if !d.Called() {
		return dst, d, nil
	}
	v, err := d.Result()
	if _, waiting := v.(*deferred.Deferred); waiting {
		return dst, d, nil
	}
	if err != nil {
		d.AddErrback(ignore)
		return dst, nil, asError(err)
	}
	out, err := appendResult(dst, key, v)
	if err != nil {
		return dst, nil, err
	}
	return out, nil, nil
}

// callShim decodes args into scalars, in one pass if they are scalars of
// the parameters' types and by decode otherwise, calls f through its shim
// and appends its result as the element key.
func (f *function) callShim(dst []byte, key string, args bson.RawArray) (out []byte, err error) {
	var in [maxShimParams]scalar
	if !f.fastArgs(args, &in, nil) {
		if _, err := f.decode(nil, args, &in); err != nil {
			return dst, err
		}
	}
	return f.invoke(dst, key, &in)
}

// invoke calls f through its shim with the arguments in and appends its
// result as the element key. A panic is a HandlerError.
func (f *function) invoke(dst []byte, key string, in *[maxShimParams]scalar) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = dst, f.panicked(r)
		}
	}()
	res, ferr := f.shim(*in)
	if ferr != nil {
		return dst, f.handlerError(ferr)
	}
	return appendScalar(dst, key, f.result, &res), nil
}

func (f *function) panicked(r any) *Error {
	return errorf(HandlerError, "%s: panic: %v", f.name, r)
}

// call decodes args with f's plan, calls f and turns what it returns into a
// Deferred of the result or of an *Error.
func (f *function) call(ctx context.Context, args bson.RawArray) (d *deferred.Deferred) {
	in, err := f.decode(ctx, args, nil)
	if err != nil {
		return deferred.Fail(err)
	}
	defer func() {
		if r := recover(); r != nil {
			d = deferred.Fail(f.panicked(r))
		}
	}()
	out := f.fn.Call(in)
	switch f.results {
	case resNone:
		return deferred.Succeed(nil)
	case resValue:
		return deferred.Succeed(out[0].Interface())
	case resErr, resValueErr, resDeferredE:
		if e := out[len(out)-1]; !e.IsNil() {
			return deferred.Fail(f.handlerError(e.Interface().(error)))
		}
		if f.results == resErr {
			return deferred.Succeed(nil)
		}
		if f.results == resValueErr {
			return deferred.Succeed(out[0].Interface())
		}
	}
	inner, _ := out[0].Interface().(*deferred.Deferred)
	if inner == nil {
		return deferred.Fail(errorf(HandlerError, "%s returned a nil Deferred", f.name))
	}
	return inner.AddErrback(func(fl *deferred.Failure) (any, error) {
		if errors.Is(fl, deferred.ErrCancelled) {
			return nil, fl // for Dispatch's time-out to recognise
		}
		return nil, f.handlerError(fl.Value())
	})
}

// handlerError makes err an *Error: an *Error is kept, so that functions
// can answer BadArguments themselves; anything else is a HandlerError.
func (f *function) handlerError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var p *deferred.PanicError
	if errors.As(err, &p) {
		return errorf(HandlerError, "%s: panic: %v", f.name, p.Value)
	}
	return errorf(HandlerError, "%s", err.Error())
}

// decode decodes args with f's plan: into reflect.Values to call f.fn with,
// after ctx if f takes one, or, when sc is not nil, into the scalars of a
// shim. Both ways check the same things in the same order.
func (f *function) decode(ctx context.Context, args bson.RawArray, sc *[maxShimParams]scalar) ([]reflect.Value, error) {
	n := len(f.params)
	var in []reflect.Value
	if sc == nil {
		in = make([]reflect.Value, 0, n+1)
		if f.withCtx {
			in = append(in, ctxValue(ctx))
		}
	}
	i := 0
	rem, ok := elements(args)
	if !ok && len(args) > 0 {
		return nil, errorf(BadArguments, "malformed argument array")
	}
	// Every argument's depth is bounded before any is decoded, whatever
	// its parameter's type: even the error of a scalar parameter must not
	// walk a value nested a million deep. The array is one level.
	if ok {
		if err := checkDepth(bsoncore.TypeArray, args, f.maxDepth+1); err != nil {
			return nil, errorf(BadArguments, "%s: %v", f.name, err)
		}
	}
	for len(rem) > 0 {
		_, v, r, ok := readElement(rem)
		if !ok {
			return nil, errorf(BadArguments, "malformed argument array")
		}
		rem = r
		if i < n {
			rv := bson.RawValue{Type: bson.Type(v.Type), Value: v.Data}
			var err error
			if sc != nil {
				err = f.params[i].scalar(rv, &sc[i])
			} else {
				var a reflect.Value
				a, err = f.params[i].decode(rv)
				in = append(in, a)
			}
			if err != nil {
				return nil, errorf(BadArguments, "%s: argument %d: %v", f.name, i+1, err)
			}
		}
		i++
	}
	if i != n {
		return nil, errorf(BadArguments, "%s takes %d argument%s (%s), got %d", f.name, n, plural(n), f.signature(), i)
	}
	return in, nil
}

// ctxValue is ctx, or the background context for nil, as the value of a
// context.Context parameter.
func ctxValue(ctx context.Context) reflect.Value {
	if ctx == nil {
		ctx = context.Background()
	}
	return reflect.ValueOf(&ctx).Elem()
}

func (f *function) signature() string {
	names := make([]string, len(f.params))
	for i, p := range f.params {
		names[i] = p.typ.String()
	}
	return strings.Join(names, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// FunctionInfo describes a registered function.
type FunctionInfo struct {
	Name string `bson:"name"`
	// Arity is the number of arguments it takes.
	Arity int `bson:"arity"`
	// Params are the Go types of its parameters, for people.
	Params []string `bson:"params"`
}

// Info is what the server says about itself in answer to an info request.
type Info struct {
	Name           string         `bson:"name"`
	Version        string         `bson:"version"`
	MaxMessageSize int            `bson:"maxMessageSize"`
	Functions      []FunctionInfo `bson:"functions"`
}

// Info describes the server and its functions, sorted by name.
func (s *Server) Info() Info {
	info := Info{Name: s.name, Version: s.version, MaxMessageSize: s.limits.MaxMessage, Functions: []FunctionInfo{}}
	for _, f := range s.funcs {
		params := make([]string, len(f.params))
		for i, p := range f.params {
			params[i] = p.typ.String()
		}
		info.Functions = append(info.Functions, FunctionInfo{Name: f.name, Arity: len(f.params), Params: params})
	}
	slices.SortFunc(info.Functions, func(a, b FunctionInfo) int { return strings.Compare(a.Name, b.Name) })
	return info
}
