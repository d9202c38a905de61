package deferred_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/twistgo/twist/deferred"
)

func TestTypedValueConversion(t *testing.T) {
	// Each case converts a result with Value and checks the outcome's
	// printed form, or the TypeError's message.
	tests := []struct {
		name    string
		convert func(result any) (any, error)
		result  any
		want    string
		wantErr string
	}{
		{"int", typedValue[int], 3, "3", ""},
		{"string as int", typedValue[int], "3", "", "deferred: result is string, want int"},
		{"nil as int", typedValue[int], nil, "", "deferred: result is nil, want int"},
		{"nil as struct", typedValue[struct{ A int }], nil, "", "deferred: result is nil, want struct { A int }"},
		{"int64 is not int", typedValue[int], int64(3), "", "deferred: result is int64, want int"},
		{"nil as any", typedValue[any], nil, "<nil>", ""},
		{"nil as error", typedValue[error], nil, "<nil>", ""},
		{"nil as pointer", typedValue[*int], nil, "<nil>", ""},
		{"nil as slice", typedValue[[]byte], nil, "[]", ""},
		{"nil as map", typedValue[map[string]int], nil, "map[]", ""},
		{"nil as func", typedValue[func()], nil, "<nil>", ""},
		{"implementation as interface", typedValue[io.Writer], &bytes.Buffer{}, "", ""},
		{"non-implementation as interface", typedValue[io.Writer], 3, "", "deferred: result is int, want io.Writer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.convert(tc.result)
			if tc.wantErr != "" {
				var te *deferred.TypeError
				if !errors.As(err, &te) || err.Error() != tc.wantErr {
					t.Fatalf("got %v, %v; want %q", v, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if tc.want != "" && fmt.Sprint(v) != tc.want {
				t.Fatalf("got %v, want %s", v, tc.want)
			}
		})
	}
}

// typedValue converts result to T through Value on a fired Deferred.
func typedValue[T any](result any) (any, error) {
	v, err := deferred.Value[T](deferred.Succeed(result))
	return v, err
}

func TestTypedTypeError(t *testing.T) {
	_, err := deferred.Value[string](deferred.Succeed(1))
	var te *deferred.TypeError
	if !errors.As(err, &te) || te.Want != reflect.TypeFor[string]() || te.Got != reflect.TypeFor[int]() {
		t.Fatalf("got %#v", err)
	}
}

func TestTypedValue(t *testing.T) {
	t.Run("not fired", func(t *testing.T) {
		if _, err := deferred.Value[int](deferred.New()); !errors.Is(err, deferred.ErrNotFired) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("waiting on another Deferred", func(t *testing.T) {
		inner := deferred.New()
		d := deferred.Succeed(1).AddCallback(func(any) (any, error) { return inner, nil })
		if _, err := deferred.Value[int](d); !errors.Is(err, deferred.ErrNotFired) {
			t.Fatalf("got %v", err)
		}
		inner.Callback(2)
		if v, err := deferred.Value[int](d); v != 2 || err != nil {
			t.Fatalf("got %v, %v", v, err)
		}
	})
	t.Run("failure", func(t *testing.T) {
		v, err := deferred.Value[int](deferred.Fail(errTerminal))
		if _, ok := err.(*deferred.Failure); !ok || !errors.Is(err, errTerminal) || v != 0 {
			t.Fatalf("got %v, %v", v, err)
		}
	})
	t.Run("leaves the result in place", func(t *testing.T) {
		d := deferred.Succeed("kept")
		deferred.Value[string](d)
		if v, err := deferred.Value[string](d); v != "kept" || err != nil {
			t.Fatalf("got %v, %v", v, err)
		}
		if v := coValue(t, d); v != "kept" {
			t.Fatalf("chain got %v", v)
		}
	})
}

func TestTypedThen(t *testing.T) {
	t.Run("typed callback", func(t *testing.T) {
		d := deferred.Then(deferred.Succeed(21), func(n int) (string, error) {
			return fmt.Sprint(n * 2), nil
		})
		if v := coValue(t, d); v != "42" {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("wrong type fails without calling f", func(t *testing.T) {
		called := false
		d := deferred.Then(deferred.Succeed("21"), func(n int) (int, error) {
			called = true
			return n, nil
		})
		var te *deferred.TypeError
		if f := coFailure(t, d); !errors.As(f, &te) || called {
			t.Fatalf("got %v, called %v", f, called)
		}
	})
	t.Run("failure passes by", func(t *testing.T) {
		d := deferred.Then(deferred.Fail(errTerminal), func(n int) (int, error) {
			t.Error("callback called on failure")
			return n, nil
		})
		if f := coFailure(t, d); !errors.Is(f, errTerminal) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("error switches to the errback path", func(t *testing.T) {
		d := deferred.Then(deferred.Succeed(1), func(int) (int, error) { return 0, errTerminal })
		if f := coFailure(t, d); !errors.Is(f, errTerminal) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("returned Deferred is waited on", func(t *testing.T) {
		inner := deferred.New()
		d := deferred.Then(deferred.Succeed(1), func(int) (*deferred.Deferred, error) { return inner, nil })
		d = deferred.Then(d, func(s string) (string, error) { return s + "!", nil })
		coNoResult(t, d)
		inner.Callback("fired")
		if v := coValue(t, d); v != "fired!" {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("nil into a pointer callback", func(t *testing.T) {
		d := deferred.Then(deferred.Succeed(nil), func(p *int) (bool, error) { return p == nil, nil })
		if v := coValue(t, d); v != true {
			t.Fatalf("got %v", v)
		}
	})
}

func TestTypedCatch(t *testing.T) {
	timeout := &deferred.TimeoutError{}
	t.Run("matching failure resumes the callback path", func(t *testing.T) {
		d := deferred.Catch(deferred.Fail(fmt.Errorf("fetch: %w", timeout)), func(e *deferred.TimeoutError) (string, error) {
			if e != timeout {
				t.Errorf("got %v", e)
			}
			return "cached", nil
		})
		if v := coValue(t, d); v != "cached" {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("other failures pass by", func(t *testing.T) {
		d := deferred.Catch(deferred.Fail(errTerminal), func(*deferred.TimeoutError) (string, error) {
			t.Error("errback called for another error")
			return "", nil
		})
		if f := coFailure(t, d); !errors.Is(f, errTerminal) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("success passes by", func(t *testing.T) {
		d := deferred.Catch(deferred.Succeed(1), func(*deferred.TimeoutError) (int, error) {
			t.Error("errback called on success")
			return 0, nil
		})
		if v := coValue(t, d); v != 1 {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("error stays on the errback path", func(t *testing.T) {
		d := deferred.Catch(deferred.Fail(timeout), func(*deferred.TimeoutError) (int, error) {
			return 0, errTranslated
		})
		if f := coFailure(t, d); !errors.Is(f, errTranslated) {
			t.Fatalf("got %v", f)
		}
	})
}

func TestTypedAwait(t *testing.T) {
	t.Run("value", func(t *testing.T) {
		w := deferred.New()
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			s, err := deferred.Await[string](c, w)
			return strings.ToUpper(s), err
		})
		w.Callback("shout")
		if v := coValue(t, d); v != "SHOUT" {
			t.Fatalf("got %v", v)
		}
	})
	t.Run("failure", func(t *testing.T) {
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			n, err := deferred.Await[int](c, deferred.Fail(errTerminal))
			if n != 0 {
				t.Errorf("got %d with the failure", n)
			}
			return nil, err
		})
		if f := coFailure(t, d); !errors.Is(f, errTerminal) {
			t.Fatalf("got %v", f)
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		d := deferred.Inline(func(c *deferred.Co) (any, error) {
			_, err := deferred.Await[int](c, deferred.Succeed("one"))
			return nil, err
		})
		var te *deferred.TypeError
		if f := coFailure(t, d); !errors.As(f, &te) {
			t.Fatalf("got %v", f)
		}
	})
}
