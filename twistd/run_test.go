package twistd

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/twistgo/twist/reactor"
	"github.com/twistgo/twist/service"
)

func init() {
	Register(ServiceMaker{Name: "testplugin", Description: "a plugin for tests", Flags: func(fs *flag.FlagSet) MakeService {
		fs.Int("answer", 42, "the answer")
		return func(*reactor.Reactor) (service.Service, error) { return &service.Base{}, nil }
	}})
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		status int
		output []string
	}{
		{"no plugin lists the plugins", nil, 2, []string{"Plugins:", "testplugin", "a plugin for tests"}},
		{"help", []string{"--help"}, 0, []string{"-n, --nodaemon ", "    --pidfile file ", `(default "twistd.pid")`, "testplugin"}},
		{"unknown plugin", []string{"-n", "nosuch"}, 2, []string{`unknown plugin "nosuch"`, "testplugin"}},
		{"plugin help", []string{"testplugin", "--help"}, 0, []string{"a plugin for tests", "-answer", "(default 42)"}},
		{"bad plugin flag", []string{"-n", "testplugin", "--question"}, 2, []string{"-question"}},
		{"extra arguments", []string{"-n", "testplugin", "extra"}, 2, []string{"unexpected arguments"}},
		{"bad log format", []string{"-n", "--log-format", "xml", "testplugin"}, 2, []string{"text or json"}},
		{"bad twistd flag", []string{"--nosuch", "testplugin"}, 2, []string{"-nosuch"}},
		{"version", []string{"--version"}, 0, []string{"twistd (Twist) ", runtime.GOOS}},
		{"bad umask", []string{"-n", "--umask", "999", "testplugin"}, 2, []string{"octal"}},
		{"combined short flags with an unknown one", []string{"-nz", "testplugin"}, 2, []string{"-z"}},
		{"status without a page", []string{"-n", "--status", ":0", "testplugin"}, 2, []string{"no status page"}},
		{"status after the plugin without a page", []string{"-n", "testplugin", "--status", ":0"}, 2, []string{"no status page"}},
		{"help shows --status", []string{"--help"}, 0, []string{"--status address ", "--status-auth token "}},
		{"plugin help shows --status", []string{"testplugin", "--help"}, 0, []string{"-status address", "-status-auth token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := run(tt.args, &out); got != tt.status {
				t.Errorf("status %d, want %d; output:\n%s", got, tt.status, out.String())
			}
			for _, want := range tt.output {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestExpandShort(t *testing.T) {
	var o options
	fs := o.flagSet(io.Discard)
	for _, tt := range []struct{ in, want string }{
		{"-no echo", "-n -o echo"},
		{"-nolfile echo --port 1", "-n -o -l file echo --port 1"},
		{"-nl file echo", "-n -l file echo"},
		{"-n -o echo -no", "-n -o echo -no"}, // after the plugin name, the plugin's
		{"--logfile -no echo", "--logfile -no echo"},
		{"--logfile=x -nd /tmp echo", "--logfile=x -n -d /tmp echo"},
		{"-nodaemon echo", "-nodaemon echo"},
		{"-- -no", "-- -no"},
	} {
		if got := strings.Join(expandShort(fs, strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("expandShort(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Register(ServiceMaker{Name: "testplugin", Flags: func(*flag.FlagSet) MakeService { return nil }})
}

func TestPluginsSorted(t *testing.T) {
	ps := Plugins()
	for i := 1; i < len(ps); i++ {
		if ps[i-1].Name >= ps[i].Name {
			t.Fatalf("not sorted: %q before %q", ps[i-1].Name, ps[i].Name)
		}
	}
}

// TestHelpShowsShortFormsBesideLongOnes checks that each option has one line
// in the help, the short form beside the long one.
func TestHelpShowsShortFormsBesideLongOnes(t *testing.T) {
	var out bytes.Buffer
	if status := run([]string{"--help"}, &out); status != 0 {
		t.Fatalf("status %d", status)
	}
	lines := make(map[string]int) // option line by long name, counted
	for line := range strings.Lines(out.String()) {
		fields := strings.Fields(line)
		for _, f := range fields[:min(2, len(fields))] {
			if name, ok := strings.CutPrefix(f, "--"); ok {
				lines[name]++
			}
		}
		if len(fields) > 0 && strings.HasPrefix(fields[0], "-") && !strings.HasPrefix(fields[0], "--") && !strings.HasSuffix(fields[0], ",") {
			t.Errorf("short form on a line of its own: %q", line)
		}
	}
	var o options
	o.flagSet(io.Discard).VisitAll(func(f *flag.Flag) {
		if len(f.Name) > 1 && lines[f.Name] != 1 {
			t.Errorf("--%s on %d lines of the help", f.Name, lines[f.Name])
		}
	})
	for long, short := range shortForms {
		if !strings.Contains(out.String(), "  -"+short+", --"+long+" ") {
			t.Errorf("help lacks -%s, --%s:\n%s", short, long, out.String())
		}
	}
}

func TestShortAndLongFormsSetTheSameOption(t *testing.T) {
	tests := []struct {
		args []string
		get  func(*options) string
		want string
	}{
		{[]string{"-n"}, func(o *options) string { return fmt.Sprint(o.noDaemon) }, "true"},
		{[]string{"--nodaemon"}, func(o *options) string { return fmt.Sprint(o.noDaemon) }, "true"},
		{[]string{"-l", "a.log"}, func(o *options) string { return o.logFile }, "a.log"},
		{[]string{"--logfile=a.log"}, func(o *options) string { return o.logFile }, "a.log"},
		{[]string{"-u", "daemon"}, func(o *options) string { return o.uid }, "daemon"},
		{[]string{"--uid", "daemon"}, func(o *options) string { return o.uid }, "daemon"},
		{[]string{"-g", "adm"}, func(o *options) string { return o.gid }, "adm"},
		{[]string{"--gid", "adm"}, func(o *options) string { return o.gid }, "adm"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var o options
			if err := o.flagSet(io.Discard).Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if got := tt.get(&o); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
