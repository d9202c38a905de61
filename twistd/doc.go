// Package twistd is Twisted's twistd runner as a library: it runs a server
// built by a plugin as a service, in the foreground or as a daemon, with a
// pid file, a rotated log file or syslog, privilege dropping and an orderly
// shutdown on SIGINT or SIGTERM.
//
// Plugins are compiled in. A program registers the ServiceMakers it wants
// (its own, and any of the built-in ones of package twistd/plugins) and calls
// Main; a plugin package may also register itself in an init function:
//
//	package main
//
//	import (
//		"github.com/twistgo/twist/twistd"
//		"github.com/twistgo/twist/twistd/plugins"
//	)
//
//	func main() {
//		twistd.Register(plugins.SOCKS)
//		twistd.Main()
//	}
//
// The command line is twistd [options] PLUGIN [plugin options]; run without a
// plugin it lists them, and twistd PLUGIN --help prints a plugin's flags.
// twistd's options are (short ones combine, as in -no):
//
//	-n, --nodaemon      run in the foreground (the default is a daemon)
//	-o, --no_save       accepted for Twisted's sake: Twist saves no state
//	-d, --rundir DIR    directory to change to first ("." by default)
//	--umask MASK        file creation mask, octal; 0077 for a daemon unless given
//	--version           print the version and exit
//	--pidfile FILE      pid file, twistd.pid by default, "" for none
//	-l, --logfile FILE  log file; "-" is standard error, the foreground default
//	--log-format F      text (Twisted's line format) or json
//	--log-rotate-length N, --log-daily, --log-max-rotated N
//	                    rotation of the log file (1 MB and 10 files by default)
//	--syslog, --prefix  log to syslog with a tag
//	-u, --uid / -g, --gid
//	                    user and group to switch to once the services have started
//	--shutdown-timeout  how long to wait for the services to stop (30s)
//
// A daemon is this same program run again (Go has no safe fork) in a new
// session with its standard streams on /dev/null; the first process waits
// until the daemon reports on a pipe that its services have started, and
// exits with status 0, or prints the daemon's error and exits with 1.
//
// The pid file is refused while the process it names lives (checked with
// signal 0), replaced when stale, and removed at exit.
//
// Logging goes through log/slog: twistd installs its logger as
// slog.Default, with a TextHandler whose lines read like Twisted's,
//
//	2026-11-21 10:00:00+0000 [PoetryFactory] sending 3003 bytes of poetry to 127.0.0.1:52144
//
// where the bracketed system is the "system" attribute (see System); the
// level is not shown, as Twisted's format has none. Or with
// slog's JSONHandler for --log-format json. SIGHUP reopens the log file, so
// that after an external log rotator (logrotate) has renamed it, logging goes
// on in a new file under the old name.
//
// On SIGINT or SIGTERM twistd logs "Received SIGTERM, shutting down.", stops
// the services (a MultiService stops its children in the reverse order of
// their start) and waits for the Deferreds their StopService returned, up to
// the shutdown timeout, logs "Server Shut Down.", removes the pid file and
// exits with status 0. Past the timeout it logs that the services did not
// stop in time and goes on the same way, with status 0 too: as in Twisted,
// the reactor stopped and the server shut down. A second signal during the
// wait logs "Received SIGTERM again, exiting at once.", removes the pid file
// and exits at once with status 1, as the shutdown did not finish.
//
// Switching user with -u and -g happens after the services have started, so
// that they can bind privileged ports as root. The caveats: anything a
// service opens later (files, Unix sockets) is opened as the new user; the
// pid file and log file were created as root, so the pid file cannot be
// removed at exit unless its directory lets the new user; and the log file
// cannot be rotated or reopened unless the new user may write there. Since
// Go 1.16 the change applies to every thread of the process on Linux.
// Daemon mode, -u, -g and --syslog exist only on Unix systems.
package twistd
