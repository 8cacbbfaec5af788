package kv

// Match reports whether s matches the glob pattern as Redis 7.0's
// stringmatchlen does (KEYS, SCAN MATCH, CONFIG GET): * ? [...] [^...]
// [a-z] and \ escapes, with C's signed chars in ranges and its reads of
// the NUL after the pattern's end, so that odd patterns match what they
// match in Redis.
func Match(pattern, s []byte, nocase bool) bool {
	skip := false
	return match(pattern, s, nocase, &skip)
}

// at is pattern[i], or the NUL a C string has after its end.
func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func lower(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func match(p, s []byte, nocase bool, skipLonger *bool) bool {
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && at(p, 1) == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if match(p[1:], s, nocase, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			p = p[1:]
			not := at(p, 0) == '^'
			if not {
				p = p[1:]
			}
			matched := false
			// back is set when the class ran off the pattern's end: C
			// steps back onto its last byte.
			for {
				if at(p, 0) == '\\' && len(p) >= 2 {
					p = p[1:]
					if p[0] == s[0] {
						matched = true
					}
				} else if at(p, 0) == ']' && len(p) > 0 {
					break
				} else if len(p) == 0 {
					break
				} else if len(p) >= 3 && p[1] == '-' {
					lo, hi, c := int(int8(p[0])), int(int8(p[2])), int(int8(s[0]))
					if lo > hi {
						lo, hi = hi, lo
					}
					if nocase {
						lo, hi, c = lower(lo), lower(hi), lower(c)
					}
					p = p[2:]
					if c >= lo && c <= hi {
						matched = true
					}
				} else if !nocase && p[0] == s[0] || nocase && lower(int(p[0])) == lower(int(s[0])) {
					matched = true
				}
				p = p[1:]
			}
			if not {
				matched = !matched
			}
			if !matched {
				return false
			}
			s = s[1:]
			if len(p) == 0 {
				// C stepped back onto the last byte, and steps past it
				// below: the pattern is used up either way.
				if len(s) == 0 {
					return true
				}
				return false
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if !nocase && p[0] != s[0] || nocase && lower(int(p[0])) != lower(int(s[0])) {
				return false
			}
			s = s[1:]
		}
		p = p[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}
