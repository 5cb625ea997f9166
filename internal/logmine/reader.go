package logmine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ReaderOptions configures a Reader.
type ReaderOptions struct {
	// OneRecordPerLine turns off multi-line joining: every non-blank input line is one record.
	OneRecordPerLine bool
	// Source is copied into every record (e.g. the pod name).
	Source string
}

// Limits keep one pathological record from eating memory.
const (
	maxLineBytes   = 256 << 10
	maxRecordBytes = 64 << 10
)

type traceMode int

const (
	modeNone   traceMode = iota
	modeGo               // after a Go panic / goroutine header
	modePython           // inside "Traceback (most recent call last):"
	modePyDone           // after a traceback's final "XError: msg" line (chained exceptions may follow)
	modeJava             // after a Java exception header or "\tat" frame
	modeJSON             // inside a pretty-printed (multi-line) JSON object
)

// Reader splits a log stream into records. It is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	o   ReaderOptions
	err error
	eof bool

	cur     *Record
	curText strings.Builder
	mode    traceMode
	blanks  int // blank lines seen inside a trace, kept only if the trace continues
	depth   int // brace depth of a multi-line JSON record (modeJSON)
	ready   []Record
	partial strings.Builder // CRI "P" (partial) fragments awaiting their "F" line
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader, o ReaderOptions) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), o: o}
}

// Err returns the first read error other than io.EOF.
func (r *Reader) Err() error { return r.err }

// Next returns the next record; false at the end of the input or on a read error (see Err).
func (r *Reader) Next() (Record, bool) {
	for len(r.ready) == 0 {
		if r.eof {
			r.flush()
			if len(r.ready) == 0 {
				return Record{}, false
			}
			break
		}
		line, err := r.readLine()
		if err != nil {
			r.eof = true
			if !errors.Is(err, io.EOF) {
				r.err = fmt.Errorf("reading logs: %w", err)
			}
			if line == "" {
				continue
			}
		}
		r.physical(line)
	}
	rec := r.ready[0]
	r.ready = r.ready[1:]
	if len(r.ready) == 0 {
		r.ready = r.ready[:0:0]
	}
	return rec, true
}

// readLine returns one physical line without its line ending, truncated to maxLineBytes.
func (r *Reader) readLine() (string, error) {
	var long []byte
	for {
		frag, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) < maxLineBytes {
				long = append(long, frag...)
			}
			continue
		}
		var b []byte
		if long != nil {
			if len(long) < maxLineBytes {
				long = append(long, frag...)
			}
			b = long
		} else {
			b = frag
		}
		if len(b) > maxLineBytes {
			b = b[:maxLineBytes]
		}
		b = bytes.TrimRight(b, "\r\n")
		return string(b), err
	}
}

// physical handles one physical input line.
func (r *Reader) physical(line string) {
	if strings.IndexByte(line, 0x1b) >= 0 {
		// Colour codes (a logger told to colour, or writing to a TTY) are not part of the event: a
		// release that turns colour on must log the same events.
		line = stripANSI(line)
	}
	// Container runtime prefixes come first: CRI "<ts> stdout F msg" or kubectl --timestamps "<ts> msg".
	ts, rest, isPartial, ok := stripCRI(line)
	if ok {
		if isPartial {
			if r.partial.Len() < maxLineBytes {
				r.partial.WriteString(rest)
			}
			return
		}
		if r.partial.Len() > 0 {
			r.partial.WriteString(rest)
			rest = r.partial.String()
			r.partial.Reset()
		}
	} else if t2, rest2, ok2 := stripKubectlTimestamp(line); ok2 && !paddedLevel(rest2) {
		ts, rest = t2, rest2
	} else {
		rest = line
	}
	r.logical(rest, ts)
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

// logical handles one line of application output (runtime prefix already removed).
func (r *Reader) logical(s string, runtimeTime time.Time) {
	if isBlank(s) {
		if r.cur != nil && r.mode != modeNone && !r.o.OneRecordPerLine {
			r.blanks++
		}
		return
	}
	if !r.o.OneRecordPerLine && r.cur != nil && r.continues(s) {
		r.appendLine(s)
		return
	}
	r.flush()
	rec := parseHeader(s, 0)
	rec.Status, rec.Duration, rec.HasDuration = accessFacts(s, rec.Text)
	if rec.Time.IsZero() {
		rec.Time = runtimeTime
	}
	rec.Source = r.o.Source
	rec.Lines = 1
	r.cur = &rec
	r.curText.Reset()
	r.curText.WriteString(rec.Text)
	r.mode = startMode(rec.Text)
	if r.mode == modeJSON {
		r.depth = braceDepth(rec.Text, 0)
	}
	if r.mode == modeGo && rec.Level == "" {
		rec.Level = LevelPanic
		if strings.HasPrefix(rec.Text, "fatal error:") {
			rec.Level = LevelFatal
		}
	}
	if (r.mode == modePython || r.mode == modeJava) && rec.Level == "" {
		rec.Level = LevelError
	}
}

func (r *Reader) appendLine(s string) {
	r.blanks = 0
	r.cur.Lines++
	if r.curText.Len()+len(s)+1 <= maxRecordBytes {
		r.curText.WriteByte('\n')
		r.curText.WriteString(s)
	}
}

func (r *Reader) flush() {
	if r.cur == nil {
		return
	}
	r.cur.Text = r.curText.String()
	if r.mode == modeJSON {
		r.parsePrettyJSON()
	}
	r.ready = append(r.ready, *r.cur)
	r.cur = nil
	r.curText.Reset()
	r.mode = modeNone
	r.blanks = 0
}

// parsePrettyJSON re-reads a record that was a multi-line JSON object (printed with indentation) as
// the one structured event it is; text that is not valid JSON stays as it was.
func (r *Reader) parsePrettyJSON() {
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(r.cur.Text)) != nil {
		return
	}
	line := buf.String()
	rec := parseHeader(line, 0)
	rec.Status, rec.Duration, rec.HasDuration = accessFacts(line, rec.Text)
	if rec.Time.IsZero() {
		rec.Time = r.cur.Time
	}
	rec.Source, rec.Lines = r.cur.Source, r.cur.Lines
	*r.cur = rec
}

// braceDepth adds the change in JSON object/array nesting over one line to depth (braces inside
// strings do not count).
func braceDepth(s string, depth int) int {
	inStr, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return depth
}

// stripANSI removes ANSI escape sequences: CSI ("ESC [ params final", colours and cursor moves) and
// two-byte escapes.
func stripANSI(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j // the final byte (or the end)
			continue
		}
		i++ // ESC and the one byte after it
	}
	return b.String()
}

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
		// After blank lines only a new section of the same trace continues it.
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
	case modePython:
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
	case modePyDone:
		if strings.HasPrefix(s, "During handling of the above exception") ||
			strings.HasPrefix(s, "The above exception was the direct cause") {
			r.mode = modePython
			return true
		}
		return indented
	}
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

// Field names seen in structured loggers (zap, zerolog, logrus, slog, bunyan, pino, GCP, ECS).
var (
	jsonMsgKeys   = []string{"msg", "message", "log", "MESSAGE", "Message", "textPayload", "event", "@m", "@mt"}
	jsonLevelKeys = []string{"level", "severity", "lvl", "levelname", "log.level", "Level", "loglevel", "@l", "s"}
	jsonTimeKeys  = []string{"time", "ts", "timestamp", "@timestamp", "Time", "datetime", "asctime", "@t", "t"}
	jsonErrKeys   = []string{"error", "err", "exception", "exc_info"}
	jsonStackKeys = []string{"stacktrace", "stack", "stack_trace", "trace"}
)

func parseJSONLine(s string, depth int) (Record, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return Record{}, false
	}
	var rec Record
	msgKey := ""
	for _, k := range jsonMsgKeys {
		if v, ok := m[k].(string); ok {
			msgKey = k
			rec.Text = v
			break
		}
	}
	if msgKey == "" {
		// Structured line without a message (JSON access logs of nginx, Envoy): every field, in key
		// order, so a release that reorders fields logs the same event.
		return Record{Text: canonicalFields(m), Level: jsonLevel(m), Time: jsonTime(m)}, true
	}
	// Docker's json-file driver wraps the raw line: parse what it carries.
	if msgKey == "log" && depth < 2 {
		inner := parseHeader(strings.TrimRight(rec.Text, "\r\n"), depth+1)
		if inner.Time.IsZero() {
			inner.Time = jsonTime(m)
		}
		return inner, true
	}
	rec.Level = jsonLevel(m)
	rec.Time = jsonTime(m)
	stackFrom := m
	for _, k := range jsonErrKeys {
		v, ok := m[k].(string)
		if obj, isObj := m[k].(map[string]any); isObj {
			// pino/bunyan serialise errors as {"type","message","stack"}.
			v, ok = obj["message"].(string)
			stackFrom = obj
		}
		if ok && v != "" {
			rec.Text += " " + k + "=" + v
			break
		}
	}
	for _, k := range jsonStackKeys {
		if v, ok := stackFrom[k].(string); ok && strings.Contains(v, "\n") {
			rec.Text += "\n" + strings.TrimRight(v, "\n")
			break
		}
	}
	return rec, true
}

func jsonLevel(m map[string]any) string {
	for _, k := range jsonLevelKeys {
		switch v := m[k].(type) {
		case string:
			if l := normLevel(v); l != "" {
				return l
			} else if l := normLevelShort(v); l != "" {
				return l
			}
		case float64: // bunyan/pino numeric levels
			if l := numericLevel(v); l != "" {
				return l
			}
		}
	}
	return ""
}

// canonicalFields renders a JSON object as "key=value" pairs sorted by key (nested values compact).
func canonicalFields(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		switch v := m[k].(type) {
		case string:
			if strings.ContainsAny(v, " \t\"") || v == "" {
				b.WriteString(strconv.Quote(v))
			} else {
				b.WriteString(v)
			}
		default:
			j, _ := json.Marshal(v)
			b.Write(j)
		}
	}
	return b.String()
}

func jsonTime(m map[string]any) time.Time {
	for _, k := range jsonTimeKeys {
		v := m[k]
		if obj, ok := v.(map[string]any); ok {
			v = obj["$date"] // MongoDB's extended JSON {"t":{"$date":"…"}}
		}
		switch v := v.(type) {
		case string:
			if t, _, ok := stripTimestamp(v); ok {
				return t
			}
		case float64:
			if v > 1e9 && v < 1e10 { // unix seconds (zap's default ts)
				sec := int64(v)
				return time.Unix(sec, int64((v-float64(sec))*1e9)).UTC()
			}
			if v > 1e12 && v < 1e13 { // unix milliseconds (pino)
				return time.UnixMilli(int64(v)).UTC()
			}
		}
	}
	return time.Time{}
}

func normLevelShort(s string) string {
	if len(s) != 1 {
		return ""
	}
	switch s[0] | 0x20 {
	case 't':
		return LevelTrace
	case 'd', 'v':
		return LevelDebug
	case 'i':
		return LevelInfo
	case 'w':
		return LevelWarn
	case 'e':
		return LevelError
	case 'f':
		return LevelFatal
	}
	return ""
}

func numericLevel(v float64) string {
	switch {
	case v >= 60:
		return LevelFatal
	case v >= 50:
		return LevelError
	case v >= 40:
		return LevelWarn
	case v >= 30:
		return LevelInfo
	case v >= 20:
		return LevelDebug
	case v > 0:
		return LevelTrace
	}
	return ""
}

type logfmtLine struct {
	Text, Level string
	Time        time.Time
}

// parseLogfmt reads `time=... level=info msg="x y" k=v` lines (logrus text, go-kit, slog text).
func parseLogfmt(s string) (logfmtLine, bool) {
	var out logfmtLine
	var msg string
	var fields [12]string // the other key=value pairs, on the stack for a typical line
	extra := fields[:0]
	haveMsg := false
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' {
			i++
		}
		if i >= len(s) || s[i] != '=' || i == ks {
			return out, false
		}
		key := s[ks:i]
		i++
		var val string
		vs := i
		if i < len(s) && s[i] == '"' {
			i++
			if j := strings.IndexByte(s[i:], '"'); j >= 0 && strings.IndexByte(s[i:i+j], '\\') < 0 {
				val, i = s[i:i+j], i+j+1 // no escapes: the value is the quoted text itself, not a copy
				raw := s[ks:i]
				extra = logfmtField(&out, key, val, raw, &msg, &haveMsg, extra)
				continue
			}
			var b strings.Builder
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(s[i])
					}
				} else {
					b.WriteByte(s[i])
				}
				i++
			}
			i++ // closing quote
			val = b.String()
		} else {
			for i < len(s) && s[i] != ' ' {
				i++
			}
			val = s[vs:i]
		}
		extra = logfmtField(&out, key, val, s[ks:min(i, len(s))], &msg, &haveMsg, extra)
	}
	if !haveMsg && out.Level == "" {
		return out, false
	}
	out.Text = joinLogfmtText(msg, extra)
	return out, true
}

// logfmtField takes one key=value pair: level, message and time are read, the rest kept as written.
func logfmtField(out *logfmtLine, key, val, raw string, msg *string, haveMsg *bool, extra []string) []string {
	switch key {
	case "level", "lvl", "severity":
		out.Level = normLevel(val)
		if out.Level == "" {
			out.Level = normLevelShort(val)
		}
	case "msg", "message":
		*msg, *haveMsg = val, true
	case "time", "ts", "timestamp", "t":
		if t, _, ok := stripTimestamp(val); ok {
			out.Time = t
		}
	default:
		extra = append(extra, raw)
	}
	return extra
}

// joinLogfmtText is the message followed by the other fields in key order (a release that writes the
// same fields in another order logs the same event), built in one allocation.
func joinLogfmtText(msg string, extra []string) string {
	if len(extra) == 0 {
		return msg
	}
	slices.SortStableFunc(extra, func(a, b string) int { return strings.Compare(logfmtKey(a), logfmtKey(b)) })
	n := len(msg) + len(extra)
	for _, f := range extra {
		n += len(f)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(msg)
	for i, f := range extra {
		if i > 0 || msg != "" {
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
	return b.String()
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

// stripEpoch removes a leading Unix time in seconds, milliseconds, microseconds or nanoseconds
// ("1718443800.123 INFO …", "1718443800123 INFO …") between 2001 and 2100.
func stripEpoch(s string) (time.Time, string, bool) {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	frac := n
	if n == 10 && n < len(s) && s[n] == '.' {
		frac++
		for frac < len(s) && isDigit(s[frac]) {
			frac++
		}
	}
	if frac >= len(s) || s[frac] != ' ' {
		return time.Time{}, s, false
	}
	v, err := strconv.ParseInt(s[:n], 10, 64)
	if err != nil {
		return time.Time{}, s, false
	}
	var t time.Time
	switch n {
	case 10:
		t = time.Unix(v, 0)
	case 13:
		t = time.UnixMilli(v)
	case 16:
		t = time.UnixMicro(v)
	case 19:
		t = time.Unix(0, v)
	default:
		return time.Time{}, s, false
	}
	if t.Year() < 2001 || t.Year() > 2100 {
		return time.Time{}, s, false
	}
	return t.UTC(), strings.TrimLeft(s[frac:], " "), true
}

// stripKlog handles klog/glog headers: "I0102 15:04:05.123456   12345 file.go:123] msg".
func stripKlog(s string) (string, time.Time, string, bool) {
	if len(s) < 22 || !strings.ContainsRune("IWEF", rune(s[0])) {
		return "", time.Time{}, "", false
	}
	for _, p := range []int{1, 2, 3, 4, 6, 7, 9, 10, 12, 13} {
		if !isDigit(s[p]) {
			return "", time.Time{}, "", false
		}
	}
	if s[5] != ' ' || s[8] != ':' || s[11] != ':' {
		return "", time.Time{}, "", false
	}
	end := strings.Index(s, "] ")
	if end < 0 || end > 120 {
		return "", time.Time{}, "", false
	}
	year := time.Now().UTC().Year()
	month := int(s[1]-'0')*10 + int(s[2]-'0')
	day := int(s[3]-'0')*10 + int(s[4]-'0')
	h := int(s[6]-'0')*10 + int(s[7]-'0')
	mi := int(s[9]-'0')*10 + int(s[10]-'0')
	sec := int(s[12]-'0')*10 + int(s[13]-'0')
	ns := 0
	if s[14] == '.' {
		k, scale := 15, 100000000
		for k < len(s) && isDigit(s[k]) && scale > 0 {
			ns += int(s[k]-'0') * scale
			scale /= 10
			k++
		}
	}
	t := time.Date(year, time.Month(month), day, h, mi, sec, ns, time.UTC)
	return normLevelShort(s[:1]), t, s[end+2:], true
}

var monthAbbr = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// stripTimestamp removes a leading timestamp (optionally in brackets) and the separator after it.
// Accepted: ISO 8601 / RFC 3339 with 'T' or ' ' and '.' or ',' fractions, "2006/01/02 15:04:05",
// syslog "Jan _2 15:04:05", "Mon Jan _2 15:04:05 2006" and a bare "15:04:05.000".
func stripTimestamp(s string) (time.Time, string, bool) {
	orig := s
	bracket := false
	if strings.HasPrefix(s, "[") {
		bracket = true
		s = s[1:]
	}
	t, n, ok := parseTimeAt(s)
	if !ok {
		return time.Time{}, orig, false
	}
	s = s[n:]
	if bracket {
		if !strings.HasPrefix(s, "]") {
			return time.Time{}, orig, false
		}
		s = s[1:]
	}
	if s != "" && s[0] != ' ' && s[0] != '\t' && s[0] != '|' && s[0] != ':' {
		return time.Time{}, orig, false
	}
	s = strings.TrimLeft(s, " \t|:")
	return t, s, true
}

func num(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return 0, false
		}
		v = v*10 + int(s[k]-'0')
	}
	return v, true
}

// parseTimeAt parses a timestamp at the start of s and returns it with the bytes consumed.
func parseTimeAt(s string) (time.Time, int, bool) {
	if len(s) >= 8 && isDigit(s[0]) {
		if t, n, ok := dayMonthYear(s); ok {
			return t, n, true
		}
		// YYYY-MM-DD or YYYY/MM/DD
		if y, ok := num(s, 0, 4); ok && len(s) >= 19 && (s[4] == '-' || s[4] == '/') && s[7] == s[4] {
			mo, ok1 := num(s, 5, 2)
			d, ok2 := num(s, 8, 2)
			if !ok1 || !ok2 || (s[10] != 'T' && s[10] != ' ') {
				return time.Time{}, 0, false
			}
			h, m, sec, ns, n, ok := clock(s, 11)
			if !ok {
				return time.Time{}, 0, false
			}
			loc := time.UTC
			if n < len(s) && s[n] == 'Z' {
				n++
			} else if n+5 <= len(s) && (s[n] == '+' || s[n] == '-') {
				oh, ok1 := num(s, n+1, 2)
				k := n + 3
				if k < len(s) && s[k] == ':' {
					k++
				}
				om, ok2 := num(s, k, 2)
				if ok1 && ok2 {
					off := oh*3600 + om*60
					if s[n] == '-' {
						off = -off
					}
					loc = time.FixedZone("", off)
					n = k + 2
				}
			}
			if mo < 1 || mo > 12 || d < 1 || d > 31 {
				return time.Time{}, 0, false
			}
			return time.Date(y, time.Month(mo), d, h, m, sec, ns, loc).UTC(), n, true
		}
		// Bare clock "15:04:05.000"
		if s[2] == ':' {
			h, m, sec, ns, n, ok := clock(s, 0)
			if ok {
				now := time.Now().UTC()
				return time.Date(now.Year(), now.Month(), now.Day(), h, m, sec, ns, time.UTC), n, true
			}
		}
		return time.Time{}, 0, false
	}
	// "Mon Jan _2 15:04:05 2006" (Apache) or "Jan _2 15:04:05" (syslog)
	k := 0
	if len(s) >= 4 && s[3] == ' ' && isWeekday(s[:3]) {
		k = 4
	}
	if len(s) < k+15 {
		return time.Time{}, 0, false
	}
	mo, ok := monthAbbr[s[k:k+3]]
	if !ok || s[k+3] != ' ' {
		return time.Time{}, 0, false
	}
	dpos := k + 4
	if s[dpos] == ' ' {
		dpos++
	}
	dend := dpos
	for dend < len(s) && isDigit(s[dend]) && dend-dpos < 2 {
		dend++
	}
	d, ok := num(s, dpos, dend-dpos)
	if !ok || dend == dpos || dend >= len(s) || s[dend] != ' ' {
		return time.Time{}, 0, false
	}
	h, m, sec, ns, n, ok := clock(s, dend+1)
	if !ok {
		return time.Time{}, 0, false
	}
	year := time.Now().UTC().Year()
	if n+5 <= len(s) && s[n] == ' ' {
		if y, ok := num(s, n+1, 4); ok && (n+5 == len(s) || !isDigit(s[n+5])) {
			year, n = y, n+5
		}
	}
	return time.Date(year, mo, d, h, m, sec, ns, time.UTC), n, true
}

// dayMonthYear parses "15-Jun-2026 09:30:00.123" (Tomcat's OneLineFormatter, log4j's DATE).
func dayMonthYear(s string) (time.Time, int, bool) {
	if len(s) < 20 || s[2] != '-' || s[6] != '-' || s[11] != ' ' {
		return time.Time{}, 0, false
	}
	d, ok1 := num(s, 0, 2)
	mo, ok2 := monthAbbr[s[3:6]]
	y, ok3 := num(s, 7, 4)
	if !ok1 || !ok2 || !ok3 || d < 1 || d > 31 {
		return time.Time{}, 0, false
	}
	h, m, sec, ns, n, ok := clock(s, 12)
	if !ok {
		return time.Time{}, 0, false
	}
	return time.Date(y, mo, d, h, m, sec, ns, time.UTC), n, true
}

func isWeekday(s string) bool {
	switch s {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun":
		return true
	}
	return false
}

// clock parses "15:04:05" with an optional ".000" or ",000" fraction at s[i:].
func clock(s string, i int) (h, m, sec, ns, n int, ok bool) {
	var ok1, ok2, ok3 bool
	h, ok1 = num(s, i, 2)
	m, ok2 = num(s, i+3, 2)
	sec, ok3 = num(s, i+6, 2)
	if !ok1 || !ok2 || !ok3 || s[i+2] != ':' || s[i+5] != ':' || h > 23 || m > 59 || sec > 60 {
		return 0, 0, 0, 0, 0, false
	}
	n = i + 8
	if n+1 < len(s) && (s[n] == '.' || s[n] == ',') && isDigit(s[n+1]) {
		n++
		scale := 100000000
		for n < len(s) && isDigit(s[n]) {
			if scale > 0 {
				ns += int(s[n]-'0') * scale
				scale /= 10
			}
			n++
		}
	}
	return h, m, sec, ns, n, true
}

func logfmtKey(pair string) string {
	if i := strings.IndexByte(pair, '='); i >= 0 {
		return pair[:i]
	}
	return pair
}
