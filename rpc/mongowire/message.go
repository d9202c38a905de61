package mongowire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/twistgo/twist/rpc"
	"github.com/twistgo/twist/rpc/internal/session"
)

// Operation codes of the messages this server reads and writes.
const (
	opReply = 1    // OP_REPLY: the answer to an OP_QUERY
	opQuery = 2004 // OP_QUERY: the legacy query, still used for the first handshake
	opMsg   = 2013 // OP_MSG: every command of a current driver
)

// headerLen is the size of the standard message header: messageLength,
// requestID, responseTo and opCode, four little-endian int32s.
const headerLen = 16

// OP_MSG flag bits.
const (
	flagChecksumPresent = 1 << 0
	flagMoreToCome      = 1 << 1
	// flagRequiredMask holds the low 16 bits, which a reader must understand:
	// an unknown one among them is an error, while unknown high bits, such
	// as exhaustAllowed (bit 16), are optional and ignored: this server never
	// streams replies.
	flagRequiredMask = 0xffff
)

// castagnoli is the CRC-32C table of the OP_MSG checksum.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errMalformed is the root of every error parseFrame returns: the peer
// broke the protocol, so its connection is closed.
var errMalformed = errors.New("mongowire: malformed message")

// errTooDeep is the error of a message with a document nested deeper than
// the parser checks: the message is well framed, so it is answered, and
// the connection goes on.
var errTooDeep = session.ErrTooDeep

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// request is a parsed OP_MSG or OP_QUERY.
type request struct {
	to replyTo
	// cmd is the command: the kind-0 section of an OP_MSG, with any kind-1
	// sections folded in, or the query document of an OP_QUERY.
	cmd bson.Raw
	// top is what one walk of cmd's top level found: its first element and
	// the fields that matter to a call.
	top topLevel
	// collection is an OP_QUERY's fullCollectionName, such as "admin.$cmd".
	collection string
}

// topLevel is what scanCommand finds at the top level of a command, so
// that handling it reads the document no more: the first element names
// the command, and a call needs its maxTimeMS and whether any other field
// is one a call does not take.
type topLevel struct {
	// key and first are the first element's key and value; key is nil in
	// an empty document.
	key   []byte
	first bson.RawValue
	// maxTimeMS is the value of the last maxTimeMS field after the first
	// (Type 0 if there is none).
	maxTimeMS bson.RawValue
	// unknown is the key of the first field after the first that is not
	// one of genericArgs, or nil.
	unknown []byte
}

// parseFrame parses one message given without its length field, as the
// framing delivers it: the rest of the header, then the body. Every
// document is checked to nest at most maxDepth levels, without recursion,
// before it is validated. The returned request refers to frame unless
// kind-1 sections had to be folded in. Opcodes other than OP_MSG and
// OP_QUERY are malformed here: nothing else is advertised, OP_COMPRESSED
// included.
func parseFrame(frame []byte, maxDepth int) (request, error) {
	if len(frame) < headerLen-4 {
		return request{}, malformed("%d bytes is shorter than a header", len(frame)+4)
	}
	requestID := int32(binary.LittleEndian.Uint32(frame))
	opCode := int32(binary.LittleEndian.Uint32(frame[8:]))
	body := frame[headerLen-4:]
	req := request{to: replyTo{requestID: requestID, opCode: opCode}}
	p := parser{maxDepth: maxDepth}
	var err error
	switch opCode {
	case opMsg:
		err = p.parseMsg(&req, frame, body)
	case opQuery:
		err = p.parseQuery(&req, body)
	default:
		err = malformed("unsupported opcode %d", opCode)
	}
	return req, err
}

// parser holds what parsing a message needs to know.
type parser struct {
	// maxDepth bounds the nesting of every document.
	maxDepth int
}

// parseMsg parses an OP_MSG body into req; frame is the whole message but
// its length field: the checksum covers both.
func (p parser) parseMsg(req *request, frame, body []byte) error {
	if len(body) < 4 {
		return malformed("OP_MSG without flag bits")
	}
	flags := binary.LittleEndian.Uint32(body)
	if unknown := flags & flagRequiredMask &^ (flagChecksumPresent | flagMoreToCome); unknown != 0 {
		return malformed("unknown required OP_MSG flag bits %#x", unknown)
	}
	req.to.moreToCome = flags&flagMoreToCome != 0
	sections := body[4:]
	if flags&flagChecksumPresent != 0 {
		if len(sections) < 4 {
			return malformed("OP_MSG too short for its checksum")
		}
		n := len(frame) - 4
		var length [4]byte
		binary.LittleEndian.PutUint32(length[:], uint32(len(frame)+4))
		got := crc32.Update(crc32.Checksum(length[:], castagnoli), castagnoli, frame[:n])
		if want := binary.LittleEndian.Uint32(frame[n:]); want != got {
			return malformed("OP_MSG checksum %#08x, computed %#08x", want, got)
		}
		sections = sections[:len(sections)-4]
	}
	var seqs []sequence
	for len(sections) > 0 {
		kind := sections[0]
		sections = sections[1:]
		switch kind {
		case 0:
			if req.cmd != nil {
				return malformed("OP_MSG with two kind-0 sections")
			}
			doc, top, rest, err := p.readCommand(sections)
			if err != nil {
				return err
			}
			req.cmd, req.top, sections = doc, top, rest
		case 1:
			seq, rest, err := p.readSequence(sections)
			if err != nil {
				return err
			}
			seqs, sections = append(seqs, seq), rest
		default:
			return malformed("unknown OP_MSG section kind %d", kind)
		}
	}
	if req.cmd == nil {
		return malformed("OP_MSG without a kind-0 section")
	}
	if seqs != nil {
		cmd, err := foldSequences(req.cmd, seqs)
		if err != nil {
			return err
		}
		// Rare (drivers send kind-1 sections for writes): the folded
		// command is walked again.
		if req.top, err = p.scanCommand(cmd); err != nil {
			return err
		}
		req.cmd = cmd
	}
	return nil
}

// replyTo is what a reply needs to know of its request.
type replyTo struct {
	requestID int32
	opCode    int32
	// moreToCome is set on an OP_MSG that wants no reply.
	moreToCome bool
}

// sequence is a kind-1 section: documents under an identifier.
type sequence struct {
	identifier string
	docs       []bson.Raw
}

// readSequence reads a kind-1 section from b, after its kind byte.
func (p parser) readSequence(b []byte) (sequence, []byte, error) {
	if len(b) < 4 {
		return sequence{}, nil, malformed("kind-1 section without a size")
	}
	size := int32(binary.LittleEndian.Uint32(b))
	if size < 5 || int64(size) > int64(len(b)) {
		return sequence{}, nil, malformed("kind-1 section size %d with %d bytes left", size, len(b))
	}
	sec, rest := b[4:size], b[size:]
	id, sec, err := readCString(sec)
	if err != nil {
		return sequence{}, nil, err
	}
	// An empty sequence is an empty array, not a missing one.
	seq := sequence{identifier: id, docs: []bson.Raw{}}
	for len(sec) > 0 {
		var doc bson.Raw
		if doc, sec, err = p.readDocument(sec); err != nil {
			return sequence{}, nil, err
		}
		seq.docs = append(seq.docs, doc)
	}
	return seq, rest, nil
}

// foldSequences returns cmd with each sequence added as an array under its
// identifier, the form the command would have had without kind-1 sections.
func foldSequences(cmd bson.Raw, seqs []sequence) (bson.Raw, error) {
	elems, err := cmd.Elements()
	if err != nil {
		return nil, malformed("%v", err)
	}
	d := make(bson.D, 0, len(elems)+len(seqs))
	for _, e := range elems {
		d = append(d, bson.E{Key: e.Key(), Value: e.Value()})
	}
	for _, s := range seqs {
		d = append(d, bson.E{Key: s.identifier, Value: s.docs})
	}
	b, err := bson.Marshal(d)
	if err != nil {
		return nil, malformed("folding kind-1 sections: %v", err)
	}
	return b, nil
}

// parseQuery parses an OP_QUERY body into req. An OP_QUERY for a command may
// wrap it as {$query: cmd, $readPreference: ...}, as drivers talking to a
// mongos did: the wrapped command is unwrapped.
func (p parser) parseQuery(req *request, body []byte) error {
	if len(body) < 4 {
		return malformed("OP_QUERY without flags")
	}
	coll, rest, err := readCString(body[4:])
	if err != nil {
		return err
	}
	if len(rest) < 8 {
		return malformed("OP_QUERY without numberToSkip and numberToReturn")
	}
	// The optional field selector after the query is read for validity and
	// otherwise ignored: replies are whole.
	query, rest, err := p.readDocument(rest[8:])
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		if _, rest, err = p.readDocument(rest); err != nil {
			return err
		}
		if len(rest) > 0 {
			return malformed("%d bytes after the OP_QUERY field selector", len(rest))
		}
	}
	if v, err := query.LookupErr("$query"); err == nil {
		inner, ok := v.DocumentOK()
		if !ok {
			return malformed("$query is %v, not a document", v.Type)
		}
		query = inner
	}
	// The handshake's path, not a call's: the command's top level is
	// walked again after the whole query was checked.
	top, err := p.scanCommand(query)
	if err != nil {
		return err
	}
	req.collection, req.cmd, req.top = coll, query, top
	return nil
}

// readDocument reads one validated BSON document from the start of b: its
// depth is checked without recursion, and that walk checks every element's
// length and every nested document's, more than the bson package's
// Validate does (FuzzCheckDepth holds it to that).
func (p parser) readDocument(b []byte) (bson.Raw, []byte, error) {
	doc, rest, err := sizedDocument(b)
	if err != nil {
		return nil, nil, err
	}
	if err := p.checkDepth(bsoncore.TypeEmbeddedDocument, doc, p.maxDepth); err != nil {
		return nil, nil, err
	}
	return doc, rest, nil
}

// readCommand is readDocument for a command, in one walk: it also returns
// what the command's top level holds.
func (p parser) readCommand(b []byte) (bson.Raw, topLevel, []byte, error) {
	doc, rest, err := sizedDocument(b)
	if err != nil {
		return nil, topLevel{}, nil, err
	}
	top, err := p.scanCommand(doc)
	if err != nil {
		return nil, topLevel{}, nil, err
	}
	return doc, top, rest, nil
}

// sizedDocument splits the document at the start of b, by its length, from
// what follows it.
func sizedDocument(b []byte) (bson.Raw, []byte, error) {
	if len(b) < 5 {
		return nil, nil, malformed("document needs 5 bytes, %d left", len(b))
	}
	size := int32(binary.LittleEndian.Uint32(b))
	if size < 5 || int64(size) > int64(len(b)) {
		return nil, nil, malformed("document size %d with %d bytes left", size, len(b))
	}
	return bson.Raw(b[:size]), b[size:], nil
}

// checkDepth is session.CheckDepth with this package's errors.
func (p parser) checkDepth(t bsoncore.Type, data []byte, max int) error {
	if err := session.CheckDepth(t, data, max); errors.Is(err, session.ErrTooDeep) {
		return fmt.Errorf("%w: at most %d levels", errTooDeep, p.maxDepth)
	} else if err != nil {
		return malformed("%v", err)
	}
	return nil
}

// scanCommand validates doc as readDocument does, and in the same walk
// reads its top level into a topLevel. Each top-level value is checked one
// level below the limit, which is what checking doc from its top does. It
// allocates nothing.
func (p parser) scanCommand(doc bson.Raw) (topLevel, error) {
	var top topLevel
	if p.maxDepth < 1 {
		return top, fmt.Errorf("%w: at most %d levels", errTooDeep, p.maxDepth)
	}
	if len(doc) < 5 || int64(int32(binary.LittleEndian.Uint32(doc))) != int64(len(doc)) || doc[len(doc)-1] != 0 {
		return top, malformed("%v", session.ErrMalformed)
	}
	for rem, first := []byte(doc[4:len(doc)-1]), true; len(rem) > 0; first = false {
		typ, val, rest, ok := session.ReadElement(rem)
		if !ok {
			return top, malformed("%v", session.ErrMalformed)
		}
		key := rem[1 : len(rem)-len(rest)-len(val)-1]
		rem = rest
		if err := p.checkDepth(typ, val, p.maxDepth-1); err != nil {
			return top, err
		}
		switch v := (bson.RawValue{Type: bson.Type(typ), Value: val}); {
		case first:
			top.key, top.first = key, v
		case string(key) == "maxTimeMS":
			top.maxTimeMS = v
		case top.unknown == nil && !genericArgs[string(key)]:
			top.unknown = key
		}
	}
	return top, nil
}

// readCString reads a NUL-terminated string from the start of b.
func readCString(b []byte) (string, []byte, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, malformed("unterminated cstring")
	}
	return string(b[:i]), b[i+1:], nil
}

// genericArgs are the top-level fields a driver may add to any command,
// beside the command itself: a call accepts these and no others.
var genericArgs = map[string]bool{
	"$db": true, "lsid": true, "$clusterTime": true, "$readPreference": true,
	"maxTimeMS": true, "comment": true, "apiVersion": true, "apiStrict": true,
	"apiDeprecationErrors": true, "readConcern": true, "writeConcern": true,
	"txnNumber": true, "autocommit": true, "startTransaction": true,
}

// callOptions checks the fields of a call of the function name after its
// first, as scanCommand found them: each must be one of genericArgs, so
// that a misspelt option is an error rather than ignored. It returns the
// call's maxTimeMS.
func (top *topLevel) callOptions(name string) (time.Duration, error) {
	if top.unknown != nil {
		return 0, &rpc.Error{Message: rpc.BadMessage, Detail: session.Bound(fmt.Sprintf(
			"unknown field %q in a call of %s: a call takes its arguments and the generic command fields only", session.Bound(string(top.unknown)), session.Bound(name)))}
	}
	v := top.maxTimeMS
	if v.Type == 0 {
		return 0, nil
	}
	ms, ok := v.AsInt64OK()
	if !ok || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) || v.Type == bson.TypeDouble && float64(ms) != v.Double() {
		return 0, &rpc.Error{Message: rpc.BadMessage, Detail: fmt.Sprintf("maxTimeMS is %v: want a non-negative whole number", v.Type)}
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// appendReplyPrefix appends the header and body prefix of the reply to a
// request, with requestID: an OP_REPLY with responseFlags to an OP_QUERY,
// an OP_MSG to an OP_MSG. The reply's document follows.
func appendReplyPrefix(b []byte, requestID int32, to replyTo, responseFlags int32) []byte {
	if to.opCode == opQuery {
		return appendReplyHeader(b, requestID, to.requestID, responseFlags)
	}
	return appendMsgHeader(b, requestID, to.requestID)
}

// appendMsgHeader appends the header and body prefix of an OP_MSG reply to
// requestID, up to the kind-0 section's kind byte: the document follows, and
// finishMessage fills in the length. Replies set no flags: no checksum, and
// never moreToCome, as the server does not stream.
func appendMsgHeader(b []byte, requestID, responseTo int32) []byte {
	b = appendHeader(b, requestID, responseTo, opMsg)
	b = binary.LittleEndian.AppendUint32(b, 0)
	return append(b, 0)
}

// appendReplyHeader appends the header and body prefix of an OP_REPLY with
// one document, which follows: responseFlags, cursorID 0, startingFrom 0,
// numberReturned 1.
func appendReplyHeader(b []byte, requestID, responseTo, responseFlags int32) []byte {
	b = appendHeader(b, requestID, responseTo, opReply)
	b = binary.LittleEndian.AppendUint32(b, uint32(responseFlags))
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	return binary.LittleEndian.AppendUint32(b, 1)
}

// appendHeader appends a header whose length is left for finishMessage.
func appendHeader(b []byte, requestID, responseTo, opCode int32) []byte {
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(requestID))
	b = binary.LittleEndian.AppendUint32(b, uint32(responseTo))
	return binary.LittleEndian.AppendUint32(b, uint32(opCode))
}

// finishMessage writes the length of the message that is all of b.
func finishMessage(b []byte) {
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
}
