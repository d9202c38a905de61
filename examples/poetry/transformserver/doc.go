// Command transformserver is the Twisted introduction's poetry transform
// server: a client sends one netstring "name.poem" and gets back the
// netstring of the poem transformed by name ("cummingsify": the poem in
// lower case), after which the server hangs up; an unknown transform gets no
// answer. getpoetry -transform is its client.
//
//	go run ./examples/poetry/transformserver [--port 11000] [--iface localhost]
package main
