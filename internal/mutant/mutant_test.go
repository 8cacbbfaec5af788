package mutant

import "testing"

// TestBuiltWithoutTagNothingIsOn: the default build holds no planted bug,
// and cannot be talked into one.
func TestBuiltWithoutTagNothingIsOn(t *testing.T) {
	if Enabled {
		t.Skip("built with -tags mutants")
	}
	for _, m := range All {
		if err := Select(m.Name); err == nil {
			t.Errorf("Select(%q) succeeded without -tags mutants", m.Name)
		}
		if On(m.Name) {
			t.Errorf("%q is on without -tags mutants", m.Name)
		}
	}
}

// TestSelectSwitchesOneOn: with the tag, Select switches on exactly the
// mutant it names, and refuses names it does not know.
func TestSelectSwitchesOneOn(t *testing.T) {
	if !Enabled {
		t.Skip("built without -tags mutants")
	}
	defer func() { _ = Select("") }()
	if err := Select("no-such-mutant"); err == nil {
		t.Error("Select accepted an unknown mutant")
	}
	for _, m := range All {
		if err := Select(m.Name); err != nil {
			t.Fatal(err)
		}
		for _, other := range All {
			if On(other.Name) != (other.Name == m.Name) {
				t.Errorf("with %q selected, On(%q) = %v", m.Name, other.Name, On(other.Name))
			}
		}
	}
}

func TestNamesAreUnique(t *testing.T) {
	seen := map[Name]bool{}
	for _, m := range All {
		if seen[m.Name] {
			t.Errorf("mutant %q listed twice", m.Name)
		}
		seen[m.Name] = true
		if m.Area == "" || m.Bug == "" {
			t.Errorf("mutant %q has no area or description", m.Name)
		}
	}
}
