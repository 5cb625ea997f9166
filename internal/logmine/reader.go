package logmine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
