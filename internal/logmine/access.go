package logmine

import (
	"strconv"
	"strings"
	"time"
)

// Access-log facts a record may carry whatever the server wrote it: the HTTP status it answered and
// how long the request took. They let the judge count failed requests (a 5xx line is a failure even
// without an error word) and compare durations like a latency metric.

// accessFacts scans one record's first line. raw is the whole physical line (JSON keys and logfmt
// pairs survive there), msg the message after timestamp/level prefixes (positional formats).
func accessFacts(raw, msg string) (status int, dur float64, hasDur bool) {
	if len(raw) > maxScanBytes {
		raw = raw[:maxScanBytes]
	}
	if len(msg) > maxScanBytes {
		msg = msg[:maxScanBytes]
	}
	status, dur, hasDur = scanKeyValues(raw)
	if status == 0 {
		status = positionalStatus(msg)
	}
	if !hasDur {
		dur, hasDur = positionalDuration(msg, status != 0)
	}
	return status, dur, hasDur
}

// maxScanBytes bounds the scan: access facts sit in the first part of a line.
const maxScanBytes = 4096

// scanKeyValues finds status and duration in key=value, key: value and "key":value pairs (logfmt,
// JSON, nginx/Envoy custom formats). The first match of each wins.
func scanKeyValues(s string) (status int, dur float64, hasDur bool) {
	named := 0 // from a key that only ends in "status" (Traefik's DownstreamStatus): used when no usual key has one
	defer func() {
		if status == 0 {
			status = named
		}
	}()
	for i := 0; i < len(s); i++ {
		if s[i] != '=' && s[i] != ':' {
			continue
		}
		key := keyBefore(s, i)
		if key == "" {
			continue
		}
		val := valueAfter(s, i+1)
		if val == "" {
			continue
		}
		lk := strings.ToLower(key)
		if status == 0 && isStatusKey(lk) {
			status = httpStatus(val)
		} else if named == 0 && isStatusSuffixKey(lk) {
			named = httpStatus(val)
		} else if !hasDur && isDurationKey(lk) {
			dur, hasDur = parseDurationValue(val, keyUnit(lk))
		}
		if status != 0 && hasDur {
			break
		}
	}
	return status, dur, hasDur
}

// keyBefore returns the identifier ending at s[i] (a closing quote allowed), or "".
func keyBefore(s string, i int) string {
	end := i
	if end > 0 && s[end-1] == '"' {
		end--
	}
	start := end
	for start > 0 && isKeyByte(s[start-1]) {
		start--
	}
	if start == end || end-start > 40 {
		return ""
	}
	if start > 0 && s[start-1] == '"' && end == i {
		return "" // "key=..." inside a quoted value, not a key
	}
	key := s[start:end]
	// Nested names (http.response.status_code, res.statusCode) are judged by their last part.
	if d := strings.LastIndexByte(key, '.'); d >= 0 {
		key = key[d+1:]
	}
	return key
}

func isKeyByte(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '_' || c == '.' || c == '-'
}

// valueAfter returns the value starting at s[i]: a quoted string or a run up to a separator.
func valueAfter(s string, i int) string {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i >= len(s) {
		return ""
	}
	if s[i] == '"' {
		j := strings.IndexByte(s[i+1:], '"')
		if j < 0 {
			return ""
		}
		return strings.TrimSpace(s[i+1 : i+1+j])
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ';' && s[j] != '|' {
		j++
	}
	return s[i:j]
}

func isStatusKey(k string) bool {
	switch strings.ReplaceAll(k, "-", "_") {
	case "status", "status_code", "statuscode", "http_status", "httpstatus", "http_status_code",
		"response_code", "responsecode", "response_status", "responsestatus", "http_code", "httpcode",
		"resp_status", "upstream_status", "code", "resp_code":
		return true
	}
	return false
}

// isStatusSuffixKey: a key naming a status by its last word ("DownstreamStatus", "origin_status",
// "sc-status", "responseStatusCode"); the value must still be an HTTP status to count.
func isStatusSuffixKey(k string) bool {
	for _, suffix := range []string{"status", "statuscode", "status_code", "status-code"} {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

func isDurationKey(k string) bool {
	for _, w := range []string{"duration", "latency", "elapsed", "took", "request_time", "response_time", "responsetime", "requesttime"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	switch k {
	case "rt", "time_ms", "time_taken", "timetaken", "ms", "dur", "resp_time", "resp_time_ms", "request_ms":
		return true
	}
	return false
}

// keyUnit is the unit a key's name announces, in seconds per value unit (0 = not said).
func keyUnit(k string) float64 {
	switch {
	case strings.HasSuffix(k, "ms") || strings.HasSuffix(k, "millis") || strings.HasSuffix(k, "milliseconds"):
		return 1e-3
	case strings.HasSuffix(k, "_us") || strings.HasSuffix(k, "micros") || strings.HasSuffix(k, "microseconds"):
		return 1e-6
	case strings.HasSuffix(k, "_ns") || strings.HasSuffix(k, "nanos") || strings.HasSuffix(k, "nanoseconds"):
		return 1e-9
	case strings.HasSuffix(k, "_s") || strings.HasSuffix(k, "_sec") || strings.HasSuffix(k, "seconds") || strings.HasSuffix(k, "secs"):
		return 1
	}
	return 0
}

// parseDurationValue reads "12ms", "2.000000s", "1m3s", "0.123" or "12" as seconds. A unit on the
// value wins; else the key's; else an integer is read as milliseconds (Envoy, most JSON loggers)
// a decimal as seconds (nginx $request_time, zap), and an integer of a million or more as
// nanoseconds (Go slog's JSON handler).
func parseDurationValue(v string, unit float64) (float64, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, ", "); i > 0 {
		v = v[:i] // nginx lists one upstream time per try: "0.012, 0.003"
	}
	if v == "" || v == "-" {
		return 0, false
	}
	if !isPlainNumber(v) { // a plain number is never parsed as a Go duration (its error would allocate per line)
		if d, err := time.ParseDuration(strings.Replace(v, "μ", "µ", 1)); err == nil {
			return nonNegative(d.Seconds())
		}
		return 0, false
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	switch {
	case unit > 0:
		return nonNegative(x * unit)
	case strings.ContainsRune(v, '.'):
		return nonNegative(x)
	case x >= 1e6:
		return nonNegative(x * 1e-9) // slog's JSON handler writes durations as integer nanoseconds
	}
	return nonNegative(x * 1e-3)
}

func nonNegative(x float64) (float64, bool) {
	if x < 0 || x != x || x > 1e7 {
		return 0, false
	}
	return x, true
}

func isPlainNumber(v string) bool {
	if v == "" {
		return false
	}
	dot := false
	for i := 0; i < len(v); i++ {
		switch {
		case isDigit(v[i]):
		case v[i] == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return v != "."
}

// httpStatus returns v as an HTTP status (100-599) or 0.
func httpStatus(v string) int {
	if len(v) != 3 || !isDigit(v[0]) || !isDigit(v[1]) || !isDigit(v[2]) {
		return 0
	}
	n := int(v[0]-'0')*100 + int(v[1]-'0')*10 + int(v[2]-'0')
	if n < 100 || n > 599 {
		return 0
	}
	return n
}

var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true,
	"HEAD": true, "OPTIONS": true, "CONNECT": true, "TRACE": true}

// positionalStatus finds the status in formats that do not name it:
//   - a request line, quoted or not, followed by the status: combined/common logs (nginx, Apache,
//     gunicorn, uvicorn, Django runserver), Envoy's default format, morgan "GET /x 500 3 ms";
//   - a message that starts with the status before a separator: "500 - blue" (argoproj/rollouts-demo);
//   - a status between pipes: "| 500 |" (gin, echo, fiber);
//   - "Completed 500 ..." (Rails, Spring).
func positionalStatus(msg string) int {
	f := strings.Fields(msg)
	if len(f) > 64 {
		f = f[:64]
	}
	if len(f) >= 2 && (f[1] == "-" || f[1] == "|") {
		if st := httpStatus(f[0]); st != 0 {
			return st
		}
	}
	for i, w := range f {
		switch {
		case httpMethods[strings.TrimLeft(w, `"`)] && i+1 < len(f):
			if st := statusAfterRequest(f, i); st != 0 {
				return st
			}
		case w == "|" && i+2 < len(f) && f[i+2] == "|":
			if st := httpStatus(f[i+1]); st != 0 {
				return st
			}
		case isHAProxyTimers(w) && i+1 < len(f):
			// HAProxy's HTTP log: "Tq/Tw/Tc/Tr/Tt <status> <bytes>", the request line last.
			if st := httpStatus(f[i+1]); st != 0 {
				return st
			}
		case (w == "Sent" || w == "responded" || w == "Responded") && i+2 < len(f) && f[i+2] == "in":
			// Phoenix's Plug.Logger "Sent 500 in 3ms", Serilog's "responded 500 in 12.3 ms".
			if st := httpStatus(f[i+1]); st != 0 {
				return st
			}
		case w == "Completed" && i+1 < len(f):
			if st := httpStatus(f[i+1]); st != 0 {
				return st
			}
		}
	}
	return 0
}

// isHAProxyTimers matches HAProxy's timer group "0/0/1/37/38" (4 or 5 fields, -1 when a phase did
// not happen, "+" when logasap is on).
func isHAProxyTimers(w string) bool {
	parts := strings.Split(w, "/")
	if len(parts) < 4 || len(parts) > 5 {
		return false
	}
	for _, p := range parts {
		p = strings.TrimLeft(p, "+-")
		if p == "" || len(p) > 9 || !isPlainNumber(p) || strings.ContainsRune(p, '.') {
			return false
		}
	}
	return true
}

// statusAfterRequest reads the status following the request line that starts at f[i] (its method).
func statusAfterRequest(f []string, i int) int {
	target := f[i+1]
	if !strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "http") && target != "*" {
		return 0
	}
	j := i + 2
	quoted := strings.HasPrefix(f[i], `"`)
	if quoted {
		// Skip to the token that closes the quote ("GET /x HTTP/1.1" or "GET /x").
		for k := i + 1; k < len(f) && k < i+4; k++ {
			if strings.HasSuffix(f[k], `"`) {
				j = k + 1
				break
			}
		}
	} else if j < len(f) && strings.HasPrefix(f[j], "HTTP/") {
		j++
	}
	// The status follows within a few tokens ("from 10.0.0.1:1234 - 500" in chi's logger).
	for k := j; k < len(f) && k < j+4; k++ {
		if st := httpStatus(strings.Trim(f[k], `"`)); st != 0 {
			return st
		}
	}
	return 0
}

// positionalDuration finds a duration the line does not label: "(2.000000s)" (rollouts-demo),
// "took 12ms", "| 1.2ms |" (gin), a trailing "in 3.1ms" (chi, Rails) and, on a line that carries a
// status, "12.3 ms" (morgan).
func positionalDuration(msg string, access bool) (float64, bool) {
	f := strings.Fields(msg)
	if len(f) > 64 {
		f = f[:64]
	}
	for i, w := range f {
		if len(w) > 3 && w[0] == '(' && w[len(w)-1] == ')' {
			if d, ok := unitDuration(w[1 : len(w)-1]); ok {
				return d, true
			}
		}
		next := ""
		if i+1 < len(f) {
			next = f[i+1]
		}
		switch lw := strings.ToLower(strings.TrimRight(w, ":")); {
		case (lw == "took" || lw == "elapsed" || lw == "after") && next != "":
			if d, ok := unitDuration(strings.TrimRight(next, ",.;")); ok {
				return d, true
			}
		case lw == "in" && (i+2 >= len(f) || access) && next != "":
			if d, ok := unitDuration(strings.TrimRight(next, ",.;")); ok {
				return d, true
			}
		case w == "|" && i+2 < len(f) && f[i+2] == "|":
			if d, ok := unitDuration(next); ok {
				return d, true
			}
		case access && next == "ms" && isPlainNumber(w):
			if x, err := strconv.ParseFloat(w, 64); err == nil {
				return nonNegative(x * 1e-3)
			}
		}
	}
	return 0, false
}

// unitDuration parses a number WITH a unit ("12ms", "2.000000s", "1m3s", "850µs").
func unitDuration(v string) (float64, bool) {
	if v == "" || isPlainNumber(v) || !isDigit(v[0]) {
		return 0, false
	}
	d, err := time.ParseDuration(strings.Replace(v, "μ", "µ", 1))
	if err != nil {
		return 0, false
	}
	return nonNegative(d.Seconds())
}
