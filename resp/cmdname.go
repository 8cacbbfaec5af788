package resp

import "strings"

// commandNames maps each command of the table to its lower-case name, so
// that naming a command (every command a connection runs is named, for
// its metrics and CLIENT LIST) costs a map lookup rather than two
// allocations (the string, then its lower-case copy). The table's init
// fills it in (namesOf), since the table itself is filled in by init.
var commandNames map[string]string

func namesOf(table []*command) map[string]string {
	m := make(map[string]string, len(table))
	for _, c := range table {
		m[c.name] = c.name
	}
	return m
}

// commandName returns name in lower case, as strings.ToLower would.
func commandName(name []byte) string {
	var buf [24]byte
	if len(name) <= len(buf) {
		low := buf[:len(name)]
		for i, b := range name {
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			low[i] = b
		}
		if s, ok := commandNames[string(low)]; ok {
			return s
		}
	}
	return strings.ToLower(string(name))
}
