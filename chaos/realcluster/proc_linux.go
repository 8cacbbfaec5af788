package realcluster

import "syscall"

// procAttr puts a node in a process group of its own, so that a kill
// reaches everything it started, and has the kernel kill it when the
// runner dies, however it dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
