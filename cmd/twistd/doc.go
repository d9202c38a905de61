// Command twistd runs Twist servers as daemons: Twisted's twistd with the
// built-in plugins of package twistd/plugins. See package twistd for the
// options.
//
//	twistd -n fastpoetry --port 10000   # serve a poem in the foreground
//	twistd fastpoetry --port 10000      # the same as a daemon
//	twistd                              # list the plugins
//	twistd socks --help                 # a plugin's options
//
// To make a twistd with plugins of your own, write a main that registers
// them (and any of package plugins) and calls twistd.Main, as this one does.
package main
