//go:build mutants

package mutant

import "fmt"

// Enabled says whether this binary was built with the mutants tag.
const Enabled = true

// selected is the one mutant switched on in this process: set once by
// Select before any run, read by every On.
var selected Name

// On reports whether the planted bug name is switched on.
func On(name Name) bool { return name == selected }

// Select switches on the planted bug name for the rest of the process
// ("" switches every one off). Call it before the simulator runs.
func Select(name Name) error {
	if name != "" {
		if _, ok := Lookup(string(name)); !ok {
			return fmt.Errorf("no mutant %q", name)
		}
	}
	selected = name
	return nil
}
