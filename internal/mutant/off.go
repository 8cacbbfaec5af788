//go:build !mutants

package mutant

import "fmt"

// Enabled says whether this binary was built with the mutants tag.
const Enabled = false

// On is false: a binary built without the mutants tag has no planted bug,
// and the compiler drops every branch On guards.
func On(Name) bool { return false }

// Select fails: there is nothing to select without the mutants tag.
func Select(name Name) error {
	return fmt.Errorf("mutant %q: this binary was built without -tags mutants", name)
}
