package endpoints

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		desc string
		kind string
		pos  []string
		kw   map[string]string
	}{
		{"tcp:80", "tcp", []string{"80"}, nil},
		{"tcp:80:interface=127.0.0.1", "tcp", []string{"80"}, map[string]string{"interface": "127.0.0.1"}},
		{"tcp:port=8080:backlog=7", "tcp", nil, map[string]string{"port": "8080", "backlog": "7"}},
		// Twisted's own example: an escaped colon in a Windows path.
		{`ssl:443:privateKey=C\:/key.pem:certKey=C\:/cert.pem`, "ssl", []string{"443"},
			map[string]string{"privateKey": "C:/key.pem", "certKey": "C:/cert.pem"}},
		// A second '=' belongs to the value (Twisted's _tokenize).
		{"a:b=c=d", "a", nil, map[string]string{"b": "c=d"}},
		{`a:b\=c`, "a", []string{"b=c"}, nil},
		{`\:=hello`, ":", nil, nil},
		{`x:\\:y`, "x", []string{`\`, "y"}, nil},
		{"a::b:", "a", []string{"", "b", ""}, nil},
		{"", "", nil, nil},
		{"unix:/run/x.sock:mode=660", "unix", []string{"/run/x.sock"}, map[string]string{"mode": "660"}},
	} {
		a, err := parse(tc.desc)
		if tc.desc == `\:=hello` {
			// Twisted reads this as the keyword ":" with no type; we
			// refuse a description that does not start with its type.
			if err == nil || !strings.Contains(err.Error(), "endpoint type") {
				t.Errorf("parse(%q) = %v, want an error about the type", tc.desc, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parse(%q): %v", tc.desc, err)
			continue
		}
		if tc.kw == nil {
			tc.kw = map[string]string{}
		}
		if a.kind != tc.kind || !slices.Equal(a.pos, tc.pos) || !maps.Equal(a.kw, tc.kw) {
			t.Errorf("parse(%q) = %q %q %q, want %q %q %q", tc.desc, a.kind, a.pos, a.kw, tc.kind, tc.pos, tc.kw)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ desc, want string }{
		{`tcp:80\`, "lone backslash"},
		{"tcp:80:backlog=1:backlog=2", `"backlog" is given twice`},
		{"port=80", "must start with the endpoint type"},
	} {
		if _, err := parse(tc.desc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) = %v, want %q", tc.desc, err, tc.want)
		}
	}
	if _, err := parse(`tcp:80\`); !errors.Is(err, errLoneBackslash) {
		t.Errorf("got %v", err)
	}
}

func TestQuoteStringArgument(t *testing.T) {
	for _, s := range []string{"", "plain", `C:\key.pem`, `a:b\c:`, `\\::`} {
		q := QuoteStringArgument(s)
		a, err := parse("x:" + q + ":k=" + q)
		if err != nil || len(a.pos) != 1 || a.pos[0] != s || a.kw["k"] != s {
			t.Errorf("QuoteStringArgument(%q) = %q parses to %v %v", s, q, a, err)
		}
	}
}

// FuzzParse checks that no description panics the parsers, and that
// quoting the arguments of a parsed description gives them back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"tcp:80", "tcp:80:interface=127.0.0.1", "tcp:port=8080:backlog=5",
		`ssl:443:privateKey=C\:/key.pem:certKey=C\:/cert.pem`, "unix:/run/x.sock:mode=660:lockfile=0",
		"tls:host=example.com:port=443:timeout=2.5", "unix:path=/x", "tcp:host=h:80", "a:b=c=d",
		`x:\\:y\`, "::==", "tcp6:0:interface=\\:\\:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, desc string) {
		a, err := parse(desc)
		if err != nil {
			return
		}
		// ssl and tls read the files named; a fuzzed name could be a
		// device that never ends.
		if kind := strings.ToLower(a.kind); kind != "ssl" && kind != "tls" {
			for _, err := range []error{second(parseServer(place{}, desc)), second(parseClient(nil, desc))} {
				if err != nil && len(err.Error()) > 3*maxQuoted+200 {
					t.Fatalf("error of %d bytes: %v", len(err.Error()), err)
				}
			}
		}
		parts := []string{QuoteStringArgument(a.kind)}
		for _, p := range a.pos {
			parts = append(parts, strings.ReplaceAll(QuoteStringArgument(p), "=", `\=`))
		}
		for _, k := range slices.Sorted(maps.Keys(a.kw)) {
			parts = append(parts, strings.ReplaceAll(QuoteStringArgument(k), "=", `\=`)+"="+QuoteStringArgument(a.kw[k]))
		}
		b, err := parse(strings.Join(parts, ":"))
		if err != nil || b.kind != a.kind || !slices.Equal(a.pos, b.pos) || !maps.Equal(a.kw, b.kw) {
			t.Fatalf("%q: quoted back to %q: %v", desc, strings.Join(parts, ":"), err)
		}
	})
}

func second[T any](_ T, err error) error { return err }
