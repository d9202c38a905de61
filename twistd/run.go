package twistd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/twistgo/twist/deferred"
	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
)

// DefaultShutdownTimeout is how long twistd waits for its services to stop
// after a signal before it exits anyway.
const DefaultShutdownTimeout = 30 * time.Second

// Main runs twistd with the program's arguments and exits with its status:
// 0 after a clean run (or a daemon that started), 1 when the server could
// not start or was stopped by a second signal, 2 for a usage error. A program
// that imports plugin packages and calls Main is a twistd with those plugins:
//
//	import _ "example.com/myplugin"
//
//	func main() { twistd.Main() }
func Main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are twistd's own flags, those before the plugin name.
type options struct {
	noDaemon        bool
	pidFile         string
	logFile         string
	logFormat       string
	rotateLength    int64
	daily           bool
	maxRotated      int
	syslog          bool
	prefix          string
	uid, gid        string
	shutdownTimeout time.Duration
	umask           string
	rundir          string
	noSave          bool
	version         bool
	statusAddr      string
	statusAuth      string
}

// daemonUmask is the file creation mask of a daemon without --umask, as
// Twisted's.
const daemonUmask = 0o077

// shortForms maps each of twistd's long options that has a short form to
// it. The flag package has no aliases: the short form is a second flag on
// the same value, which printFlags shows beside the long one.
var shortForms = map[string]string{"nodaemon": "n", "no_save": "o", "logfile": "l", "uid": "u", "gid": "g", "rundir": "d"}

// flagSet returns twistd's flag set, bound to o. The flag package accepts
// -name and --name alike. A word in backquotes in a usage is the name of the
// option's argument in the help.
func (o *options) flagSet(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("twistd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.noDaemon, "nodaemon", false, "run in the foreground instead of as a daemon")
	fs.StringVar(&o.pidFile, "pidfile", "twistd.pid", "`file` recording the process id; \"\" for none")
	fs.StringVar(&o.logFile, "logfile", "", "log to this `file`; \"-\" is standard error, the default with -n; twistd.log by default as a daemon")
	fs.StringVar(&o.logFormat, "log-format", "text", "log line `format`: text (Twisted's) or json")
	fs.Int64Var(&o.rotateLength, "log-rotate-length", DefaultRotateLength, "rotate the log file past this size in `bytes`; 0 never")
	fs.BoolVar(&o.daily, "log-daily", false, "rotate the log file daily instead of by size")
	fs.IntVar(&o.maxRotated, "log-max-rotated", DefaultMaxRotated, "number of rotated log files to keep; 0 keeps all")
	fs.BoolVar(&o.syslog, "syslog", false, "log to syslog instead of a file")
	fs.StringVar(&o.prefix, "prefix", "twisted", "syslog `tag`")
	fs.StringVar(&o.uid, "uid", "", "`user` (name or id) to switch to once the services have started")
	fs.StringVar(&o.gid, "gid", "", "`group` (name or id) to switch to once the services have started")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "how long to wait for the services to stop")
	fs.StringVar(&o.umask, "umask", "", "file creation `mask` (octal) to apply; 0077 for a daemon unless given")
	fs.StringVar(&o.rundir, "rundir", ".", "`directory` to change to before running")
	fs.BoolVar(&o.noSave, "no_save", false, "do not save state on shutdown (Twisted's; Twist saves no state, so it is always so)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	o.addStatusFlags(fs)
	for long, short := range shortForms {
		f := fs.Lookup(long)
		fs.Var(f.Value, short, f.Usage)
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: twistd [options] PLUGIN [plugin options]")
		fmt.Fprintln(w, "\nOptions:")
		printFlags(w, fs, shortForms)
		listPlugins(w)
	}
	return fs
}

// printFlags writes fs's flags one a line, in two columns: the names with
// the argument, and the usage with the default unless it is the zero value.
// A flag that is the short form of another (shortForms maps long names to
// short ones) is shown beside it, "-n, --nodaemon", not on a line of its own.
func printFlags(w io.Writer, fs *flag.FlagSet, shortForms map[string]string) {
	isShort := make(map[string]bool, len(shortForms))
	for _, short := range shortForms {
		isShort[short] = true
	}
	// Long names line up after the short forms, when there are any.
	indent := ""
	if len(shortForms) > 0 {
		indent = "    "
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if isShort[f.Name] {
			return
		}
		names := indent + "--" + f.Name
		if short, ok := shortForms[f.Name]; ok {
			names = "-" + short + ", --" + f.Name
		}
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			names += " " + arg
		}
		switch def := f.DefValue; {
		case def == "" || def == "false" || def == "0" || def == "0s":
		case isString(f):
			usage += fmt.Sprintf(" (default %q)", def)
		default:
			usage += " (default " + def + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", names, usage)
	})
	tw.Flush()
}

// isString reports whether f holds a string, whose default the help quotes.
func isString(f *flag.Flag) bool {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	_, ok = g.Get().(string)
	return ok
}

// listPlugins writes the registered plugins, one a line with its description.
func listPlugins(w io.Writer) {
	fmt.Fprintln(w, "\nPlugins:")
	for _, sm := range Plugins() {
		fmt.Fprintf(w, "  %-14s %s\n", sm.Name, sm.Description)
	}
	fmt.Fprintln(w, "\nRun twistd PLUGIN --help for a plugin's options.")
}

// run is Main without the exit, writing its messages to stderr.
func run(args []string, stderr io.Writer) int {
	var o options
	fs := o.flagSet(stderr)
	if err := fs.Parse(expandShort(fs, args)); err != nil {
		return usageStatus(err)
	}
	if o.version {
		fmt.Fprintf(stderr, "twistd (Twist) %s (%s %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	umask := -1
	if o.umask != "" {
		m, err := strconv.ParseUint(o.umask, 8, 32)
		if err != nil || m > 0o777 {
			fmt.Fprintf(stderr, "twistd: --umask must be an octal mask such as 022, not %q\n", o.umask)
			return 2
		}
		umask = int(m)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	name := fs.Arg(0)
	sm, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "twistd: unknown plugin %q\n", name)
		listPlugins(stderr)
		return 2
	}
	pfs := flag.NewFlagSet("twistd "+name, flag.ContinueOnError)
	pfs.SetOutput(stderr)
	pfs.Usage = func() {
		fmt.Fprintf(pfs.Output(), "Usage: twistd [options] %s [options]\n\n%s\n\nOptions:\n", name, sm.Description)
		printFlags(pfs.Output(), pfs, nil)
	}
	mk := sm.Flags(pfs)
	o.addStatusFlags(pfs)
	if err := pfs.Parse(fs.Args()[1:]); err != nil {
		return usageStatus(err)
	}
	if pfs.NArg() > 0 {
		fmt.Fprintf(stderr, "twistd %s: unexpected arguments %q\n", name, pfs.Args())
		return 2
	}
	if o.statusAddr != "" && getStatusPage() == nil {
		printErr(stderr, errNoStatusPage)
		return 2
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		fmt.Fprintf(stderr, "twistd: --log-format must be text or json, not %q\n", o.logFormat)
		return 2
	}
	pipe := daemonChild()
	if umask < 0 && pipe != nil {
		umask = daemonUmask
	}
	if umask >= 0 {
		if err := setUmask(umask); err != nil {
			printErr(stderr, err)
			return 2
		}
	}
	if !o.noDaemon && pipe == nil {
		if err := daemonize(args); err != nil {
			printErr(stderr, err)
			return 1
		}
		return 0
	}
	return serve(&o, name, mk, pipe, stderr)
}

// expandShort splits combined short options as getopt, and so Twisted,
// allows: "-no" is "-n -o", and a short option that takes a value may come
// last, with its value joined ("-nlfile") or next. It stops at the first
// argument that is not an option: the plugin's name.
func expandShort(fs *flag.FlagSet, args []string) []string {
	isShort := make(map[string]bool, len(shortForms))
	for _, short := range shortForms {
		isShort[short] = true
	}
	takesValue := func(f *flag.Flag) bool {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		return !ok || !b.IsBoolFlag()
	}
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		if f := fs.Lookup(name); f != nil || strings.Contains(name, "=") || strings.HasPrefix(a, "--") {
			out = append(out, a)
			if f != nil && takesValue(f) && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		for j, c := range name {
			f := fs.Lookup(string(c))
			if f == nil || !isShort[string(c)] {
				out = append(out, "-"+name[j:]) // not combined options: the parser reports it
				break
			}
			out = append(out, "-"+string(c))
			if takesValue(f) {
				if rest := name[j+1:]; rest != "" {
					out = append(out, rest)
				} else if i+1 < len(args) {
					i++
					out = append(out, args[i])
				}
				break
			}
		}
	}
	return out
}

// printErr writes err to w as "twistd: ...", without doubling the prefix
// of the package's own errors.
func printErr(w io.Writer, err error) {
	msg := err.Error()
	if !strings.HasPrefix(msg, "twistd: ") {
		msg = "twistd: " + msg
	}
	fmt.Fprintln(w, msg)
}

// usageStatus is the exit status for a flag parsing error: 0 for -help,
// which is not an error, and 2 otherwise.
func usageStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// readyOK is what a daemon child writes on its pipe once its services
// have started; anything else is the error that stopped it.
const readyOK = "ok"

// report tells a daemon's waiting parent the outcome of its start, nil for
// success; pipe is nil in the foreground.
func report(pipe *os.File, err error) {
	if pipe == nil {
		return
	}
	msg := readyOK
	if err != nil {
		msg = err.Error()
	}
	fmt.Fprintln(pipe, msg)
	pipe.Close()
}

// serve runs the plugin's service until a signal stops it, and returns the
// exit status. pipe is the daemon child's report pipe, or nil.
func serve(o *options, name string, mk MakeService, pipe *os.File, stderr io.Writer) int {
	fail := func(err error) int {
		report(pipe, err)
		printErr(stderr, err)
		return 1
	}
	if err := os.Chdir(o.rundir); err != nil {
		return fail(fmt.Errorf("cannot change to the run directory: %w", err))
	}
	uid, err := lookupID(o.uid, false)
	if err != nil {
		return fail(err)
	}
	gid, err := lookupID(o.gid, true)
	if err != nil {
		return fail(err)
	}
	// The pid file comes first, so that a refused twistd does not touch
	// the log of the running one.
	if o.pidFile != "" {
		if err := WritePIDFile(o.pidFile); err != nil {
			return fail(err)
		}
		defer RemovePIDFile(o.pidFile)
	}
	logger, logs, err := o.openLog(pipe != nil, stderr)
	if err != nil {
		return fail(err)
	}
	defer logs.Close()
	slog.SetDefault(logger)

	logger.Info("Log opened.")
	logger.Info(fmt.Sprintf("twistd %s (%s %s/%s) starting up.", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH))
	loop, err := reactor.New(reactor.WithLogger(logger))
	if err != nil {
		logger.Error(err.Error())
		return fail(err)
	}
	rt := reflect.TypeOf(loop).Elem()
	logger.Info(fmt.Sprintf("reactor class: %s.%s.", rt.PkgPath(), rt.Name()))

	app := service.NewApplication(name)
	app.UID, app.GID = uid, gid
	svc, err := mk(loop)
	if err == nil {
		err = service.SetServiceParent(svc, app)
	}
	if err == nil && o.statusAddr != "" {
		var st service.Service
		if st, err = getStatusPage().Service(loop, svc, o.statusAddr, o.statusAuth); err == nil {
			err = service.SetServiceParent(st, app)
		}
	}
	if err != nil {
		loop.Close()
		logger.Error(err.Error())
		return fail(err)
	}

	var startErr error
	loop.CallWhenRunning(func() {
		startErr = app.StartService()
		if startErr == nil {
			startErr = dropPrivileges(app.UID, app.GID)
		}
		if startErr != nil {
			logger.Error(startErr.Error())
			loop.Stop()
		}
		report(pipe, startErr)
	})
	loop.AddSystemEventTrigger(reactor.Before, "shutdown", func() *deferred.Deferred {
		return stopWithin(loop, app, o.shutdownTimeout, logger)
	})

	stopSignals := handleSignals(loop, logger, logs, o.pidFile)
	defer stopSignals()
	if err := loop.Run(); err != nil {
		logger.Error(err.Error())
		return fail(err)
	}
	logger.Info("Main loop terminated.")
	logger.Info("Server Shut Down.")
	if startErr != nil {
		printErr(stderr, startErr)
		return 1
	}
	return 0
}

// stopWithin stops app and returns a Deferred that fires when it has
// stopped, or after timeout if it has not, so that a service that never
// finishes stopping cannot keep the process alive.
func stopWithin(loop *reactor.Reactor, app service.Service, timeout time.Duration, logger *slog.Logger) *deferred.Deferred {
	done := deferred.New()
	timer := loop.CallLater(timeout, func() {
		logger.Warn(fmt.Sprintf("Services did not stop within %v; shutting down anyway.", timeout))
		done.Callback(nil)
	})
	stopped := app.StopService()
	if stopped == nil {
		stopped = deferred.Succeed(nil)
	}
	stopped.AddBoth(func(result any) (any, error) {
		if f, ok := result.(*deferred.Failure); ok {
			logger.Error("Stopping the services failed: "+f.Error(), "traceback", f.Traceback())
		}
		if !done.Called() {
			timer.Cancel()
			done.Callback(nil)
		}
		return nil, nil
	})
	return done
}

// handleSignals makes SIGINT and SIGTERM stop the loop, a second one exit
// the process at once with status 1, and SIGHUP reopen the log file. It
// returns the function that stops the handling.
func handleSignals(loop *reactor.Reactor, logger *slog.Logger, logs *logOutput, pidFile string) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		stopping := false
		for {
			var sig os.Signal
			select {
			case <-done:
				return
			case sig = <-sigs:
			}
			if sig == syscall.SIGHUP {
				if err := logs.Reopen(); err != nil {
					logger.Error("reopening the log on SIGHUP: " + err.Error())
				}
				continue
			}
			name := "SIGTERM"
			if sig == os.Interrupt {
				name = "SIGINT"
			}
			if stopping {
				logger.Warn("Received " + name + " again, exiting at once.")
				if pidFile != "" {
					RemovePIDFile(pidFile)
				}
				os.Exit(1)
			}
			stopping = true
			logger.Info("Received " + name + ", shutting down.")
			// Posted rather than called, so that a signal that comes before
			// the loop runs still stops it once it does.
			loop.CallFromThread(func() { loop.Stop() })
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		<-finished
	}
}

// version returns the version of the main module, as go build records it.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// logOutput is where the log goes: standard error, a LogFile or syslog.
type logOutput struct {
	file   *LogFile  // nil unless logging to a file
	closer io.Closer // nil for standard error
}

// Reopen reopens the log file, if the log goes to one.
func (l *logOutput) Reopen() error {
	if l.file == nil {
		return nil
	}
	return l.file.Reopen()
}

// Close closes the log's destination.
func (l *logOutput) Close() error {
	if l.closer == nil {
		return nil
	}
	return l.closer.Close()
}

// openLog opens the log destination the options name and returns a logger
// on it. A daemon logs to twistd.log unless told otherwise, as its standard
// error goes nowhere.
func (o *options) openLog(daemon bool, stderr io.Writer) (*slog.Logger, *logOutput, error) {
	out := &logOutput{}
	var w io.Writer
	path := o.logFile
	if path == "" && daemon {
		path = "twistd.log"
	}
	switch {
	case o.syslog:
		sw, err := openSyslog(o.prefix)
		if err != nil {
			return nil, nil, err
		}
		w, out.closer = sw, sw
	case path == "" || path == "-":
		w = stderr
	default:
		lf, err := OpenLogFile(path, LogFileOptions{
			RotateLength: o.rotateLength,
			Daily:        o.daily,
			MaxRotated:   o.maxRotated,
		})
		if err != nil {
			return nil, nil, err
		}
		w, out.file, out.closer = lf, lf, lf
	}
	var h slog.Handler
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(w, nil)
	} else {
		h = NewTextHandler(w, &TextHandlerOptions{OmitTime: o.syslog})
	}
	if o.statusAddr != "" {
		h = getStatusPage().WrapLog(h)
	}
	return slog.New(h), out, nil
}
