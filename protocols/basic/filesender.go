package basic

import (
	"errors"
	"io"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
)

// DefaultFileChunkSize is how much a FileSender reads at a time when its
// ChunkSize is zero (Twisted's FileSender.CHUNK_SIZE).
const DefaultFileChunkSize = 1 << 14

// ErrProducingStopped is the failure of a FileSender's transfer that its
// consumer stopped before the end of the file (Twisted's "Consumer asked us
// to stop producing").
var ErrProducingStopped = errors.New("basic: the consumer stopped the file transfer")

// A Consumer takes the output of a producer (Twisted's IConsumer): every
// internet.Transport is one.
type Consumer interface {
	// Write sends b; b may be reused when Write returns.
	Write(b []byte) (int, error)
	// RegisterProducer makes p the source of the consumer's data.
	RegisterProducer(p internet.Producer, streaming bool) error
	// UnregisterProducer removes the registered producer.
	UnregisterProducer()
}

// FileSender streams a file to a consumer, a chunk each time the consumer
// asks for more (Twisted's FileSender): it is a pull producer, so that a
// big file never waits in the consumer's output queue. Reads are
// synchronous, on the loop, as in Twisted: give it a regular file or any
// reader that does not block.
type FileSender struct {
	// ChunkSize is how much is read at a time; 0 means
	// DefaultFileChunkSize.
	ChunkSize int

	file      io.Reader
	consumer  Consumer
	transform func([]byte) []byte
	done      *deferred.Deferred
	buf       []byte
	last      []byte
}

// BeginFileTransfer registers s with consumer as a pull producer and
// starts sending file. transform, if not nil, is applied to each chunk
// before it is written. The Deferred fires, once the end of file is read,
// with the last byte sent (an empty slice for an empty file), as
// Twisted's; it fails with ErrProducingStopped if the consumer stops the
// transfer first, with the error of a read or a write that fails, or with
// the error of RegisterProducer.
func (s *FileSender) BeginFileTransfer(file io.Reader, consumer Consumer, transform func([]byte) []byte) *deferred.Deferred {
	s.file, s.consumer, s.transform = file, consumer, transform
	s.last = []byte{}
	d := deferred.New()
	s.done = d
	if err := consumer.RegisterProducer(s, false); err != nil {
		s.finish(err, false)
	}
	return d
}

// ResumeProducing writes the next chunk of the file to the consumer; at
// the end of the file, it unregisters and fires the transfer's Deferred.
func (s *FileSender) ResumeProducing() {
	if s.file == nil {
		return
	}
	size := s.ChunkSize
	if size <= 0 {
		size = DefaultFileChunkSize
	}
	if len(s.buf) != size {
		s.buf = make([]byte, size)
	}
	// ReadAtLeast retries a read that returns nothing and no error: the
	// consumer asks again only once something was written.
	n, err := io.ReadAtLeast(s.file, s.buf, 1)
	if n > 0 {
		chunk := s.buf[:n]
		if s.transform != nil {
			chunk = s.transform(chunk)
		}
		if _, werr := s.consumer.Write(chunk); werr != nil {
			s.finish(werr, true)
			return
		}
		if len(chunk) > 0 {
			s.last = append(s.last[:0], chunk[len(chunk)-1])
		}
	}
	switch {
	case err == io.EOF:
		s.finish(nil, true)
	case err != nil:
		s.finish(err, true)
	}
}

// StopProducing ends the transfer: its Deferred fails with
// ErrProducingStopped, unless it has fired already.
func (s *FileSender) StopProducing() { s.finish(ErrProducingStopped, false) }

// finish ends the transfer with err (nil for success), unregistering from
// the consumer if asked, and fires the Deferred once.
func (s *FileSender) finish(err error, unregister bool) {
	d := s.done
	if d == nil {
		return
	}
	s.file, s.done, s.buf, s.transform = nil, nil, nil, nil
	if unregister {
		s.consumer.UnregisterProducer()
	}
	s.consumer = nil
	if err != nil {
		d.Errback(err)
		return
	}
	d.Callback(s.last)
}
