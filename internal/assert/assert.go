// Package assert checks invariants whose failure means the program itself
// is wrong. A broken invariant panics: carrying on would corrupt data.
// Errors that the world can cause (a full disk, a dropped message, a
// malformed request) are returned as values, never asserted.
package assert

import "fmt"

// That panics with why when cond is false.
func That(cond bool, why string, args ...any) {
	if !cond {
		panic("seshat: invariant broken: " + fmt.Sprintf(why, args...))
	}
}
