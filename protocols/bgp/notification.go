package bgp

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313).
const (
	CodeHeader       = 1
	CodeOpen         = 2
	CodeUpdate       = 3
	CodeHoldTimer    = 4
	CodeFSM          = 5
	CodeCease        = 6
	CodeRouteRefresh = 7
)

// The subcodes of CodeHeader.
const (
	SubConnectionNotSynchronized = 1
	SubBadMessageLength          = 2
	SubBadMessageType            = 3
)

// The subcodes of CodeOpen (RFC 4271, RFC 5492).
const (
	SubUnsupportedVersion    = 1
	SubBadPeerAS             = 2
	SubBadBGPIdentifier      = 3
	SubUnsupportedOptParam   = 4
	SubUnacceptableHoldTime  = 6
	SubUnsupportedCapability = 7
)

// The subcodes of CodeUpdate.
const (
	SubMalformedAttributeList    = 1
	SubUnrecognizedWellKnownAttr = 2
	SubMissingWellKnownAttr      = 3
	SubAttributeFlagsError       = 4
	SubAttributeLengthError      = 5
	SubInvalidOrigin             = 6
	SubInvalidNextHop            = 8
	SubOptionalAttributeError    = 9
	SubInvalidNetworkField       = 10
	SubMalformedASPath           = 11
)

// The subcodes of CodeFSM (RFC 6608).
const (
	SubUnexpectedInOpenSent    = 1
	SubUnexpectedInOpenConfirm = 2
	SubUnexpectedInEstablished = 3
)

// The subcodes of CodeCease (RFC 4486, RFC 8538).
const (
	SubMaxPrefixes         = 1
	SubAdminShutdown       = 2
	SubPeerDeconfigured    = 3
	SubAdminReset          = 4
	SubConnectionRejected  = 5
	SubOtherConfigChange   = 6
	SubCollisionResolution = 7
	SubOutOfResources      = 8
	SubHardReset           = 9
	SubBFDDown             = 10
)

// SubInvalidMessageLength is the subcode of CodeRouteRefresh (RFC 7313).
const SubInvalidMessageLength = 1

const (
	maxShutdownCommunication  = 255
	maxNotificationDataInText = 32
)

var codeNames = [...]string{
	CodeHeader:       "Message Header Error",
	CodeOpen:         "OPEN Message Error",
	CodeUpdate:       "UPDATE Message Error",
	CodeHoldTimer:    "Hold Timer Expired",
	CodeFSM:          "Finite State Machine Error",
	CodeCease:        "Cease",
	CodeRouteRefresh: "ROUTE-REFRESH Message Error",
}

var subcodeNames = [...][]string{
	CodeHeader: {1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"},
	CodeOpen: {1: "Unsupported Version Number", 2: "Bad Peer AS", 3: "Bad BGP Identifier",
		4: "Unsupported Optional Parameter", 6: "Unacceptable Hold Time", 7: "Unsupported Capability",
		11: "Role Mismatch"},
	CodeUpdate: {1: "Malformed Attribute List", 2: "Unrecognized Well-known Attribute",
		3: "Missing Well-known Attribute", 4: "Attribute Flags Error", 5: "Attribute Length Error",
		6: "Invalid ORIGIN Attribute", 8: "Invalid NEXT_HOP Attribute", 9: "Optional Attribute Error",
		10: "Invalid Network Field", 11: "Malformed AS_PATH"},
	CodeFSM: {1: "Receive Unexpected Message in OpenSent State",
		2: "Receive Unexpected Message in OpenConfirm State",
		3: "Receive Unexpected Message in Established State"},
	CodeCease: {1: "Maximum Number of Prefixes Reached", 2: "Administrative Shutdown",
		3: "Peer De-configured", 4: "Administrative Reset", 5: "Connection Rejected",
		6: "Other Configuration Change", 7: "Connection Collision Resolution", 8: "Out of Resources",
		9: "Hard Reset", 10: "BFD Down"},
	CodeRouteRefresh: {1: "Invalid Message Length"},
}

// Notification is the NOTIFICATION message. It is also the error that
// decoding returns for a malformed message: the NOTIFICATION to send.
type Notification struct {
	Code    uint8
	Subcode uint8
	Data    []byte
}

func newNotification(code, sub uint8, data []byte) *Notification {
	return &Notification{Code: code, Subcode: sub, Data: data}
}

// Type returns TypeNotification.
func (*Notification) Type() MessageType { return TypeNotification }

// AppendMessage appends the message. Data is cut to fit the largest message.
func (n *Notification) AppendMessage(dst []byte) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeNotification)
	dst = append(dst, n.Code, n.Subcode)
	dst = append(dst, n.Data[:min(len(n.Data), DefaultMaxMessageLen-minNotificationLen)]...)
	return finishMessage(dst, start)
}

// CodeText returns the error code in words, as RFC 4271 names it.
func (n *Notification) CodeText() string {
	if int(n.Code) < len(codeNames) && codeNames[n.Code] != "" {
		return codeNames[n.Code]
	}
	return "error code " + strconv.Itoa(int(n.Code))
}

// SubcodeText returns the subcode in words, "Unspecific" for 0.
func (n *Notification) SubcodeText() string {
	if n.Subcode == 0 {
		return "Unspecific"
	}
	if int(n.Code) < len(subcodeNames) {
		if s := subcodeNames[n.Code]; int(n.Subcode) < len(s) && s[n.Subcode] != "" {
			return s[n.Subcode]
		}
	}
	return "subcode " + strconv.Itoa(int(n.Subcode))
}

// ShutdownCommunication returns the operator's message of an Administrative
// Shutdown or Reset (RFC 9003), if there is a well-formed one.
func (n *Notification) ShutdownCommunication() (string, bool) {
	if n.Code != CodeCease || (n.Subcode != SubAdminShutdown && n.Subcode != SubAdminReset) || len(n.Data) == 0 {
		return "", false
	}
	l := int(n.Data[0])
	if l == 0 || l+1 > len(n.Data) || !utf8.Valid(n.Data[1:1+l]) {
		return "", false
	}
	return string(n.Data[1 : 1+l]), true
}

// String describes the notification in words, with at most a short quoted
// shutdown communication or the first bytes of its data.
func (n *Notification) String() string {
	s := n.CodeText() + ": " + n.SubcodeText()
	if msg, ok := n.ShutdownCommunication(); ok {
		return s + " (" + strconv.Quote(msg) + ")"
	}
	if len(n.Data) > 0 {
		d := n.Data[:min(len(n.Data), maxNotificationDataInText)]
		s += fmt.Sprintf(" (data %x", d)
		if len(d) < len(n.Data) {
			s += "..."
		}
		s += ")"
	}
	return s
}

// Error returns String with the package's prefix.
func (n *Notification) Error() string { return "bgp: " + n.String() }

// AdminShutdown returns the Cease Administrative Shutdown notification with
// an operator's message (RFC 9003), cut to 255 bytes on a rune boundary.
func AdminShutdown(msg string) *Notification {
	for len(msg) > maxShutdownCommunication {
		_, size := utf8.DecodeLastRuneInString(msg)
		msg = msg[:len(msg)-size]
	}
	data := append([]byte{byte(len(msg))}, msg...)
	if msg == "" {
		data = nil
	}
	return newNotification(CodeCease, SubAdminShutdown, data)
}
