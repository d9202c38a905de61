package basic_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

var _ internet.PullProducer = (*basic.FileSender)(nil)

// The sender registers itself as a pull producer (Twisted's
// test_producerRegistered).
func TestFileSenderRegistersAsPullProducer(t *testing.T) {
	tr := &twisttest.StringTransport{}
	s := &basic.FileSender{}
	s.BeginFileTransfer(bytes.NewReader([]byte("Test content")), tr, nil)
	if tr.Producer() != s || tr.Streaming() {
		t.Fatalf("producer %v, streaming %v", tr.Producer(), tr.Streaming())
	}
}

// Each ResumeProducing sends at most ChunkSize bytes; the one that reads the
// end of file unregisters and fires with the last byte sent (Twisted's
// test_transfer, test_transferMultipleChunks, test_transferWithTransform).
func TestFileSenderTransfer(t *testing.T) {
	tests := []struct {
		name      string
		chunk     int
		transform func([]byte) []byte
		steps     []string
		last      string
	}{
		{"one chunk", 0, nil, []string{"Test content", "Test content"}, "t"},
		{"chunks of 4", 4, nil, []string{"Test", "Test con", "Test content", "Test content"}, "t"},
		{"transform", 0, swapCase, []string{"tEST CONTENT", "tEST CONTENT"}, "T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &twisttest.StringTransport{}
			s := &basic.FileSender{ChunkSize: tt.chunk}
			d := s.BeginFileTransfer(bytes.NewReader([]byte("Test content")), tr, tt.transform)
			for i, want := range tt.steps {
				twisttest.AssertNoResult(t, d)
				s.ResumeProducing()
				if got := string(tr.Value()); got != want {
					t.Fatalf("after %d steps, sent %q, want %q", i+1, got, want)
				}
			}
			if got := twisttest.SuccessResultOf(t, d); string(got.([]byte)) != tt.last {
				t.Fatalf("fired with %q, want %q", got, tt.last)
			}
			if tr.Producer() != nil {
				t.Fatal("still registered at the end")
			}
		})
	}
}

func swapCase(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// A transfer the consumer stops fails with ErrProducingStopped (Twisted's
// test_abortedTransfer); one whose read fails fails with the read's error.
func TestFileSenderFailures(t *testing.T) {
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name string
		file io.Reader
		act  func(*basic.FileSender)
		want error
	}{
		{"stopped", bytes.NewReader([]byte("Test content")), (*basic.FileSender).StopProducing, basic.ErrProducingStopped},
		{"read error", iotest.ErrReader(errDisk), (*basic.FileSender).ResumeProducing, errDisk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &twisttest.StringTransport{}
			s := &basic.FileSender{}
			d := s.BeginFileTransfer(tt.file, tr, nil)
			tt.act(s)
			twisttest.FailureResultOf(t, d, tt.want)
			s.StopProducing() // after the end: no second firing
		})
	}
}

// A consumer that refuses the producer fails the transfer at once.
func TestFileSenderRegisterFails(t *testing.T) {
	tr := &twisttest.StringTransport{}
	if err := tr.RegisterProducer(&basic.FileSender{}, false); err != nil {
		t.Fatal(err)
	}
	d := (&basic.FileSender{}).BeginFileTransfer(bytes.NewReader(nil), tr, nil)
	twisttest.FailureResultOf(t, d, internet.ErrProducerRegistered)
}

// A file bigger than the socket buffers crosses a real TCP connection whole,
// a chunk each time the output queue drains.
func TestFileSenderOverLoopback(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	path := filepath.Join(t.TempDir(), "poem")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	got := twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		f, err := os.Open(path)
		if err != nil {
			return deferred.Fail(err)
		}
		sent := deferred.New()
		port, err := internet.ListenTCP(r, "127.0.0.1:0", internet.FactoryFunc(func(net.Addr) internet.Protocol {
			return &sender{file: f, sent: sent}
		}))
		if err != nil {
			return deferred.Fail(err)
		}
		c := &collector{done: deferred.New()}
		internet.ConnectProtocol(r, port.Addr().String(), c)
		return deferred.Gather([]*deferred.Deferred{sent, c.done}).AddBoth(func(v any) (any, error) {
			f.Close()
			port.StopListening()
			return v, nil
		})
	})
	res, ok := got.([]any)
	if !ok || len(res) != 2 {
		t.Fatalf("Run = %v", got)
	}
	if last := res[0].([]byte); string(last) != "f" {
		t.Errorf("the transfer fired with %q, want the last byte", last)
	}
	if data := res[1].([]byte); !bytes.Equal(data, content) {
		t.Errorf("received %d bytes, want the %d of the file", len(data), len(content))
	}
}

// sender streams its file when connected, and closes when it is sent.
type sender struct {
	internet.BaseProtocol
	file io.Reader
	sent *deferred.Deferred
}

func (s *sender) ConnectionMade(tr internet.Transport) {
	s.BaseProtocol.ConnectionMade(tr)
	(&basic.FileSender{}).BeginFileTransfer(s.file, tr, nil).AddBoth(func(v any) (any, error) {
		tr.LoseConnection()
		s.sent.Callback(v)
		return nil, nil
	})
}

// collector keeps what it receives, and fires done with it at the end.
type collector struct {
	internet.BaseProtocol
	data []byte
	done *deferred.Deferred
}

func (c *collector) DataReceived(b []byte) { c.data = append(c.data, b...) }
func (c *collector) ConnectionLost(error)  { c.done.Callback(c.data) }
