// Command twistd runs Twist servers as daemons: Twisted's twistd with the
// plugins compiled in. See package twistd for the options.
//
//	twistd -n fastpoetry --port 10000   # serve a poem in the foreground
//	twistd fastpoetry --port 10000      # the same as a daemon
//	twistd                              # list the plugins
//	twistd socks --help                 # a plugin's options
//
// The built-in plugins are echo, discard, daytime, fastpoetry, slowpoetry,
// portforward, socks and rpc (the demo RPC functions over Twist's framed
// protocol and the MongoDB wire protocol:
// twistd -n rpc --port 9000 --mongo-port 27017). To add your own, write a program that registers
// them and calls twistd.Main, as this one does.
package main
