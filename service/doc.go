// Package service is Twisted's twisted.application.service and
// twisted.application.internet: long-running parts of a program (servers,
// clients, timers) as services that start and stop together, arranged in a
// tree whose root is an Application.
//
// A service embeds Base and overrides StartService and StopService, calling
// Base's methods from them so that Running stays right. A MultiService holds
// children: it starts them in the order they were added and stops them in the
// reverse order, and its StopService fires once every child has stopped.
//
// Services that need an event loop (TCPServer, TimerService, ...) take it in
// their constructor, as a *reactor.Reactor or a clock.Clock: there is no
// global reactor, and a test passes a fake clock. Like the rest of Twist,
// a service tree belongs to one loop: start, stop and change it from there.
//
// Ready services log through slog.Default(); twistd sets it up.
//
// Twisted names map to Go names as follows: setServiceParent and
// disownServiceParent are the functions SetServiceParent and
// DisownServiceParent, IServiceCollection is Collection, the Process
// component of an Application is its UID and GID fields.
package service
