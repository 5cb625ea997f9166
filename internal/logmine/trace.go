package logmine

import (
	"strings"
)

// Stack traces and exception lines: which physical lines continue the record above them.

// startMode decides whether the first line of a record opens a trace whose lines follow without headers.
func startMode(text string) traceMode {
	switch {
	case text == "{":
		return modeJSON
	case strings.HasPrefix(text, "panic: "), strings.HasPrefix(text, "fatal error: "),
		strings.Contains(text, "http: panic serving"), isGoroutineHeader(text):
		return modeGo
	case strings.HasSuffix(text, "Traceback (most recent call last):"):
		return modePython
	case isJavaExceptionHeader(text):
		return modeJava
	}
	return modeNone
}

// continues reports whether s belongs to the record being built (and updates the trace mode).
func (r *Reader) continues(s string) bool {
	indented := s[0] == ' ' || s[0] == '\t'
	if r.blanks > 0 {
		return r.continuesAfterBlank(s)
	}
	if r.mode == modeJSON {
		if r.depth <= 0 || (!indented && s[0] != '}' && s[0] != ']') {
			// The object closed, or an unindented line that cannot be inside it: a new record starts
			// (a stray "{" line never swallows the rest of the log).
			return false
		}
		r.depth = braceDepth(s, r.depth)
		return true
	}
	if isGoroutineHeader(s) {
		r.mode = modeGo
		return true
	}
	switch r.mode {
	case modeGo:
		if indented || isGoFrame(s) || strings.HasPrefix(s, "created by ") || strings.HasPrefix(s, "[signal ") ||
			strings.HasPrefix(s, "panic: ") || strings.HasPrefix(s, "...additional frames elided...") ||
			strings.HasPrefix(s, "exit status ") || strings.HasPrefix(s, "[recovered]") {
			return true
		}
		return false
	case modePython, modePyDone:
		return r.continuesPython(s, indented)
	}
	return r.continuesOther(s, indented)
}

// continuesAfterBlank: after blank lines only a new section of the same trace continues it.
func (r *Reader) continuesAfterBlank(s string) bool {
	switch {
	case r.mode == modeGo && (isGoroutineHeader(s) || strings.HasPrefix(s, "created by ") || isGoFrame(s)):
		return true
	case (r.mode == modePython || r.mode == modePyDone) &&
		(strings.HasPrefix(s, "During handling of the above exception") ||
			strings.HasPrefix(s, "The above exception was the direct cause") ||
			strings.HasPrefix(s, "Traceback (most recent call last):")):
		r.mode = modePython
		return true
	}
	return false
}

// continuesPython follows a Python traceback: its indented frames up to the exception line, then
// only a chained "During handling..." section.
func (r *Reader) continuesPython(s string, indented bool) bool {
	if r.mode == modePyDone {
		if strings.HasPrefix(s, "During handling of the above exception") ||
			strings.HasPrefix(s, "The above exception was the direct cause") {
			r.mode = modePython
			return true
		}
		return indented
	}
	if indented {
		return true
	}
	if strings.HasPrefix(s, "Traceback (most recent call last):") ||
		strings.HasPrefix(s, "During handling of the above exception") ||
		strings.HasPrefix(s, "The above exception was the direct cause") {
		return true
	}
	if isPythonExceptionLine(s) {
		r.mode = modePyDone
		return true
	}
	return false
}

// continuesOther handles a record in no trace mode yet (or a Java one): indented lines, Java frames
// and chained causes, Ruby frames, and a trace starting after a warning or error.
func (r *Reader) continuesOther(s string, indented bool) bool {
	// Java frames and chained causes.
	if strings.HasPrefix(s, "Caused by: ") || strings.HasPrefix(s, "Suppressed: ") {
		r.mode = modeJava
		return true
	}
	if indented {
		t := strings.TrimLeft(s, " \t")
		if strings.HasPrefix(t, "at ") || strings.HasPrefix(t, "... ") {
			r.mode = modeJava
		}
		return true
	}
	if isRubyFrame(s) {
		r.mode = modeJava // frames of a Ruby backtrace, printed unindented after the exception
		return true
	}
	if strings.HasPrefix(s, "Traceback (most recent call last):") && levelRank(r.cur.Level) >= levelRank(LevelWarn) {
		r.mode = modePython
		return true
	}
	if isJavaExceptionHeader(s) && r.expectsTrace() {
		r.mode = modeJava
		return true
	}
	return false
}

// expectsTrace: a header-less exception line right after a warning/error (or a line ending in ':')
// is that event's exception, not a new event.
func (r *Reader) expectsTrace() bool {
	if levelRank(r.cur.Level) >= levelRank(LevelWarn) || r.mode == modeJava {
		return true
	}
	t := r.curText.String()
	return strings.HasSuffix(strings.TrimRight(t, " "), ":") ||
		strings.Contains(strings.ToLower(t), "exception")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// isGoroutineHeader matches "goroutine 12 [running]:".
func isGoroutineHeader(s string) bool {
	if !strings.HasPrefix(s, "goroutine ") {
		return false
	}
	i := len("goroutine ")
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j > i && j+1 < len(s) && s[j] == ' ' && (s[j+1] == '[' || s[j+1] == 'g')
}

// isGoFrame matches un-indented Go stack frame function lines like "main.handler(0x1, {0x2, 0x3})" or
// "net/http.(*conn).serve.func1()".
func isGoFrame(s string) bool {
	if len(s) < 3 || s[len(s)-1] != ')' || !(isAlpha(s[0]) || s[0] == '_') {
		return false
	}
	open := strings.IndexByte(s, '(')
	if open <= 0 {
		return false
	}
	head := s[:open]
	if strings.ContainsAny(head, " \t") {
		return false
	}
	if head == "panic" {
		return true
	}
	// Method frames "pkg.(*T).M(...)" have their first '(' right after a dot.
	return strings.Contains(head, ".") || strings.HasSuffix(head, ".")
}

// isRubyFrame matches a Ruby backtrace line "/app/models/order.rb:23:in `total'" (or 'total').
func isRubyFrame(s string) bool {
	i := strings.Index(s, ".rb:")
	if i <= 0 || i > 200 || strings.ContainsAny(s[:i], " \t") {
		return false
	}
	j := i + len(".rb:")
	k := j
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	return k > j && strings.HasPrefix(s[k:], ":in ")
}

// isJavaExceptionHeader matches "java.lang.IllegalStateException: msg" and "com.x.FooError".
func isJavaExceptionHeader(s string) bool {
	end := strings.IndexByte(s, ':')
	if end < 0 {
		end = len(s)
	}
	name := s[:end]
	if strings.HasPrefix(name, "Exception in thread ") {
		return true
	}
	if len(name) < 5 || strings.ContainsAny(name, " \t()[]") || !strings.Contains(name, ".") {
		return false
	}
	return strings.HasSuffix(name, "Exception") || strings.HasSuffix(name, "Error") ||
		strings.HasSuffix(name, "Throwable")
}

// isPythonExceptionLine matches a traceback's last line: "ValueError: bad", "KeyError", "pkg.mod.Err: x".
func isPythonExceptionLine(s string) bool {
	end := strings.IndexByte(s, ':')
	if end < 0 {
		end = len(s)
	}
	name := s[:end]
	if name == "" || !(isAlpha(name[0]) || name[0] == '_') {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isAlpha(c) || isDigit(c) || c == '_' || c == '.') {
			return false
		}
	}
	// The class name: capitalised CamelCase like ValueError, not a level word like INFO.
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" || last[0] < 'A' || last[0] > 'Z' {
		return false
	}
	for i := 1; i < len(last); i++ {
		if last[i] >= 'a' && last[i] <= 'z' {
			return true
		}
	}
	return false
}
