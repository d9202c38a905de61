package web

import "github.com/twistgo/twist/web/internal/http1"

// Header is a message's header fields in order, with case-insensitive
// names (Twisted's Headers): Get, Values, Set, Add, Del, All.
type Header = http1.Header
