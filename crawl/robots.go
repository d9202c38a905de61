package crawl

import (
	"bufio"
	"bytes"
	"strings"
)

// MaxRobotsSize bounds the robots.txt read for a host; the rest is ignored,
// as Google's parser ignores what follows its first 500 KiB.
const MaxRobotsSize = 500 << 10

// Robots is a parsed robots.txt (RFC 9309): the rules of the group that
// applies to one user agent.
type Robots struct {
	rules []robotsRule
}

type robotsRule struct {
	allow   bool
	pattern string
}

// ParseRobots parses a robots.txt body for the user agent token agent
// (such as "twist-crawl"): the groups naming the token (case-insensitively,
// as a prefix of the product token) apply, or else the "*" groups. Lines
// it does not understand are skipped. Only the first MaxRobotsSize bytes
// are read.
func ParseRobots(body []byte, agent string) *Robots {
	if len(body) > MaxRobotsSize {
		body = body[:MaxRobotsSize]
	}
	agent = strings.ToLower(agent)
	var specific, star []robotsRule
	var haveSpecific bool
	// Within a group: its agents, then its rules. A user-agent line after
	// rules starts a new group.
	var forUs, forStar, inRules bool
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), MaxRobotsSize)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		switch key {
		case "user-agent":
			if inRules {
				forUs, forStar, inRules = false, false, false
			}
			v := strings.ToLower(val)
			if v == "*" {
				forStar = true
			} else if v != "" && strings.HasPrefix(agent, v) {
				forUs, haveSpecific = true, true
			}
		case "allow", "disallow":
			inRules = true
			if val == "" {
				continue // "Disallow:" allows everything
			}
			r := robotsRule{allow: key == "allow", pattern: val}
			if forUs {
				specific = append(specific, r)
			}
			if forStar {
				star = append(star, r)
			}
		}
	}
	if haveSpecific {
		return &Robots{rules: specific}
	}
	return &Robots{rules: star}
}

// Allowed reports whether path (with its query) may be fetched: the rule
// with the longest matching pattern decides, Allow winning a tie; no
// matching rule allows. "/robots.txt" is always allowed.
func (r *Robots) Allowed(path string) bool {
	if path == "" {
		path = "/"
	}
	if r == nil || path == "/robots.txt" {
		return true
	}
	best, allow := -1, true
	for _, rule := range r.rules {
		if !robotsMatch(rule.pattern, path) {
			continue
		}
		if n := len(rule.pattern); n > best || (n == best && rule.allow) {
			best, allow = n, rule.allow
		}
	}
	return allow
}

// robotsMatch matches path against pattern, where * matches any run of
// characters and a final $ anchors the end; otherwise a pattern matches a
// prefix. It is the greedy wildcard match with one back-track point, linear
// in practice and never recursive.
func robotsMatch(pattern, path string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	p, s := 0, 0
	starP, starS := -1, 0
	for s < len(path) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			starP, starS = p, s
			p++
		case p < len(pattern) && pattern[p] == path[s]:
			p++
			s++
		case p == len(pattern) && !anchored:
			return true
		case starP >= 0:
			starS++
			p, s = starP+1, starS
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
