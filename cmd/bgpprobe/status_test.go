package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/internet"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/twisttest"
)

// TestStatusAuth serves the status pages with a token: the sessions' page
// and Twist's page below /twist/ answer 401 without it, and serve with it,
// given as a bearer token or as ?token=.
func TestStatusAuth(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	twisttest.Run(t, func(r *reactor.Reactor) *deferred.Deferred {
		store, err := OpenStore(filepath.Join(t.TempDir(), "probe.db"), r, log)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := NewProbe(r, &Config{}, store, log)
		if err != nil {
			t.Fatal(err)
		}
		if err := pr.ServeStatus(addr, "s3cret"); err != nil {
			t.Fatal(err)
		}
		done := deferred.New()
		go func() {
			for _, tc := range []struct {
				path, bearer string
				want         int
			}{
				{"/", "", http.StatusUnauthorized},
				{"/?token=wrong", "", http.StatusUnauthorized},
				{"/twist/", "", http.StatusUnauthorized},
				{"/twist/metrics", "wrong", http.StatusUnauthorized},
				{"/twist/metrics?token=", "", http.StatusUnauthorized},
				{"/?token=s3cret", "", http.StatusOK},
				{"/", "s3cret", http.StatusOK},
				{"/twist/?token=s3cret", "", http.StatusOK},
				{"/twist/metrics", "s3cret", http.StatusOK},
				{"/twist/app.js", "", http.StatusOK}, // no data in it
			} {
				req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
				if tc.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+tc.bearer)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					break
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("GET %s (bearer %q): %s, want %d", tc.path, tc.bearer, resp.Status, tc.want)
				}
			}
			http.DefaultClient.CloseIdleConnections()
			// The server sees the client's close on a later turn: stop
			// once it has, so that no connection outlives the test.
			for deadline := time.Now().Add(5 * time.Second); !statusConnsClosed(addr); {
				if time.Now().After(deadline) {
					t.Error("the status server's connections are still open after 5s")
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			r.CallFromThread(func() {
				pr.Stop().AddBoth(func(any) (any, error) { return nil, store.Close() }).Chain(done)
			})
		}()
		return done
	})
}

// statusConnsClosed reports whether the listener on addr has no connection
// open.
func statusConnsClosed(addr string) bool {
	for _, l := range internet.OpenListeners() {
		if l.Addr().String() == addr && l.Stats().Open > 0 {
			return false
		}
	}
	return true
}
