// Package poetry holds what the poetry examples share: the server that sends
// a poem, the client that downloads one, and both sides of the transform
// protocol (the Twisted introduction's PoetryProtocol, PoetryClientFactory
// and TransformService). Everything runs on one loop, and takes a
// an internet.Net so that it can be tested without sockets.
package poetry
