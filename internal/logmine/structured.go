package logmine

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Structured lines: JSON objects and logfmt pairs.

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

func logfmtKey(pair string) string {
	if i := strings.IndexByte(pair, '='); i >= 0 {
		return pair[:i]
	}
	return pair
}
