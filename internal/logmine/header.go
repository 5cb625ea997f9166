package logmine

import (
	"strconv"
	"strings"
	"time"
)

// Line headers: container-runtime and kubectl prefixes, timestamps before the level, level words.

// stripCRI removes the CRI log prefix "<RFC3339Nano> <stdout|stderr> <P|F> ".
func stripCRI(line string) (time.Time, string, bool, bool) {
	sp := strings.IndexByte(line, ' ')
	if sp < 20 || sp > 40 || !isDigit(line[0]) {
		return time.Time{}, "", false, false
	}
	rest := line[sp+1:]
	var stream string
	switch {
	case strings.HasPrefix(rest, "stdout "):
		stream = "stdout "
	case strings.HasPrefix(rest, "stderr "):
		stream = "stderr "
	default:
		return time.Time{}, "", false, false
	}
	rest = rest[len(stream):]
	if len(rest) < 1 || (rest[0] != 'F' && rest[0] != 'P') || (len(rest) > 1 && rest[1] != ' ') {
		return time.Time{}, "", false, false
	}
	t, err := time.Parse(time.RFC3339Nano, line[:sp])
	if err != nil {
		return time.Time{}, "", false, false
	}
	partial := rest[0] == 'P'
	if len(rest) > 1 {
		rest = rest[2:]
	} else {
		rest = ""
	}
	return t, rest, partial, true
}

// paddedLevel: the text after a leading timestamp is padding and a level ("2026-05-04T10:00:00Z  INFO 1
// --- ..." in Spring Boot's console format): the app's own header, not kubectl's prefix on an indented
// continuation line.
func paddedLevel(rest string) bool {
	if rest == "" || rest[0] != ' ' {
		return false
	}
	_, _, ok := stripLevel(strings.TrimLeft(rest, " "))
	return ok
}

// stripKubectlTimestamp removes the "<RFC3339Nano> " prefix of `kubectl logs --timestamps`.
func stripKubectlTimestamp(line string) (time.Time, string, bool) {
	sp := strings.IndexByte(line, ' ')
	if sp < 20 || sp > 40 || !isDigit(line[0]) || line[10] != 'T' {
		return time.Time{}, "", false
	}
	t, err := time.Parse(time.RFC3339Nano, line[:sp])
	if err != nil {
		return time.Time{}, "", false
	}
	return t, line[sp+1:], true
}

// parseHeader extracts time, level and message from the first line of a record.
func parseHeader(s string, depth int) Record {
	if len(s) > 1 && s[0] == '{' && s[len(s)-1] == '}' {
		if rec, ok := parseJSONLine(s, depth); ok {
			return rec
		}
	}
	var rec Record
	if lvl, rest, ok := stripSyslogPRI(s); ok {
		// RFC 5424/3164: the severity is only in the priority; what follows is a usual header.
		inner := parseHeader(rest, depth+1)
		if inner.Level == "" {
			inner.Level = lvl
		}
		return inner
	}
	if t, rest, ok := stripTimestamp(s); ok {
		rec.Time = t
		s = rest
	} else if t, rest, ok := stripEpoch(s); ok {
		rec.Time = t
		s = rest
	} else if lvl, t, rest, ok := stripKlog(s); ok {
		rec.Level, rec.Time = lvl, t
		return Record{Text: rest, Level: lvl, Time: t}
	}
	if strings.Contains(s, "level=") || strings.Contains(s, "lvl=") {
		if lf, ok := parseLogfmt(s); ok {
			if rec.Time.IsZero() {
				rec.Time = lf.Time
			}
			rec.Level, rec.Text = lf.Level, lf.Text
			return rec
		}
	}
	if lvl, rest, ok := stripLevel(s); ok {
		rec.Level = lvl
		s = rest
		// Some formats put the timestamp after the level ("INFO 2024-01-02 ...").
		if rec.Time.IsZero() {
			if t, rest2, ok := stripTimestamp(s); ok {
				rec.Time, s = t, rest2
			}
		}
	}
	if rec.Level == "" {
		switch {
		case strings.HasPrefix(s, "panic: "):
			rec.Level = LevelPanic
		case strings.HasPrefix(s, "fatal error: "):
			rec.Level = LevelFatal
		default:
			rec.Level = levelAfterHeader(s)
		}
	}
	rec.Text = s
	return rec
}

// levelAfterHeader finds a level that follows other header fields: logback's "[main] ERROR c.e.App",
// gunicorn's "[8] [ERROR]", Ruby's "E, [2025-… #1] ERROR -- :", Monolog's "production.ERROR:",
// Apache's "[proxy:error]". Only header-like tokens (bracketed, numeric, separators) may come first, and
// an unbracketed level must be upper case, so prose ("the error was …") is not read as a level.
func levelAfterHeader(s string) string {
	s = strings.TrimLeft(s, " \t")
	for i := 0; i < 6 && s != ""; i++ {
		tok := s
		if sp := strings.IndexAny(s, " \t"); sp >= 0 {
			tok, s = s[:sp], strings.TrimLeft(s[sp:], " \t")
		} else {
			s = ""
		}
		bracketed := tok[0] == '[' || tok[0] == '('
		inner := strings.Trim(tok, "[]():,")
		if k := strings.LastIndexAny(inner, ".:"); k >= 0 && k+1 < len(inner) {
			inner = inner[k+1:] // "production.ERROR", "proxy:error"
		}
		if l := normLevel(inner); l != "" && (bracketed || strings.ToUpper(inner) == inner) {
			return l
		}
		if !headerToken(tok, bracketed) {
			return ""
		}
	}
	return ""
}

func headerToken(tok string, bracketed bool) bool {
	switch {
	case bracketed || strings.HasSuffix(tok, "]"):
		return true
	case tok == "-" || tok == "--" || tok == "---" || tok == "|" || tok == ":":
		return true
	case len(tok) == 2 && tok[1] == ',' && isAlpha(tok[0]): // Ruby Logger's "E,"
		return true
	case isContextPair(tok): // "pid=1 tid=abc class=Job" before Sidekiq's "INFO:"
		return true
	case isClockAMPM(tok): // zerolog's console time "3:04PM"
		return true
	}
	// Numbers, times and offsets: "8", "10:00:00", "+0000".
	for i := 0; i < len(tok); i++ {
		if !isDigit(tok[i]) && !strings.ContainsRune(":.,+-/#", rune(tok[i])) {
			return false
		}
	}
	return true
}

// isContextPair matches a "key=value" header field with a short identifier key and no quotes.
func isContextPair(tok string) bool {
	eq := strings.IndexByte(tok, '=')
	if eq <= 0 || eq > 20 || eq == len(tok)-1 || strings.ContainsRune(tok, '"') {
		return false
	}
	return isIdentifier(tok[:eq])
}

// isClockAMPM matches a 12-hour time of day: "3:04PM", "09:30AM", "10:00:00pm".
func isClockAMPM(tok string) bool {
	if len(tok) < 6 {
		return false
	}
	suffix := strings.ToUpper(tok[len(tok)-2:])
	if suffix != "AM" && suffix != "PM" {
		return false
	}
	body := tok[:len(tok)-2]
	if !strings.Contains(body, ":") {
		return false
	}
	for i := 0; i < len(body); i++ {
		if !isDigit(body[i]) && body[i] != ':' {
			return false
		}
	}
	return true
}

// stripLevel removes a leading level token: "INFO ", "[info] ", "WARN: ", "<error> ", "E: ".
func stripLevel(s string) (string, string, bool) {
	if s == "" {
		return "", s, false
	}
	var close byte
	i := 0
	switch s[0] {
	case '[':
		close, i = ']', 1
	case '<':
		close, i = '>', 1
	case '(':
		close, i = ')', 1
	}
	j := i
	for j < len(s) && j-i <= 11 && isAlpha(s[j]) {
		j++
	}
	if j == i {
		return "", s, false
	}
	lvl := normLevel(s[i:j])
	if lvl == "" {
		return "", s, false
	}
	word := s[i:j]
	k := j
	if close != 0 {
		if k >= len(s) || s[k] != close {
			return "", s, false
		}
		k++
	} else if k < len(s) && s[k] == ':' {
		// Go runtime lines keep their text: "panic: x", "fatal error: x" drive trace detection.
		if word == "panic" || word == "fatal" {
			return "", s, false
		}
		k++
	} else {
		// Unbracketed, no colon: only an upper-case word is a level ("Information is ..." is prose).
		if strings.ToUpper(word) != word {
			return "", s, false
		}
		if k < len(s) && s[k] != ' ' && s[k] != '\t' && s[k] != '|' && s[k] != '-' {
			return "", s, false
		}
	}
	for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == ':' || s[k] == '|' || s[k] == '-') {
		k++
	}
	// A bare level word with nothing after it is a message, not a prefix.
	if k >= len(s) {
		return "", s, false
	}
	return lvl, s[k:], true
}

// stripSyslogPRI reads a syslog priority "<134>" (and RFC 5424's "1 TIMESTAMP HOST APP PROCID MSGID SD"
// header after it) and returns the severity as a level and the rest of the line.
func stripSyslogPRI(s string) (string, string, bool) {
	if len(s) < 4 || s[0] != '<' {
		return "", s, false
	}
	end := strings.IndexByte(s[:min(len(s), 5)], '>')
	if end < 2 {
		return "", s, false
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri < 0 || pri > 191 {
		return "", s, false
	}
	lvl := [...]string{LevelFatal, LevelFatal, LevelFatal, LevelError, LevelWarn, LevelInfo, LevelInfo, LevelDebug}[pri%8]
	rest := s[end+1:]
	if strings.HasPrefix(rest, "1 ") {
		f := strings.SplitN(rest[2:], " ", 6) // TIMESTAMP HOST APP PROCID MSGID SD+MSG
		if len(f) < 6 {
			return lvl, rest, true
		}
		msg := f[5]
		if strings.HasPrefix(msg, "- ") {
			msg = msg[2:]
		} else if strings.HasPrefix(msg, "[") {
			if k := strings.Index(msg, "] "); k >= 0 {
				msg = msg[k+2:]
			}
		}
		if f[0] != "-" {
			msg = f[0] + " " + msg // keep the timestamp for the usual header parser
		}
		rest = msg
	}
	return lvl, rest, true
}
