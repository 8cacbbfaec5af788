package acl

// Match reports whether s matches the glob pattern as Redis's
// stringmatchlen does: * and ? and [...] (with ^ and ranges), and \ to
// quote the next byte.
//
// It backtracks only to the last star seen, so it runs in
// O(len(pattern)*len(s)): a later star can absorb whatever an earlier one
// would have, so retrying earlier stars never finds a match the last one
// missed. Redis 7.0.9 (CVE-2022-36021) stops the same exponential
// backtracking, which a user with a pattern like "*a*a*a*b" could
// otherwise trigger with one long key.
func Match(pattern string, s []byte) bool {
	p, i := 0, 0
	star, starI := -1, 0 // pattern index just after the last star, and where in s it began
	for i < len(s) {
		if p < len(pattern) {
			if pattern[p] == '*' {
				for p < len(pattern) && pattern[p] == '*' {
					p++
				}
				if p == len(pattern) {
					return true
				}
				star, starI = p, i
				continue
			}
			if rest, ok := matchByte(pattern[p:], s[i]); ok {
				p = len(pattern) - len(rest)
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		starI++
		p, i = star, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchByte matches c against the pattern's first element (not a star)
// and returns the pattern after it.
func matchByte(pattern string, c byte) (string, bool) {
	switch pattern[0] {
	case '?':
		return pattern[1:], true
	case '[':
		return matchClass(pattern[1:], c)
	case '\\':
		if len(pattern) >= 2 {
			pattern = pattern[1:]
		}
	}
	return pattern[1:], pattern[0] == c
}

// matchClass matches c against the class whose text follows '[', and
// returns the pattern after its ']'.
func matchClass(p string, c byte) (string, bool) {
	not := len(p) > 0 && p[0] == '^'
	if not {
		p = p[1:]
	}
	match := false
	for len(p) > 0 && p[0] != ']' {
		switch {
		case p[0] == '\\' && len(p) >= 2:
			match = match || p[1] == c
			p = p[2:]
		case len(p) >= 3 && p[1] == '-':
			lo, hi := p[0], p[2]
			if lo > hi {
				lo, hi = hi, lo
			}
			match = match || lo <= c && c <= hi
			p = p[3:]
		default:
			match = match || p[0] == c
			p = p[1:]
		}
	}
	if len(p) > 0 {
		p = p[1:] // the ']'
	}
	return p, match != not
}
