package house

import (
	"bufio"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository's root, two levels above this package.
const root = "../.."

// linkTarget matches the target of an inline Markdown link or image,
// [text](target "title"), and of a reference definition, [id]: target.
var linkTarget = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)

// TestMarkdownLinksResolve checks that every relative link in the
// repository's Markdown names a file or directory that exists. Links to
// other sites and anchors within the page are not checked.
func TestMarkdownLinksResolve(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".md") {
			return nil
		}
		for _, l := range relativeLinks(t, path) {
			checked++
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), l.target)); err != nil {
				t.Errorf("%s:%d: link %q does not resolve", rel(path), l.line, l.raw)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no relative link found: is root the repository?")
	}
}

type link struct {
	raw, target string
	line        int
}

// relativeLinks returns the relative links of the Markdown file at path,
// outside fenced code blocks, with their anchors and queries removed.
func relativeLinks(t *testing.T, path string) []link {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var links []link
	fenced := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(text), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		for _, m := range linkTarget.FindAllStringSubmatch(text, -1) {
			raw := m[1] + m[2]
			u, err := url.Parse(raw)
			if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "" {
				continue // another site, a mail address, or an anchor
			}
			links = append(links, link{raw: raw, target: filepath.FromSlash(u.Path), line: n})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return links
}

func rel(path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
