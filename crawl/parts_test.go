package crawl_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/twistgo/twist/crawl"
	"github.com/twistgo/twist/web"
)

func TestSchedulerOrderAndDuplicates(t *testing.T) {
	s := crawl.NewScheduler()
	add := func(url string, prio int, dontFilter bool) bool {
		return s.Enqueue(&crawl.Request{URL: url, Priority: prio, DontFilter: dontFilter})
	}
	cases := []struct {
		url        string
		prio       int
		dontFilter bool
		want       bool
	}{
		{"http://a/1", 0, false, true},
		{"http://a/2", 5, false, true},
		{"http://a/3", 0, false, true},
		{"HTTP://A:80/1#frag", 0, false, false}, // the same as the first
		{"http://a/q?b=2&a=1", 0, false, true},
		{"http://a/q?a=1&b=2", 0, false, false},
		{"http://a/1", 0, true, true}, // DontFilter
	}
	for _, tc := range cases {
		if got := add(tc.url, tc.prio, tc.dontFilter); got != tc.want {
			t.Errorf("Enqueue(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
	var order []string
	for r := s.Next(); r != nil; r = s.Next() {
		order = append(order, r.URL)
	}
	want := []string{"http://a/2", "http://a/1", "http://a/3", "http://a/q?b=2&a=1", "http://a/1"}
	if !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
	if s.Len() != 0 || s.Seen() != 4 {
		t.Errorf("len %d, seen %d", s.Len(), s.Seen())
	}
	post := &crawl.Request{URL: "http://a/1", Method: "POST", Body: []byte("x")}
	if crawl.Fingerprint(post) == crawl.Fingerprint(&crawl.Request{URL: "http://a/1"}) {
		t.Error("a POST has a GET's fingerprint")
	}
}

func TestRobotsRules(t *testing.T) {
	body := `# comment
User-agent: other
Disallow: /

User-agent: *
Disallow: /private/
Allow: /private/open
Disallow: /*.pdf$
Disallow: /tmp

User-agent: twist-crawl
User-agent: another
Disallow: /mine/
Allow: /mine/ok
`
	cases := []struct {
		agent, path string
		want        bool
	}{
		{"someone", "/", true},
		{"someone", "/private/x", false},
		{"someone", "/private/open/x", true},
		{"someone", "/doc.pdf", false},
		{"someone", "/doc.pdf?x=1", true},
		{"someone", "/a/b/doc.pdf", false},
		{"someone", "/tmpfile", false},
		{"someone", "/robots.txt", true},
		{"other", "/anything", false},
		{"twist-crawl", "/private/x", true}, // its own group replaces *
		{"twist-crawl", "/mine/x", false},
		{"twist-crawl", "/mine/ok", true},
	}
	for _, tc := range cases {
		if got := crawl.ParseRobots([]byte(body), tc.agent).Allowed(tc.path); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.agent, tc.path, got, tc.want)
		}
	}
	if !crawl.ParseRobots(nil, "x").Allowed("/a") {
		t.Error("an empty robots.txt disallows")
	}
}

func FuzzParseRobots(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /a*b$\nAllow: /a\n"), "/axxb")
	f.Add([]byte("user-agent:x\ndisallow:*\n"), "/")
	f.Add(bytes.Repeat([]byte("Disallow: ****a\n"), 50), strings.Repeat("b", 200))
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		r := crawl.ParseRobots(body, "twist-crawl")
		r.Allowed(path)
		if !r.Allowed("/robots.txt") {
			t.Fatal("robots.txt disallowed")
		}
	})
}

func TestResponseParsing(t *testing.T) {
	body := `<!doctype html><html><head><title> The
	title </title><base href="/base/"></head><body>
<a href="x">x</a><a href="/abs#frag">abs</a><a href="x">again</a>
<a href="mailto:a@b">mail</a><a href="https://other.example/p">other</a><a>none</a>
<p class="item big">one</p><p class="item">two <b>bold</b></p><p>three</p>
</body></html>`
	r := &crawl.Response{URL: "http://site/dir/page", Status: 200, Body: []byte(body)}
	r.Headers.Set("Content-Type", "text/html")
	if r.Title() != "The title" {
		t.Errorf("title %q", r.Title())
	}
	want := []string{"http://site/base/x", "http://site/abs", "https://other.example/p"}
	if got := r.Links(); !slices.Equal(got, want) {
		t.Errorf("links %q, want %q", got, want)
	}
	var texts []string
	for _, n := range r.Find(crawl.Tag("p", "item")) {
		texts = append(texts, crawl.NodeText(n))
	}
	if !slices.Equal(texts, []string{"one", "two bold"}) {
		t.Errorf("p.item: %q", texts)
	}
	if f := r.Follow("../up?q=1#x", nil); f == nil || f.URL != "http://site/up?q=1" {
		t.Errorf("follow: %+v", f)
	}
	bin := &crawl.Response{URL: "http://site/f", Body: []byte("<a href=x>")}
	bin.Headers = web.Header{}
	bin.Headers.Set("Content-Type", "application/octet-stream")
	if bin.Links() != nil || bin.Title() != "" {
		t.Error("links in a binary body")
	}
	// Deep nesting is walked without recursion; past x/net/html's limit
	// of 512 open elements, the page does not parse and has no links.
	for _, tc := range []struct {
		depth int
		want  []string
	}{{400, []string{"http://site/deep"}}, {100000, nil}} {
		deep := &crawl.Response{URL: "http://site/", Body: []byte("<html>" + strings.Repeat("<div>", tc.depth) + "<a href=/deep>d</a>")}
		if got := deep.Links(); !slices.Equal(got, tc.want) {
			t.Errorf("depth %d: links %q", tc.depth, got)
		}
	}
}

func TestFeeds(t *testing.T) {
	type row struct {
		URL   string `json:"url"`
		Depth int    `json:"depth"`
	}
	var jl, cv bytes.Buffer
	j := crawl.NewJSONLines(&jl)
	c := crawl.NewCSV(&cv, "url", "depth", "missing")
	for _, it := range []any{row{"http://a/<1>", 0}, map[string]any{"url": "b,c", "depth": 2}} {
		if _, err := j.ProcessItem(it); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ProcessItem(it); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "{\"url\":\"http://a/<1>\",\"depth\":0}\n{\"depth\":2,\"url\":\"b,c\"}\n"; jl.String() != want {
		t.Errorf("JSON lines %q", jl.String())
	}
	if want := "url,depth,missing\nhttp://a/<1>,0,\n\"b,c\",2,\n"; cv.String() != want {
		t.Errorf("CSV %q", cv.String())
	}
	if _, err := c.ProcessItem("not an object"); err == nil {
		t.Error("CSV took a string")
	}
}

func FuzzResponseLinks(f *testing.F) {
	f.Add("http://site/a/b", `<base href="../x/"><a href="y#z">y</a><a href="//other/p">o</a>`)
	f.Add("http://site/", `<title>t</title><a href=":bad">b</a><a href="javascript:x">j</a>`)
	f.Add("not a url", `<a href="/x">x</a>`)
	f.Fuzz(func(t *testing.T, base, body string) {
		r := &crawl.Response{URL: base, Body: []byte(body)}
		r.Headers.Set("Content-Type", "text/html")
		for _, l := range r.Links() {
			if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
				t.Fatalf("link %q", l)
			}
			crawl.Fingerprint(crawl.NewRequest(l, nil))
		}
		r.Title()
	})
}
