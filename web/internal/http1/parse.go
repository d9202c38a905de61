package http1

import (
	"bytes"
	"strings"
)

// An Error is a message that cannot be accepted: Status is the status a
// server answers with (400, 413, 414, 431, 501, 505) and Reason a fixed
// text that never quotes the input.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return "http1: " + e.Reason }

// Errors of the head and framing parsers, by status.
var (
	ErrRequestLine      = &Error{400, "malformed request line"}
	ErrStatusLine       = &Error{400, "malformed status line"}
	ErrVersion          = &Error{505, "unsupported HTTP version"}
	ErrFieldName        = &Error{400, "malformed header field name"}
	ErrFieldValue       = &Error{400, "invalid character in header field value"}
	ErrObsFold          = &Error{400, "obsolete line folding in header"}
	ErrLineEnding       = &Error{400, "line not ended by CRLF"}
	ErrContentLength    = &Error{400, "malformed Content-Length"}
	ErrDupLength        = &Error{400, "more than one Content-Length"}
	ErrLengthAndChunked = &Error{400, "both Content-Length and Transfer-Encoding"}
	ErrTransferEncoding = &Error{400, "malformed Transfer-Encoding"}
	ErrTECoding         = &Error{501, "unsupported transfer coding"}
	ErrTE10             = &Error{400, "Transfer-Encoding in an HTTP/1.0 message"}
	ErrHost             = &Error{400, "missing, repeated or malformed Host"}
	ErrHeaderTooLarge   = &Error{431, "request header too large"}
	ErrTooManyFields    = &Error{431, "too many header fields"}
	ErrURITooLong       = &Error{414, "request line too long"}
	ErrBodyTooLarge     = &Error{413, "body too large"}
	ErrChunk            = &Error{400, "malformed chunked body"}
)

// Limits bound what a parser accepts from a peer.
type Limits struct {
	// MaxRequestLine bounds the request (or status) line, CRLF excluded.
	MaxRequestLine int
	// MaxHeaderBytes bounds the whole head: start line and fields.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields.
	MaxHeaders int
}

// Default limits.
const (
	DefaultMaxRequestLine = 8 << 10
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxHeaders     = 100
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{DefaultMaxRequestLine, DefaultMaxHeaderBytes, DefaultMaxHeaders}
}

// ScanHead looks for the end of a head in buf, the empty line after the
// fields, starting at from (a previous scan's result, so that a head that
// arrives a byte at a time is scanned once overall). It returns the head's
// length including the final CRLF CRLF, or -1 and where to resume, or an
// error once the head passes a limit without ending.
func ScanHead(buf []byte, from int, lim *Limits) (n, next int, err error) {
	if i := bytes.Index(buf[from:], crlfcrlf); i >= 0 {
		n = from + i + 4
		if n > lim.MaxHeaderBytes {
			return -1, 0, ErrHeaderTooLarge
		}
		return n, 0, nil
	}
	if bytes.IndexByte(buf, '\n') < 0 && len(buf) > lim.MaxRequestLine {
		return -1, 0, ErrURITooLong
	}
	if len(buf) > lim.MaxHeaderBytes {
		return -1, 0, ErrHeaderTooLarge
	}
	return -1, max(0, len(buf)-3), nil
}

var crlfcrlf = []byte("\r\n\r\n")

// SkipEmptyLines returns how many leading CRLFs buf has: RFC 9112 §2.2
// lets a server ignore empty lines before a request line.
func SkipEmptyLines(buf []byte) int {
	n := 0
	for len(buf) >= n+2 && buf[n] == '\r' && buf[n+1] == '\n' {
		n += 2
	}
	return n
}

// RequestHead is a parsed request line and header.
type RequestHead struct {
	Method, Target string
	// Proto is "HTTP/1.0" or "HTTP/1.1" (a later 1.x is taken as 1.1).
	Proto  string
	Minor  int
	Header Header
}

// ParseRequestHead parses a head found by ScanHead (CRLF CRLF included).
func ParseRequestHead(head string, lim *Limits) (*RequestHead, error) {
	eol := strings.IndexByte(head, '\r')
	if eol < 0 || eol+1 >= len(head) || head[eol+1] != '\n' {
		return nil, ErrLineEnding
	}
	if eol > lim.MaxRequestLine {
		return nil, ErrURITooLong
	}
	line := head[:eol]
	sp1 := strings.IndexByte(line, ' ')
	if sp1 <= 0 {
		return nil, ErrRequestLine
	}
	rest := line[sp1+1:]
	sp2 := strings.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return nil, ErrRequestLine
	}
	r := &RequestHead{Method: line[:sp1], Target: rest[:sp2]}
	if !isToken(r.Method) || !validTarget(r.Target) {
		return nil, ErrRequestLine
	}
	minor, err := parseVersion(rest[sp2+1:])
	if err != nil {
		return nil, err
	}
	r.Minor = minor
	r.Proto = "HTTP/1.1"
	if minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	if err := parseFields(head[eol+2:], &r.Header, lim); err != nil {
		return nil, err
	}
	return r, nil
}

// parseVersion parses "HTTP/1.x" and returns x (any x above 1 as 1).
func parseVersion(v string) (int, error) {
	if len(v) != 8 || v[:5] != "HTTP/" || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return 0, ErrRequestLine
	}
	if v[5] != '1' {
		return 0, ErrVersion
	}
	return min(int(v[7]-'0'), 1), nil
}

// ResponseHead is a parsed status line and header.
type ResponseHead struct {
	Proto  string
	Minor  int
	Status int
	Reason string
	Header Header
}

// ParseResponseHead parses a response head found by ScanHead.
func ParseResponseHead(head string, lim *Limits) (*ResponseHead, error) {
	eol := strings.IndexByte(head, '\r')
	if eol < 0 || eol+1 >= len(head) || head[eol+1] != '\n' {
		return nil, ErrLineEnding
	}
	line := head[:eol]
	// status-line = HTTP-version SP status-code SP [ reason-phrase ]
	if len(line) < 12 || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return nil, ErrStatusLine
	}
	minor, err := parseVersion(line[:8])
	if err != nil {
		return nil, err
	}
	code := 0
	for i := 9; i < 12; i++ {
		if !isDigit(line[i]) {
			return nil, ErrStatusLine
		}
		code = code*10 + int(line[i]-'0')
	}
	if code < 100 {
		return nil, ErrStatusLine
	}
	r := &ResponseHead{Proto: line[:8], Minor: minor, Status: code}
	if len(line) > 12 {
		r.Reason = line[13:]
		if !validValue(r.Reason) {
			return nil, ErrStatusLine
		}
	}
	if err := parseFields(head[eol+2:], &r.Header, lim); err != nil {
		return nil, err
	}
	return r, nil
}

// parseFields parses header fields up to and including the empty line.
// Every line must end in CRLF; a CR or LF anywhere else is an error.
func parseFields(s string, h *Header, lim *Limits) error {
	n := strings.Count(s, "\n") - 1
	if n > lim.MaxHeaders {
		return ErrTooManyFields
	}
	if n > 0 {
		h.fields = make([]Field, 0, n)
	}
	for {
		eol := strings.IndexByte(s, '\r')
		if eol < 0 || eol+1 >= len(s) || s[eol+1] != '\n' {
			return ErrLineEnding
		}
		line := s[:eol]
		s = s[eol+2:]
		if line == "" {
			if s != "" {
				return ErrLineEnding
			}
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return ErrObsFold
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			// A space or tab before the colon falls here too: RFC 9112 §5.1
			// requires rejecting it.
			return ErrFieldName
		}
		v := strings.Trim(line[colon+1:], " \t")
		if !validValue(v) {
			return ErrFieldValue
		}
		h.fields = append(h.fields, Field{line[:colon], v})
	}
}

// Framing is how a message's body is delimited.
type Framing struct {
	// Chunked is true for the chunked transfer coding.
	Chunked bool
	// Length is the body's length when not chunked; -1 means the body runs
	// until the connection closes (responses only).
	Length int64
}

// RequestFraming decides a request body's framing (RFC 9112 §6.3) from
// its header, and checks Host. Anything ambiguous is an error.
func RequestFraming(r *RequestHead) (Framing, error) {
	hosts := 0
	for i := range r.Header.fields {
		if strings.EqualFold(r.Header.fields[i].Name, "Host") {
			hosts++
			if !validHost(r.Header.fields[i].Value) {
				return Framing{}, ErrHost
			}
		}
	}
	if hosts > 1 || hosts == 0 && r.Minor > 0 {
		return Framing{}, ErrHost
	}
	f, err := framing(&r.Header)
	if err != nil {
		return f, err
	}
	if f.Chunked && r.Minor == 0 {
		return Framing{}, ErrTE10
	}
	if f.Length < 0 {
		f.Length = 0
	}
	return f, nil
}

// ResponseFraming decides a response body's framing for a request with
// the given method (RFC 9112 §6.3).
func ResponseFraming(r *ResponseHead, method string) (Framing, error) {
	if method == "HEAD" || r.Status/100 == 1 || r.Status == 204 || r.Status == 304 {
		return Framing{}, nil
	}
	return framing(&r.Header)
}

// framing reads Transfer-Encoding and Content-Length: Length -1 when
// neither is present.
func framing(h *Header) (Framing, error) {
	var te, cl string
	nte, ncl := 0, 0
	for i := range h.fields {
		switch name := h.fields[i].Name; {
		case strings.EqualFold(name, "Content-Length"):
			ncl++
			cl = h.fields[i].Value
		case strings.EqualFold(name, "Transfer-Encoding"):
			nte++
			te = h.fields[i].Value
		}
	}
	switch {
	case nte > 0 && ncl > 0:
		return Framing{}, ErrLengthAndChunked
	case nte > 1:
		// Two fields make a list of two codings; chunked must come once and last.
		return Framing{}, ErrTransferEncoding
	case nte == 1:
		if strings.EqualFold(te, "chunked") {
			return Framing{Chunked: true}, nil
		}
		if te == "" || strings.ContainsAny(te, ",") || !isToken(te) {
			return Framing{}, ErrTransferEncoding
		}
		return Framing{}, ErrTECoding
	case ncl > 1:
		return Framing{}, ErrDupLength
	case ncl == 1:
		n, ok := ParseLength(cl)
		if !ok {
			return Framing{}, ErrContentLength
		}
		return Framing{Length: n}, nil
	}
	return Framing{Length: -1}, nil
}

// ParseLength parses a Content-Length value: 1 to 18 decimal digits and
// nothing else (no sign, space or list, which CVE-2022-24801 let through).
func ParseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// tchar marks RFC 9110's token characters.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

// validValue reports whether s is made of VCHAR, obs-text, SP and HTAB.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validTarget accepts visible ASCII only: no space, control or 8-bit byte.
func validTarget(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// validHost accepts what a uri-host [":" port] can hold, or empty.
func validHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !tchar[c] && !strings.ContainsRune(":[]()',;=", rune(c)) {
			return false
		}
	}
	return true
}
