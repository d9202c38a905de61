//go:build !unix

package twistd

import (
	"errors"
	"runtime"
)

var errNoIDs = errors.New("-u and -g are not supported on " + runtime.GOOS)

// lookupID accepts only "": there are no user ids to switch to here.
func lookupID(s string, group bool) (int, error) {
	if s == "" {
		return -1, nil
	}
	return 0, errNoIDs
}

// dropPrivileges is never reached with ids, as lookupID refuses them.
func dropPrivileges(uid, gid int) error {
	if uid >= 0 || gid >= 0 {
		return errNoIDs
	}
	return nil
}
