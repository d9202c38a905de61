package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twistgo/twist/clock"
)

// callState is what Call's calls share with the client's loop.
type callState struct {
	// ctxID numbers Call's calls on the callers' goroutines, where they are
	// encoded, with negative ids, apart from CallRemote's.
	ctxID atomic.Int64
	// waiting holds Call's calls that were written, by id; the loop's.
	waiting map[int64]*ctxCall
	// closing is set by Close on a client of the shared loop, whose loop
	// may stop after it: calls made then fail at once.
	closing atomic.Bool

	// Call's calls wait in batch until the loop writes them all with one
	// write: only the caller that makes batch non-empty posts flush, so
	// calls made together cost one CallFromThread and one system call.
	mu    sync.Mutex
	batch []*ctxCall
	// spare is the slice of the batch flushed last, given to the callers
	// at the next flush; out is flush's write buffer. Both are the loop's.
	spare   []*ctxCall
	out     []byte
	flushFn func() // flush, bound once: a method value allocates
	calls   sync.Pool
}

func (c *Client) initCalls() {
	c.waiting = make(map[int64]*ctxCall)
	c.flushFn = c.flush
	c.calls.New = func() any {
		k := &ctxCall{done: make(chan struct{}, 1)}
		k.onTimeout = func() { c.timeOut(k) }
		return k
	}
}

// Call calls the function name with args, waits for the answer and
// decodes it into result (a pointer, or nil to drop it). It may be called
// from any goroutine but the loop of a client made by DialOn, by many
// goroutines at once: their calls share the connection.
//
// The call ends at the earlier of ctx's deadline and the client's time-out
// (WithTimeout); the server is told when (maxTimeMS), and gives up then
// too. A call that times out fails with an error that matches both
// ErrTimeout and, when ctx's deadline passed, context.DeadlineExceeded;
// when ctx is cancelled, the call fails with ctx's error. Either way the
// answer, should it come, is dropped. An error answer is an *Error
// (errors.As), whose Detail names the function and, for arguments that do
// not fit, the argument's position and the type expected.
//
// The call is encoded on the caller's goroutine; calls made while the loop
// has not yet written the previous ones go out together, with one write.
func (c *Client) Call(ctx context.Context, name string, args []any, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.closing.Load() {
		return fmt.Errorf("%s: %w", name, ErrClientClosed)
	}
	limit := c.timeout
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		if left <= 0 {
			return deadlineError(name, ctx)
		}
		if limit == 0 || left < limit {
			limit = left
		}
	}
	k := c.calls.Get().(*ctxCall)
	var err error
	k.id, k.name = -c.ctxID.Add(1), name
	if k.frame, err = appendCallFrame(k.frame[:0], name, args, k.id, limit); err != nil {
		c.recycle(k)
		return err
	}
	c.mu.Lock()
	c.batch = append(c.batch, k)
	first := len(c.batch) == 1
	c.mu.Unlock()
	if first {
		c.loop.CallFromThread(c.flushFn)
	}
	select {
	case <-k.done:
	case <-ctx.Done():
		if !k.state.CompareAndSwap(callQueued, callCancelled) {
			// Written already: forget it on the loop, which may be
			// answering it right now; k is not recycled either way.
			c.loop.CallFromThread(func() { c.forget(k) })
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return deadlineError(name, ctx)
		}
		return ctx.Err()
	}
	err = k.err
	if err == nil && result != nil {
		err = decodeReply(k.reply, result)
	}
	c.recycle(k)
	return err
}

// deadlineError is the error of a call whose context's deadline passed.
func deadlineError(name string, ctx context.Context) error {
	return fmt.Errorf("%w: %w", errorf(Timeout, "no answer to %s before the deadline", name), ctx.Err())
}

// The states of a call: queued in a batch, then written or cancelled,
// whichever comes first.
const (
	callQueued int32 = iota
	callWritten
	callCancelled
)

// maxRecycled is the largest buffer kept for reuse, so that one big call
// does not pin its memory.
const maxRecycled = 64 << 10

// ctxCall is one call of Call. The caller owns it until it is queued,
// the loop from then until it signals done, the caller again after that.
type ctxCall struct {
	id    int64
	name  string
	frame []byte // the call, with its length prefix
	state atomic.Int32
	timer clock.DelayedCall
	// onTimeout is the time-out's function, bound to the call once.
	onTimeout func()
	// reply is the result; its bytes are the call's, reused.
	reply bson.RawValue
	err   error
	done  chan struct{}
}

// finish gives the call its outcome, err or the reply already in k.reply,
// and hands it back to its caller.
func (k *ctxCall) finish(err error) {
	if k.timer != nil {
		_ = k.timer.Cancel()
		k.timer = nil
	}
	k.err = err
	k.done <- struct{}{}
}

// recycle returns a call its caller is done with to the pool.
func (c *Client) recycle(k *ctxCall) {
	k.name, k.err = "", nil
	k.reply.Type = 0
	if cap(k.frame) > maxRecycled {
		k.frame = nil
	}
	if cap(k.reply.Value) > maxRecycled {
		k.reply.Value = nil
	}
	k.state.Store(callQueued)
	c.calls.Put(k)
}

// flush writes the calls of the batch, on the loop.
func (c *Client) flush() {
	c.mu.Lock()
	batch := c.batch
	c.batch = c.spare[:0]
	c.mu.Unlock()
	var err error
	switch {
	case c.closed:
		err = ErrClientClosed
	case c.proto == nil:
		err = ErrNotConnected
	}
	out := c.out[:0]
	for _, k := range batch {
		if !k.state.CompareAndSwap(callQueued, callWritten) {
			continue // cancelled while queued
		}
		if err != nil {
			k.finish(fmt.Errorf("%s: %w", k.name, err))
			continue
		}
		c.waiting[k.id] = k
		if c.timeout > 0 && c.clk != nil {
			k.timer = c.clk.CallLater(c.timeout, k.onTimeout)
		}
		out = append(out, k.frame...)
	}
	if len(out) > 0 {
		if _, werr := c.proto.Transport.Write(out); werr != nil {
			for _, k := range batch {
				if c.waiting[k.id] == k {
					delete(c.waiting, k.id)
					k.finish(fmt.Errorf("%s: %w", k.name, werr))
				}
			}
		}
	}
	if cap(out) <= maxRecycled {
		c.out = out
	} else {
		c.out = nil
	}
	clear(batch)
	c.spare = batch
}

// timeOut fails a written call that got no answer in time, on the loop.
func (c *Client) timeOut(k *ctxCall) {
	if c.waiting[k.id] != k {
		return
	}
	delete(c.waiting, k.id)
	k.timer = nil
	k.finish(timeoutError(k.name, c.timeout))
}

// forget drops a written call whose caller gave up, on the loop; its
// answer, if it comes, is then dropped.
func (c *Client) forget(k *ctxCall) {
	if c.waiting[k.id] != k {
		return
	}
	delete(c.waiting, k.id)
	if k.timer != nil {
		_ = k.timer.Cancel()
	}
}
