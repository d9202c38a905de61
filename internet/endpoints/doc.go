// Package endpoints turns Twisted's endpoint descriptions ("strports") into
// endpoints that listen and connect: ServerFromString("tcp:8080:interface=127.0.0.1")
// gives a ServerEndpoint whose Listen returns a Deferred of the listening
// port, ClientFromString("tls:host=example.com:port=443") a ClientEndpoint
// whose Connect returns a Deferred of the connected protocol
// (twisted.internet.endpoints). A program that takes a description in a
// flag can so listen on TCP, TLS or a Unix socket without code for each.
//
// A description is the endpoint's type, then its arguments, separated by
// colons. An argument is positional, or a keyword: name=value (a further
// '=' belongs to the value). A backslash makes the next character plain:
// "\:" is a colon inside an argument, "\\" a backslash, "\=" an equals sign
// in a positional argument; QuoteStringArgument escapes a string. The
// forms of each type are listed at ServerFromString and ClientFromString.
//
// Server endpoints listen on one loop or on a loop group, as
// internet.ListenTCP and internet.ListenTCPGroup do; client endpoints
// connect from one loop. HostnameEndpoint connects to every address of a
// name with happy eyeballs (RFC 8305).
//
// Errors name the description and the cause in plain words: see Error.
package endpoints
