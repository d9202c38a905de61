// Command getpoetry is the Twisted introduction's Get Poetry Now! client: it
// downloads poems from several servers at once and, once all are done,
// prints each poem, or why it could not be had, in the order of the
// arguments.
//
//	go run ./examples/poetry/getpoetry [-v] [-transform [HOST:]PORT] [HOST:]PORT ...
//
// A bare port means 127.0.0.1. With -v it reports each piece of poetry as it
// arrives; with -transform it has each poem cummingsified by the transform
// server there (see transformserver), keeping the poem as it came if that
// fails.
package main
