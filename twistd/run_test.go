package twistd

import (
	"bytes"
	"flag"
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
		{"help", []string{"--help"}, 0, []string{"-nodaemon", "-pidfile", "testplugin"}},
		{"unknown plugin", []string{"-n", "nosuch"}, 2, []string{`unknown plugin "nosuch"`, "testplugin"}},
		{"plugin help", []string{"testplugin", "--help"}, 0, []string{"a plugin for tests", "-answer", "(default 42)"}},
		{"bad plugin flag", []string{"-n", "testplugin", "--question"}, 2, []string{"-question"}},
		{"extra arguments", []string{"-n", "testplugin", "extra"}, 2, []string{"unexpected arguments"}},
		{"bad log format", []string{"-n", "--log-format", "xml", "testplugin"}, 2, []string{"text or json"}},
		{"bad twistd flag", []string{"--nosuch", "testplugin"}, 2, []string{"-nosuch"}},
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
