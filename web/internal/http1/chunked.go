package http1

import "strconv"

// Decoder states.
const (
	chSize    = iota // chunk-size hex digits
	chSizeBWS        // whitespace after the size, before ';' or CR
	chExt            // chunk extensions, up to CR
	chSizeLF         // LF after the size line
	chData           // chunk data
	chDataCR         // CR after the data
	chDataLF         // LF after the data
	chTrailer        // start of a trailer line, or of the final CRLF
	chTrField        // inside a trailer field line
	chTrLF           // LF ending a trailer field
	chEndLF          // LF of the final CRLF
	chDone
)

// Limits of the chunked decoder.
const (
	// MaxChunkLine bounds a chunk-size line with its extensions (Twisted's
	// maxChunkSizeLineLength is 1 KiB; extensions get a little more room).
	MaxChunkLine = 4 << 10
	// maxSizeDigits keeps a chunk size within int64.
	maxSizeDigits = 15
)

// A ChunkedDecoder decodes the chunked transfer coding incrementally, a
// byte-level state machine that keeps nothing but its counters: input can
// arrive split anywhere. Trailer fields are checked and dropped. Sizes
// are 1 to 15 hex digits and nothing else (no "0x", sign or underscore,
// which Twisted accepted before CVE-2022-24801); every line ends in CRLF.
type ChunkedDecoder struct {
	// Max bounds the decoded body; a chunk that would pass it is
	// ErrBodyTooLarge. Zero or less means no bound.
	Max int64
	// MaxTrailer bounds the trailer section's bytes (DefaultMaxHeaderBytes
	// when zero).
	MaxTrailer int

	state   int
	digits  int
	line    int   // bytes of the current size or trailer line
	left    int64 // data bytes left in this chunk
	total   int64 // data bytes decoded
	trailer int   // trailer bytes seen
	colon   bool  // the trailer line has its colon
}

// Reset readies d for another body, keeping its limits.
func (d *ChunkedDecoder) Reset() {
	*d = ChunkedDecoder{Max: d.Max, MaxTrailer: d.MaxTrailer}
}

// Done reports whether the last chunk and the trailer have been decoded.
func (d *ChunkedDecoder) Done() bool { return d.state == chDone }

// Total returns the body bytes decoded so far.
func (d *ChunkedDecoder) Total() int64 { return d.total }

// Decode consumes input from p and returns how much it consumed and any
// body bytes found, a sub-slice of p. It stops after one run of body
// bytes, at the end of the body, at an error or at the end of p: call it
// until p is used up or Done reports true. Bytes after the end are not
// consumed: they are the next message's.
func (d *ChunkedDecoder) Decode(p []byte) (n int, data []byte, err error) {
	for n < len(p) {
		c := p[n]
		switch d.state {
		case chSize:
			v := unhex(c)
			switch {
			case v >= 0:
				if d.digits == maxSizeDigits {
					return n, nil, ErrChunk
				}
				d.digits++
				d.left = d.left<<4 | int64(v)
			case d.digits == 0:
				return n, nil, ErrChunk
			case c == ';':
				d.state = chExt
			case c == ' ' || c == '\t':
				d.state = chSizeBWS
			case c == '\r':
				d.state = chSizeLF
			default:
				return n, nil, ErrChunk
			}
		case chSizeBWS:
			switch c {
			case ' ', '\t':
			case ';':
				d.state = chExt
			case '\r':
				d.state = chSizeLF
			default:
				return n, nil, ErrChunk
			}
		case chExt:
			if c == '\r' {
				d.state = chSizeLF
			} else if c < ' ' && c != '\t' || c == 0x7f {
				return n, nil, ErrChunk
			}
		case chSizeLF:
			if c != '\n' {
				return n, nil, ErrChunk
			}
			if d.Max > 0 && d.left > d.Max-d.total {
				return n, nil, ErrBodyTooLarge
			}
			d.digits, d.line = 0, 0
			if d.left == 0 {
				d.state = chTrailer
			} else {
				d.state = chData
			}
		case chData:
			k := int64(len(p) - n)
			if k > d.left {
				k = d.left
			}
			data = p[n : n+int(k)]
			d.left -= k
			d.total += k
			if d.left == 0 {
				d.state = chDataCR
			}
			return n + int(k), data, nil
		case chDataCR:
			if c != '\r' {
				return n, nil, ErrChunk
			}
			d.state = chDataLF
		case chDataLF:
			if c != '\n' {
				return n, nil, ErrChunk
			}
			d.state = chSize
		case chTrailer:
			switch {
			case c == '\r':
				d.state = chEndLF
			case tchar[c]:
				d.state, d.colon = chTrField, false
			default: // obs-fold, a bare LF, or no field name
				return n, nil, ErrChunk
			}
		case chTrField:
			switch {
			case c == '\r':
				if !d.colon {
					return n, nil, ErrChunk
				}
				d.state = chTrLF
			case !d.colon && c == ':':
				d.colon = true
			case !d.colon && !tchar[c]:
				return n, nil, ErrChunk
			case c < ' ' && c != '\t' || c == 0x7f:
				return n, nil, ErrChunk
			}
		case chTrLF:
			if c != '\n' {
				return n, nil, ErrChunk
			}
			d.state = chTrailer
		case chEndLF:
			if c != '\n' {
				return n, nil, ErrChunk
			}
			d.state = chDone
			return n + 1, nil, nil
		case chDone:
			return n, nil, nil
		}
		n++
		if d.state < chData {
			if d.line++; d.line > MaxChunkLine {
				return n, nil, ErrChunk
			}
		} else if d.state >= chTrailer {
			maxT := d.MaxTrailer
			if maxT <= 0 {
				maxT = DefaultMaxHeaderBytes
			}
			if d.trailer++; d.trailer > maxT {
				return n, nil, ErrHeaderTooLarge
			}
		}
	}
	return n, nil, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// AppendChunk appends p as one chunk of the chunked coding; an empty p
// appends nothing, since an empty chunk would end the body.
func AppendChunk(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, uint64(len(p)), 16)
	dst = append(dst, "\r\n"...)
	dst = append(dst, p...)
	return append(dst, "\r\n"...)
}

// AppendChunkHeader appends the size line of a chunk of n bytes, for
// writers that send the data on its own; the data must be followed by CRLF.
func AppendChunkHeader(dst []byte, n int) []byte {
	dst = strconv.AppendUint(dst, uint64(n), 16)
	return append(dst, "\r\n"...)
}

// LastChunk ends a chunked body with no trailer fields.
const LastChunk = "0\r\n\r\n"
