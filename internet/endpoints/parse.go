package endpoints

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxQuoted bounds how much of a description or a value an error message
// quotes, so that a long one read from a file cannot flood the log.
const maxQuoted = 80

// Error is the error of a description that cannot be parsed, and of an
// endpoint that cannot listen or connect: it names the description and says
// why in plain words. The cause is wrapped: errors.Is and errors.As see it.
type Error struct {
	// Op is what failed: "parse", "listen" or "connect".
	Op string
	// Desc is the endpoint's description, as given or as ServerFromString
	// and ClientFromString would parse it back.
	Desc string
	// Err is the cause.
	Err error
}

// Error returns, for example, `endpoints: cannot listen on "tcp:80": bind:
// permission denied`.
func (e *Error) Error() string {
	verb := map[string]string{"parse": "bad description", "listen": "cannot listen on", "connect": "cannot connect to"}[e.Op]
	if verb == "" {
		verb = e.Op
	}
	return fmt.Sprintf("endpoints: %s %s: %v", verb, quote(e.Desc), e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// quote quotes s for an error message, cut short past maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

// errLoneBackslash is the error of a description that ends in the middle of
// an escape.
var errLoneBackslash = errors.New("it ends with a lone backslash")

// args are the parts of a description: its type, its positional arguments
// and its keyword arguments (Twisted's _parse).
type args struct {
	kind string
	pos  []string
	kw   map[string]string
	used map[string]bool
}

// parse splits a description into its parts with Twisted's rules: parts are
// separated by ':'; a part with an '=' is a keyword argument (key=value; a
// further '=' belongs to the value); a backslash makes the next character
// plain, so that "\:" is a colon inside a part and "\\" a backslash. The
// first part is the endpoint's type and must be positional. Unlike Twisted,
// a keyword given twice is an error rather than the last one winning.
func parse(desc string) (*args, error) {
	a := &args{kw: map[string]string{}, used: map[string]bool{}}
	var (
		cur      strings.Builder
		key      string
		hasKey   bool
		first    = true
		addParam = func() error {
			v := cur.String()
			cur.Reset()
			switch {
			case first && hasKey:
				return fmt.Errorf("it must start with the endpoint type, not the keyword %s", quote(key))
			case first:
				a.kind = v
			case hasKey:
				if _, dup := a.kw[key]; dup {
					return fmt.Errorf("the parameter %s is given twice", quote(key))
				}
				a.kw[key] = v
			default:
				a.pos = append(a.pos, v)
			}
			first, hasKey, key = false, false, ""
			return nil
		}
	)
	for i := 0; i < len(desc); i++ {
		switch c := desc[i]; {
		case c == '\\':
			if i+1 == len(desc) {
				return nil, errLoneBackslash
			}
			i++
			cur.WriteByte(desc[i])
		case c == ':':
			if err := addParam(); err != nil {
				return nil, err
			}
		case c == '=' && !hasKey:
			key, hasKey = cur.String(), true
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if err := addParam(); err != nil {
		return nil, err
	}
	return a, nil
}

// QuoteStringArgument escapes s for use as one argument in a description:
// a backslash before each colon and backslash (Twisted's
// quoteStringArgument). An '=' needs no escape in a keyword's value; in a
// positional argument, escape it by hand ("\=").
func QuoteStringArgument(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == ':' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// take returns the argument named name, given either at position i of the
// positional arguments or as a keyword (-1: keyword only), and whether it
// was given; it is an error to give it both ways.
func (a *args) take(name string, i int) (string, bool, error) {
	v, kwOK := a.kw[name]
	if kwOK {
		a.used[name] = true
	}
	posOK := i >= 0 && i < len(a.pos)
	switch {
	case posOK && kwOK:
		return "", false, fmt.Errorf("%s is given both by position and as %s=", name, name)
	case posOK:
		return a.pos[i], true, nil
	}
	return v, kwOK, nil
}

// finish reports arguments that no endpoint parameter took.
func (a *args) finish(maxPos int) error {
	if len(a.pos) > maxPos {
		return fmt.Errorf("%s endpoints take at most %d positional arguments, not %d", a.kind, maxPos, len(a.pos))
	}
	for k := range a.kw {
		if !a.used[k] {
			return fmt.Errorf("%s endpoints have no parameter %s", a.kind, quote(k))
		}
	}
	return nil
}

// port parses a port number.
func parsePort(name, s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%s %s is not a number from 0 to 65535", name, quote(s))
	}
	return int(n), nil
}

// parsePositive parses a count that must be above zero.
func parsePositive(name, s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s %s is not a whole number above zero", name, quote(s))
	}
	return int(n), nil
}

// parseSeconds parses a time-out in seconds, as Twisted's timeout=30; a
// fraction is allowed.
func parseSeconds(name, s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1e9 {
		return 0, fmt.Errorf("%s %s is not a number of seconds above zero", name, quote(s))
	}
	return time.Duration(f * float64(time.Second)), nil
}

// parseBool parses Twisted's flags, "0" or "1".
func parseBool(name, s string) (bool, error) {
	switch s {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("%s %s is neither 0 nor 1", name, quote(s))
}
