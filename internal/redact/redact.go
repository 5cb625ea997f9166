// Package redact removes secrets and personal data from text before it leaves the process (LLM prompts,
// GitHub issues, tool output with logs).
//
// Coverage is measured on testdata/redaction_corpus.jsonl (synthetic secrets of every family, in log
// lines) through each surface, and the false-positive budget on testdata/redaction_harmless.txt: zero
// changed lines among UUIDs, git SHAs, image digests, base64 of plain words, timestamps and prose about
// tokens and keys. What is knowingly redacted beyond secrets: base64 runs of 40 or 60+ characters that
// decode to binary, values of bare "key" names that look random (16+ characters, two character classes,
// no ':' '/' '.'), and Luhn-valid card-range numbers of 13-19 digits.
package redact

import (
	"regexp"
	"strings"
)

// Rule is an extra pattern to redact; the whole match is replaced by [REDACTED:Kind].
type Rule struct {
	Kind    string
	Pattern *regexp.Regexp
}

// Config chooses what to redact beyond the always-on secret kinds.
type Config struct {
	// Emails redacts e-mail addresses.
	Emails bool
	// Extra rules run after the built-in ones.
	Extra []Rule
}

// Redactor redacts secrets. It is safe for concurrent use.
type Redactor struct {
	cfg Config
}

// New returns a Redactor for c.
func New(c Config) *Redactor { return &Redactor{cfg: c} }

// Default redacts every built-in kind, e-mail addresses included.
func Default() *Redactor { return New(Config{Emails: true}) }

// Mark is the replacement for a redacted value of the given kind.
func Mark(kind string) string { return "[REDACTED:" + kind + "]" }

var (
	rePEM = regexp.MustCompile(`-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----(?s:.*?)(?:-----END ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----|\z)`)
	reJWT = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*`)
)

// String returns s with secrets replaced by [REDACTED:kind]. Literal-prefixed kinds use regexps; the
// rest are hand-written scanners because Go regexps with leading classes cost tens of µs per line.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "-----BEGIN") {
		s = rePEM.ReplaceAllLiteralString(s, Mark("private_key"))
	}
	if strings.Contains(s, "://") {
		s = redactURLCredentials(s)
	}
	if strings.Contains(s, "eyJ") {
		s = reJWT.ReplaceAllLiteralString(s, Mark("jwt"))
	}
	if strings.Contains(s, "hook") || strings.Contains(s, "telegram.org/bot") {
		s = redactSecretURLs(s)
	}
	s = redactAuthSchemes(s)
	s = redactTokenFormats(s)
	s = redactPrefixed(s)
	s = redactKeyValues(s)
	s = redactMySQLPassword(s)
	if strings.Contains(s, ":AA") {
		s = redactTelegramTokens(s)
	}
	if strings.Contains(s, "Q~") {
		s = redactAzureClientSecrets(s)
	}
	s = redactCards(s)
	s = redactBase64Secrets(s)
	if r.cfg.Emails && strings.IndexByte(s, '@') >= 0 {
		s = redactEmails(s)
	}
	for _, rule := range r.cfg.Extra {
		if rule.Pattern != nil {
			s = rule.Pattern.ReplaceAllLiteralString(s, Mark(rule.Kind))
		}
	}
	return s
}

// Strings redacts every element in place and returns the slice.
func (r *Redactor) Strings(ss []string) []string {
	for i, s := range ss {
		ss[i] = r.String(s)
	}
	return ss
}

// looksRandom: credentials mix character classes or are long; words like "expired" are not credentials.
func looksRandom(s string) bool {
	end := strings.IndexAny(s, " \t\r\n,;\"'")
	if end >= 0 {
		s = s[:end]
	}
	if len(s) >= 20 {
		return true
	}
	var lower, upper, digit bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit} {
		if b {
			n++
		}
	}
	return n >= 2 && len(s) >= 8
}
