package redact

import (
	"encoding/base64"
	"strings"
)

// Secrets without a prefix: payment card numbers (Luhn-checked, known issuer ranges), bare AWS secret
// access keys (40 base64 characters) and PEM body lines left without their header. The base64 kinds
// must decode to binary: base64 of plain words ("aGVsbG8gd29ybGQ=") is text, not a key, and stays.

// redactCards replaces 13-19 digit card numbers, optionally grouped by single spaces or dashes.
func redactCards(s string) string {
	var spans []span
	for i := 0; i < len(s); i++ {
		// A card number stands apart: after a space, '=', a quote or a bracket, never inside an id
		// ("blk_5408...", "v1.2", "10:30").
		if !isDigit(s[i]) || (i > 0 && !strings.ContainsRune(" \t=\"'([,", rune(s[i-1]))) {
			continue
		}
		digits := make([]byte, 0, 19)
		e := i
		for e < len(s) && len(digits) <= 19 {
			c := s[e]
			if isDigit(c) {
				digits = append(digits, c)
				e++
				continue
			}
			if (c == ' ' || c == '-') && e+1 < len(s) && isDigit(s[e+1]) && len(digits)%4 == 0 && len(digits) > 0 {
				e++
				continue
			}
			break
		}
		if e < len(s) && (isAlnum(s[e]) || s[e] == '.' || s[e] == ':') {
			i = e
			continue
		}
		if len(digits) >= 13 && len(digits) <= 19 && issuerPrefix(digits) && luhn(digits) {
			spans = append(spans, span{i, e, "card_number"})
		}
		i = e
	}
	return apply(s, spans)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// issuerPrefix keeps card ranges only (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay), so
// epoch timestamps and ids (which start with 1) never match.
func issuerPrefix(d []byte) bool {
	two := int(d[0]-'0')*10 + int(d[1]-'0')
	four := two*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	switch {
	case d[0] == '4':
		return true
	case two >= 51 && two <= 55, four >= 2221 && four <= 2720:
		return true
	case two == 34 || two == 37 || two == 36 || two == 38 || two == 30:
		return true
	case four == 6011 || two == 65 || two == 62 || (four >= 3528 && four <= 3589):
		return true
	}
	return false
}

func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// redactBase64Secrets finds runs of base64 characters that decode to binary: exactly 40 (an AWS secret
// access key), 60 or more (PEM body lines are 64), or 40+ starting with MII (DER always does).
func redactBase64Secrets(s string) string {
	var spans []span
	for i := 0; i < len(s); {
		if !isB64Char(s[i]) || (i > 0 && (isB64Char(s[i-1]) || s[i-1] == '=' || s[i-1] == '-' || s[i-1] == '_' || s[i-1] == '.')) {
			i++
			continue
		}
		e := i
		for e < len(s) && isB64Char(s[e]) {
			e++
		}
		pad := e
		for pad < len(s) && s[pad] == '=' && pad-e < 2 {
			pad++
		}
		if kind := base64Kind(s, i, e, pad); kind != "" {
			spans = append(spans, span{i, pad, kind})
		}
		i = pad + 1
	}
	return apply(s, spans)
}

func base64Kind(s string, i, e, pad int) string {
	if pad < len(s) && (isAlnum(s[pad]) || s[pad] == '_' || s[pad] == '-' || s[pad] == '.') {
		return ""
	}
	tok := s[i:pad]
	n := e - i
	if looksLikePath(tok) {
		return ""
	}
	switch {
	case n == 40 && pad == e && mixedClasses(tok) && binaryBase64(tok):
		return "aws_secret_key"
	case n >= 40 && strings.HasPrefix(tok, "MII") && binaryBase64(tok):
		return "private_key"
	case n >= 60 && mixedClasses(tok) && binaryBase64(tok):
		// A PEM body line (64 characters) or any long binary blob: key material, never worth sending.
		return "private_key"
	}
	return ""
}

// mixedClasses: upper, lower and digit all present (hex digests and words have fewer).
func mixedClasses(t string) bool {
	var u, l, d bool
	for i := 0; i < len(t); i++ {
		c := t[i]
		u = u || (c >= 'A' && c <= 'Z')
		l = l || (c >= 'a' && c <= 'z')
		d = d || isDigit(c)
	}
	return u && l && d
}

// binaryBase64 decodes t (padding optional) and reports whether it is mostly non-text bytes.
func binaryBase64(t string) bool {
	t = strings.TrimRight(t, "=")
	b, err := base64.RawStdEncoding.DecodeString(t[:len(t)/4*4])
	if err != nil || len(b) == 0 {
		return false
	}
	text := 0
	for _, c := range b {
		if (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c == '\r' {
			text++
		}
	}
	return text*10 < len(b)*8 // under 80% printable: binary
}

// looksLikePath: a run of base64 characters that is really a path ("GLOBALROOT/Device/Harddisk...")
// has several slashes between word-like segments; random base64 almost never does.
func looksLikePath(t string) bool {
	t = strings.TrimRight(t, "=")
	nsegs := strings.Count(t, "/") + 1
	if nsegs < 3 {
		return false
	}
	words := 0
	// Walk the segments in place: strings.Split allocated a slice for every base64-looking token.
	for rest, more := t, true; more; {
		var sg string
		sg, rest, more = strings.Cut(rest, "/")
		j := 0
		for j < len(sg) && ((sg[j] >= 'a' && sg[j] <= 'z') || (sg[j] >= 'A' && sg[j] <= 'Z')) {
			j++
		}
		for k := j; k < len(sg) && isDigit(sg[k]); k++ {
			j++
		}
		if j == len(sg) && len(sg) >= 2 && caseChanges(sg) <= 2 {
			words++
		}
	}
	return words*2 >= nsegs
}

// caseChanges counts lower-to-upper steps: path words have few ("HarddiskVolume1", "ProgramFiles"),
// random key material has many ("wJalrXUtnFEMI").
func caseChanges(w string) int {
	n := 0
	for i := 1; i < len(w); i++ {
		if w[i-1] >= 'a' && w[i-1] <= 'z' && w[i] >= 'A' && w[i] <= 'Z' {
			n++
		}
	}
	return n
}
