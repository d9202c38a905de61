//go:build unix

package twistd

import (
	"io"
	"log/syslog"
)

// syslogNetwork and syslogAddr are where openSyslog sends the log: both ""
// is the local syslog daemon. Tests point them at a socket of their own.
var syslogNetwork, syslogAddr string

// openSyslog returns a writer to the system log, tagged with prefix.
func openSyslog(prefix string) (io.WriteCloser, error) {
	return syslog.Dial(syslogNetwork, syslogAddr, syslog.LOG_INFO|syslog.LOG_DAEMON, prefix)
}
