// Package logmine turns raw pod logs into records (multi-line traces joined, prefixes stripped) and
// mines them into templates with counts, first/last seen and examples.
package logmine

import (
	"strings"
	"time"
)

// Record is one logical log event. Text is the message without timestamp/level prefixes; the lines of a
// multi-line record (stack traces) are joined with "\n".
type Record struct {
	Text   string
	Level  string // normalised: trace, debug, info, warn, error, fatal, panic, or "" when unknown
	Time   time.Time
	Source string
	Lines  int
	// Status is the HTTP status the record reports (access logs, request lines), 0 when none.
	Status int
	// Duration is the request duration the record reports, in seconds, when HasDuration.
	Duration    float64
	HasDuration bool
}

// Normalised levels.
const (
	LevelTrace = "trace"
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
	LevelFatal = "fatal"
	LevelPanic = "panic"
)

// levelRank orders levels so templates can keep the most severe one seen.
func levelRank(l string) int {
	switch l {
	case LevelTrace:
		return 1
	case LevelDebug:
		return 2
	case LevelInfo:
		return 3
	case LevelWarn:
		return 4
	case LevelError:
		return 5
	case LevelFatal:
		return 6
	case LevelPanic:
		return 7
	}
	return 0
}

// normLevel maps the many spellings of log levels to the normalised ones; "" when s is not a level.
func normLevel(s string) string {
	if len(s) == 0 || len(s) > 13 {
		return ""
	}
	var buf [13]byte
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b) {
	case "trace", "trc", "finest", "finer", "trce":
		return LevelTrace
	case "debug", "dbg", "fine", "verbose", "dbug":
		return LevelDebug
	case "info", "inf", "information", "informational", "notice":
		return LevelInfo
	case "warn", "warning", "wrn":
		return LevelWarn
	case "error", "err", "severe", "eror", "fail": // "fail:" is .NET's console logger
		return LevelError
	case "fatal", "ftl", "crit", "critical", "alert", "emerg", "emergency":
		return LevelFatal
	case "panic", "dpanic":
		return LevelPanic
	}
	return julLocalisedLevel(string(b))
}

// julLocalisedLevel maps the level names java.util.logging prints on a JVM in another locale (the
// JDK's sun.util.logging.resources bundles: Tomcat's console on a German or French server) to ours.
func julLocalisedLevel(lower string) string {
	switch lower {
	case "schwerwiegend", "grave": // de; fr, es, it, pt
		return LevelError
	case "warnung", "avertissement", "advertencia", "avvertenza": // de, fr, es, it
		return LevelWarn
	case "infos", "informazioni", "información": // fr, it, es ("information" is above)
		return LevelInfo
	case "konfiguration", "fein", "feiner", "précis", "preciso", "fine": //nolint:misspell // German for CONFIG, not a typo
		return LevelDebug
	}
	return ""
}

// IsSevere reports whether a record is an error-level event, a panic, a fatal error, an OOM or carries a
// stack trace: the events a canary must never introduce.
func IsSevere(r Record) bool {
	if levelRank(r.Level) >= levelRank(LevelError) {
		return true
	}
	t := r.Text
	if len(t) > 4096 {
		t = t[:4096]
	}
	if r.Level == LevelWarn && namesException(headline(t)) {
		// Some frameworks log a raised exception at warning level (Sidekiq job failures, retried
		// handlers): an exception class is a failure whatever level it was logged at.
		return true
	}
	return hasSevereMarker(t)
}

// namesException reports whether a line reports an exception by its class name followed by a colon
// or parenthesis: "NoMethodError: undefined method", "java.sql.SQLException: x",
// "System.InvalidOperationException: x", "QueryException(code: 2002)". A bare "Error:" or "ERROR:" is
// a level word, not a class.
func namesException(line string) bool {
	if len(line) > 512 {
		line = line[:512]
	}
	for _, tok := range strings.Fields(line) {
		tok = strings.TrimLeft(tok, "([{'\"`")
		var name string
		if p := strings.IndexByte(tok, '('); p > 0 {
			name = tok[:p]
		} else if strings.HasSuffix(tok, ":") {
			name = tok[:len(tok)-1]
		} else {
			continue
		}
		if k := strings.LastIndexAny(name, ".:\\"); k >= 0 {
			name = name[k+1:]
		}
		for _, suffix := range []string{"Error", "Exception"} {
			if len(name) > len(suffix) && strings.HasSuffix(name, suffix) && name[0] >= 'A' && name[0] <= 'Z' &&
				isIdentifier(name) {
				return true
			}
		}
	}
	return false
}

func isIdentifier(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) && !isDigit(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold: s starts with sub (lower case) ignoring ASCII case.
func hasPrefixFold(s, sub string) bool {
	if len(s) < len(sub) {
		return false
	}
	for i := 0; i < len(sub); i++ {
		if lowerASCII(s[i]) != sub[i] {
			return false
		}
	}
	return true
}

// hasSevereMarker looks for panic, fatal, OOM, crash and stack-trace markers in one pass, without
// allocating: it runs on every mined record.
func hasSevereMarker(s string) bool {
	for i := 0; i < len(s); i++ {
		rest := s[i:]
		switch lowerASCII(s[i]) {
		case 'p':
			if hasPrefixFold(rest, "panic:") || hasPrefixFold(rest, "panic serving") || hasPrefixFold(rest, "panicked at") {
				return true
			}
		case 'f':
			if hasPrefixFold(rest, "fatal error") || hasPrefixFold(rest, "fatal:") {
				return true
			}
		case 't':
			if hasPrefixFold(rest, "traceback (most recent call last)") {
				return true
			}
		case 'o':
			if hasPrefixFold(rest, "outofmemory") || hasPrefixFold(rest, "out of memory") ||
				hasPrefixFold(rest, "oom-kill") || hasPrefixFold(rest, "oomkill") || hasPrefixFold(rest, "oom_kill") ||
				hasPrefixFold(rest, "oom killer") {
				return true
			}
		case 's':
			if hasPrefixFold(rest, "segmentation fault") || hasPrefixFold(rest, "sigsegv") ||
				hasPrefixFold(rest, "stack overflow") || hasPrefixFold(rest, "stackoverflowerror") {
				return true
			}
		case 'c':
			if hasPrefixFold(rest, "caused by:") || hasPrefixFold(rest, "core dumped") ||
				hasPrefixFold(rest, "crashloopbackoff") {
				return true
			}
		case 'e':
			if hasPrefixFold(rest, "exception in thread") {
				return true
			}
		case '\n':
			if strings.HasPrefix(rest, "\n\tat ") || isGoroutineHeader(rest[1:]) || isIndentedFrame(rest[1:]) ||
				isRubyFrame(rest[1:]) {
				return true
			}
		}
	}
	return false
}

// isIndentedFrame matches a stack frame indented with spaces: Node/V8 "    at fn (/app/x.js:42:11)",
// .NET "   at Foo.Bar() in /src/x.cs:line 42", Java printed with spaces.
func isIndentedFrame(s string) bool {
	i := 0
	for i < len(s) && i < 12 && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i == 0 || !strings.HasPrefix(s[i:], "at ") {
		return false
	}
	line := s[i:]
	if nl := strings.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	return strings.Contains(line, "(") || strings.Contains(line, ":line ") || strings.Contains(line, ".js:") || strings.Contains(line, ".ts:")
}
