//go:build unix

package twistd

import (
	"io"
	"log/syslog"
)

// openSyslog returns a writer to the system log, tagged with prefix.
func openSyslog(prefix string) (io.WriteCloser, error) {
	return syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, prefix)
}
