//go:build unix

package twistd

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// lookupID turns a user or group name, or a number, into an id; "" is -1.
func lookupID(s string, group bool) (int, error) {
	if s == "" {
		return -1, nil
	}
	if id, err := strconv.Atoi(s); err == nil {
		return id, nil
	}
	var idStr string
	if group {
		g, err := user.LookupGroup(s)
		if err != nil {
			return 0, err
		}
		idStr = g.Gid
	} else {
		u, err := user.Lookup(s)
		if err != nil {
			return 0, err
		}
		idStr = u.Uid
	}
	return strconv.Atoi(idStr)
}

// dropPrivileges switches the process to gid and uid (-1 leaves one alone),
// the group first, while we still have the right to change it. Since Go 1.16
// syscall.Setuid and Setgid apply to every thread of the process on Linux.
// Supplementary groups are cleared when the group changes, so that root's
// groups do not stay with the daemon.
func dropPrivileges(uid, gid int) error {
	if gid >= 0 {
		if err := syscall.Setgroups([]int{gid}); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("setgid %d: %w", gid, err)
		}
	}
	if uid >= 0 {
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("setuid %d: %w", uid, err)
		}
	}
	return nil
}
