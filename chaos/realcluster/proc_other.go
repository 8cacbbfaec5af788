//go:build !linux

package realcluster

import "syscall"

// procAttr puts a node in a process group of its own, so that a kill
// reaches everything it started. Only Linux also kills it when the runner
// dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
