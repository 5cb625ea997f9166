package logmine

import (
	"strconv"
	"strings"
	"time"
)

// Timestamps in the formats servers and frameworks print them.

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
			return isoDateTime(s, y)
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
	return monthNameTime(s)
}

// isoDateTime parses the rest of "YYYY-MM-DD hh:mm:ss[.frac][Z|±hh[:]mm]" (or with '/' and 'T') once
// the year y is read.
func isoDateTime(s string, y int) (time.Time, int, bool) {
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

// monthNameTime parses "Mon Jan _2 15:04:05 2006" (Apache) or "Jan _2 15:04:05" (syslog); a missing
// year is this year.
func monthNameTime(s string) (time.Time, int, bool) {
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
