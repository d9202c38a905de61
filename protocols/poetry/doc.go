// Package poetry holds the protocols of the Twisted introduction ("Twisted
// Poetry"), for twistd's poetry plugins and the poetry examples: the server
// that sends a poem (fast, or a few bytes at a time), the client that
// downloads one, and both sides of the transform protocol (the intro's
// PoetryProtocol, PoetryClientFactory and TransformService). It also holds
// the public-domain poems they serve: Shakespeare's Sonnet 18 and Blake's
// The Tyger. The clients take an internet.Net, so that they can be tested
// without sockets.
package poetry
