// Package client is an HTTP/1.1 client on Twist's event loop, in the model
// of twisted.web.client: an Agent sends a request and returns a Deferred
// that fires with the Response once its head has arrived; the body then
// streams to a BodyConsumer, with flow control, or is gathered by ReadBody.
// A Pool keeps persistent connections per host. GetPage fetches a URL's
// body in one call, as the seeds' crawler uses Twisted's getPage.
//
// Responses are parsed by the same code as package web's server parses
// requests (web/internal/http1): strict framing, limits on every size.
// Everything runs on the agent's loop: call Agent.Request there.
package client
