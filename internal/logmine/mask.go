package logmine

import "strings"

// Wildcard stands for a variable part of a template.
const Wildcard = "<*>"

// Byte classes for the tokenizer; a table keeps the per-byte work to one load.
const (
	clsAlpha = 1 << iota
	clsDigit
	clsSpace
	clsSpecial // bytes that need a closer look: / @ \ "
	clsJoin    // separators that glue adjacent variables into one ("10.0.0.1:80" → one <*>)
	clsDot
)

var byteClass [256]uint8

// Punctuation sets as tables: strings.IndexByte on a constant set costs a call per byte.
var (
	openPunct  = byteSet("([{<\"'=")
	closePunct = byteSet(")]}>\"',;:.")
	trailPunct = byteSet("),;:.]")
)

func byteSet(chars string) (t [256]bool) {
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return t
}

func init() {
	for c := 'a'; c <= 'z'; c++ {
		byteClass[c] = clsAlpha
		byteClass[c-'a'+'A'] = clsAlpha
	}
	for c := '0'; c <= '9'; c++ {
		byteClass[c] = clsDigit
	}
	// Control bytes separate tokens too; 0x1f also joins tokens in the exact-match key.
	for c := 0; c < ' '; c++ {
		byteClass[c] = clsSpace
	}
	byteClass[' '] = clsSpace
	for _, c := range "/@\\\"" {
		byteClass[c] |= clsSpecial
	}
	for _, c := range ".:,-_/#@+|;~" {
		byteClass[c] |= clsJoin
	}
	byteClass['.'] |= clsDot
}

// headline is the part of a record that identifies its event: the first line, or for a Python traceback
// the final "XError: msg" line (its first line is always the same).
func headline(text string) string {
	nl := strings.IndexByte(text, '\n')
	if nl < 0 {
		return text
	}
	first := text[:nl]
	if strings.HasSuffix(first, "Traceback (most recent call last):") {
		last := text[strings.LastIndexByte(text, '\n')+1:]
		prefix := strings.TrimSpace(strings.TrimSuffix(first, "Traceback (most recent call last):"))
		if prefix != "" {
			return prefix + " " + last
		}
		return last
	}
	return first
}

// maskQuoted masks the inside of a quoted span tok[open+1:close]; a leading verb in capitals (an HTTP
// method) stays because it tells requests apart.
func (z *tokenizer) maskQuoted(tok string, open, close int) string {
	inner := tok[open+1 : close]
	keep := ""
	if sp := strings.IndexByte(inner, ' '); sp >= 3 && sp <= 7 {
		word := inner[:sp]
		upper := true
		for i := 0; i < len(word); i++ {
			if word[i] < 'A' || word[i] > 'Z' {
				upper = false
				break
			}
		}
		if upper {
			keep = word + " "
		}
	}
	pre, post := z.maskToken(tok[:open+1]), z.maskToken(tok[close:])
	out := z.out[:0]
	out = append(out, pre...)
	out = append(out, keep...)
	out = append(out, Wildcard...)
	out = append(out, post...)
	z.out = out
	return z.internBytes(out)
}

func trimPunct(tok string) (lead, core, trail string) {
	i := 0
	for i < len(tok) && openPunct[tok[i]] {
		i++
	}
	j := len(tok)
	for j > i && closePunct[tok[j-1]] {
		j--
	}
	return tok[:i], tok[i:j], tok[j:]
}

// isWholeVariable reports tokens that are variables as a unit: URLs, file paths, e-mail addresses.
func isWholeVariable(core string) bool {
	if len(core) < 3 {
		return false
	}
	if strings.Contains(core, "://") {
		return true
	}
	if (core[0] == '/' || strings.HasPrefix(core, "./") || strings.HasPrefix(core, "~/")) &&
		strings.Count(core, "/") >= 2 {
		return true
	}
	if len(core) > 3 && isAlpha(core[0]) && core[1] == ':' && core[2] == '\\' {
		return true // C:\Windows\...
	}
	if at := strings.IndexByte(core, '@'); at > 0 && strings.IndexByte(core[at:], '.') > 1 {
		for k := 0; k < at; k++ {
			c := core[k]
			if !(isAlpha(c) || isDigit(c) || c == '.' || c == '_' || c == '-' || c == '+') {
				return false
			}
		}
		return true
	}
	return false
}

// maskToken replaces the variable parts of one whitespace-free token. Alphanumeric runs containing a
// digit are variables (numbers, hex, UUID parts, IP octets, versions, durations like "12ms"); variables
// separated only by punctuation merge into one ("10.0.0.1:8080", UUIDs, dates); a sign before a number
// is part of it. Paths, URLs and e-mail addresses become one variable, keeping a `key=` prefix.
func (z *tokenizer) maskToken(tok string) string {
	if lead, core, trail := trimPunct(tok); isWholeVariable(core) {
		out := append(z.out[:0], lead...)
		out = append(out, Wildcard...)
		out = append(out, trail...)
		z.out = out
		return z.internBytes(out)
	}
	// key=value: mask the value on its own so "path=/a/b" keeps "path=".
	if eq := strings.IndexByte(tok, '='); eq > 0 && eq < len(tok)-1 {
		lead, core, trail := trimPunct(tok[eq+1:])
		if isWholeVariable(core) {
			out := append(z.out[:0], tok[:eq+1]...)
			out = append(out, lead...)
			out = append(out, Wildcard...)
			out = append(out, trail...)
			z.out = out
			return z.internBytes(out)
		}
	}
	out := z.out[:0]
	changed := false
	i := 0
	lastVarEnd := -1 // len(out) right after the last emitted wildcard
	for i < len(tok) {
		c := tok[i]
		cl := byteClass[c]
		if cl&(clsAlpha|clsDigit) == 0 {
			out = append(out, c)
			i++
			continue
		}
		j := i
		hasDigit := false
		if isUUIDAt(tok, i) {
			j, hasDigit = i+36, true
		} else {
			for j < len(tok) && byteClass[tok[j]]&(clsAlpha|clsDigit) != 0 {
				if byteClass[tok[j]]&clsDigit != 0 {
					hasDigit = true
				}
				j++
			}
		}
		if (!hasDigit && !(j-i >= 8 && allHex(tok[i:j]))) || isNamedUnit(tok[i:j]) {
			out = append(out, tok[i:j]...)
			i = j
			continue
		}
		changed = true
		// Glue to a previous wildcard when only join punctuation lies between.
		if lastVarEnd >= 0 && gluesValues(out[lastVarEnd:]) {
			out = out[:lastVarEnd]
		} else {
			// Absorb a sign: "-64", "blk_-123", "+0.5".
			if n := len(out); n > 0 && (out[n-1] == '-' || out[n-1] == '+') &&
				(n == 1 || byteClass[out[n-2]]&(clsAlpha|clsDigit) == 0) {
				out = out[:n-1]
			}
			out = append(out, Wildcard...)
		}
		lastVarEnd = len(out)
		i = j
	}
	z.out = out
	if !changed {
		return tok
	}
	return z.internBytes(out)
}

// maskDotted masks host and qualified names ("5.36.59.76.dsl.example.net", "tcpconn6.tencent.com:443",
// "rhost=ns.example.com") as one value; "" when tok is not one.
func (z *tokenizer) maskDotted(tok string) string {
	prefix := ""
	if eq := strings.IndexByte(tok, '='); eq > 0 {
		prefix, tok = tok[:eq+1], tok[eq+1:]
	}
	lead, core, trail := trimPunct(tok)
	// A value after "key=" may be a short host name ("rhost=example.com").
	if !isDottedName(core) && !(prefix != "" && strings.Count(core, ".") == 1 && isDottedName("x."+core)) {
		return ""
	}
	if !strings.ContainsAny(core, "0123456789") {
		// Without numbers only a host name counts ("ns.example.com"), not a constant like
		// "android.intent.action.SCREEN_ON" or a Java class.
		label := core[strings.LastIndexByte(core, '.')+1:]
		if p := strings.IndexByte(label, ':'); p >= 0 {
			label = label[:p]
		}
		if len(label) < 2 || len(label) > 6 {
			return ""
		}
		for i := 0; i < len(label); i++ {
			if label[i] < 'a' || label[i] > 'z' {
				return ""
			}
		}
	}
	out := append(z.out[:0], prefix...)
	out = append(out, lead...)
	out = append(out, Wildcard...)
	out = append(out, trail...)
	z.out = out
	return z.internBytes(out)
}

// isDottedName: at least two dots, one of them between letters, and no spaces or slashes (so not a
// path, a sentence or a version).
func isDottedName(s string) bool {
	dots, letterDot := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			dots++
			if i > 0 && i+1 < len(s) && isAlpha(s[i-1]) && isAlpha(s[i+1]) {
				letterDot = true
			}
		case c == '/' || c == '\\' || c == '(' || c == ')' || c == '[' || c == ']' || c == '"' || c == '=' || c == ',':
			return false
		}
	}
	return dots >= 2 && letterDot
}

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// isUUIDAt matches 8-4-4-4-12 hex digits at s[i:] (UUID parts may lack digits: "-bdcc-").
func isUUIDAt(s string, i int) bool {
	if len(s)-i < 36 || (len(s)-i > 36 && isHex(s[i+36])) {
		return false
	}
	for k := 0; k < 36; k++ {
		c := s[i+k]
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if c != '-' {
				return false
			}
		} else if !isHex(c) {
			return false
		}
	}
	return true
}

// isDateWord: month and weekday abbreviations, variables when next to a number ("Fri Jun 17 07:07:00").
func isDateWord(s string) bool {
	if len(s) != 3 {
		return false
	}
	if _, ok := monthAbbr[s]; ok {
		return true
	}
	return isWeekday(s)
}

// maskDates turns month/weekday names adjacent to a wildcard token into wildcards.
func (z *tokenizer) maskDates() {
	for i, t := range z.toks {
		if !isDateWord(t) {
			continue
		}
		if (i > 0 && z.toks[i-1] == Wildcard) || (i+1 < len(z.toks) && (z.toks[i+1] == Wildcard || isDateWord(z.toks[i+1]))) {
			z.toks[i] = Wildcard
		}
	}
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// hasHexRun: some alphanumeric run of 8+ characters is all hex ("ffffffff", "deadbeef").
func hasHexRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		switch {
		case isHex(s[i]):
			run++
			if run >= 8 && (i+1 == len(s) || !(isAlpha(s[i+1]) || isDigit(s[i+1]))) {
				return true
			}
		case isAlpha(s[i]) || isDigit(s[i]):
			for i+1 < len(s) && (isAlpha(s[i+1]) || isDigit(s[i+1])) {
				i++
			}
			run = 0
		default:
			run = 0
		}
	}
	return false
}

// isNamedUnit: letters then one digit, like "eth0", "ssh2", "SOCKS5", "utf8": names, not values.
func isNamedUnit(s string) bool {
	n := len(s)
	if n < 3 || !isDigit(s[n-1]) {
		return false
	}
	for i := 0; i < n-1; i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}

// gluesValues: what lies between two masked parts keeps them one value: join punctuation, possibly
// around a one- or two-letter tag ("attempt_1445_0020_m_000000_0" → "attempt_<*>").
func gluesValues(b []byte) bool {
	if len(b) == 0 || byteClass[b[0]]&clsJoin == 0 || byteClass[b[len(b)-1]]&clsJoin == 0 {
		return false
	}
	run := 0
	for _, c := range b {
		switch {
		case byteClass[c]&clsJoin != 0:
			run = 0
		case isAlpha(c):
			run++
			if run > 2 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
