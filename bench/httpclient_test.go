package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/web/client"
)

// clientConns is the requests each client keeps in flight, each on its
// own persistent connection.
const clientConns = 16

// BenchmarkHTTPClient compares web/client's Agent with net/http's client:
// both fetch a small body over clientConns keep-alive connections from the
// same server: BENCH_HTTP_URL if set (make the server with
// `httpbench -serve twist` under taskset -c 0, run this with -cpu 1 under
// taskset -c 1), else a net/http server in the process.
func BenchmarkHTTPClient(b *testing.B) {
	url := os.Getenv("BENCH_HTTP_URL")
	if url == "" {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("hello, world"))
		}))
		defer srv.Close()
		url = srv.URL + "/"
	}
	b.Run("twist", func(b *testing.B) {
		loop, err := reactor.New()
		if err != nil {
			b.Fatal(err)
		}
		go loop.Run()
		defer loop.Stop()
		done := make(chan struct{})
		b.ResetTimer()
		loop.CallFromThread(func() {
			a := client.NewAgent(loop)
			a.Pool.MaxPerHost = clientConns
			left, running := b.N, 0
			var next func()
			next = func() {
				if left == 0 {
					if running == 0 {
						a.Pool.CloseCachedConnections()
						close(done)
					}
					return
				}
				left--
				running++
				a.Request("GET", url, nil, nil).AddCallback(func(v any) (any, error) {
					return client.ReadBody(v.(*client.Response)), nil
				}).AddBoth(func(v any) (any, error) {
					if f, ok := v.(*deferred.Failure); ok {
						b.Error(f)
					}
					running--
					next()
					return nil, nil
				})
			}
			for range clientConns {
				next()
			}
		})
		<-done
	})
	b.Run("net-http", func(b *testing.B) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clientConns}}
		defer c.CloseIdleConnections()
		var mu sync.Mutex
		left := b.N
		var wg sync.WaitGroup
		b.ResetTimer()
		for range clientConns {
			wg.Go(func() {
				for {
					mu.Lock()
					if left == 0 {
						mu.Unlock()
						return
					}
					left--
					mu.Unlock()
					resp, err := c.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
	})
}
