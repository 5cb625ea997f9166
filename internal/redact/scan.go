package redact

import (
	"bytes"
	"strings"
)

// span is a byte range of the input to replace with a redaction mark.
type span struct {
	start, end int
	kind       string
}

// apply rebuilds s with spans (sorted, non-overlapping) replaced; s itself when there are none.
func apply(s string, spans []span) string {
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16*len(spans))
	prev := 0
	for _, sp := range spans {
		if sp.start < prev {
			continue
		}
		b.WriteString(s[prev:sp.start])
		b.WriteString(Mark(sp.kind))
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isUpperAlnum(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// lowerASCII lowercases ASCII letters only, so every byte keeps its offset (strings.ToLower may not): a
// line is lowered once and each word is then found with bytes.Index instead of a byte-by-byte fold.
// buf is the caller's (a stack array for most lines), so a clean line costs no allocation.
func lowerASCII(buf []byte, s string) []byte {
	b := append(buf[:0], s...)
	for i, c := range b {
		b[i] = lower(c)
	}
	return b
}

// indexFold finds sub (lower case ASCII letters) from i on in ls = lowerASCII(_, s), i.e. in s
// ignoring case; -1 when absent.
func indexFold(ls []byte, sub string, i int) int {
	if i > len(ls) {
		return -1
	}
	if k := bytes.Index(ls[i:], []byte(sub)); k >= 0 {
		return i + k
	}
	return -1
}

// redactURLCredentials: scheme://user:pass@host → scheme://[REDACTED:url_credentials]@host.
func redactURLCredentials(s string) string {
	var spans []span
	for i := 0; ; {
		k := strings.Index(s[i:], "://")
		if k < 0 {
			break
		}
		start := i + k + 3
		j := start
		colon := false
		for j < len(s) {
			c := s[j]
			if c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '?' || c == '#' {
				break
			}
			if c == ':' {
				colon = true
			}
			if c == '@' {
				break
			}
			j++
		}
		if j < len(s) && s[j] == '@' && colon && j > start {
			spans = append(spans, span{start, j, "url_credentials"})
		}
		i = start
	}
	return apply(s, spans)
}

func isCredChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='
}

// redactAuthSchemes: "Bearer <cred>", "Basic <cred>" and "token <random-looking cred>".
func redactAuthSchemes(s string) string {
	var spans []span
	var buf [512]byte
	ls := lowerASCII(buf[:], s)
	for _, scheme := range [...]struct{ word, kind string }{{"bearer", "bearer"}, {"basic", "basic_auth"}, {"token", "bearer"}} {
		for i := 0; ; {
			k := indexFold(ls, scheme.word, i)
			if k < 0 {
				break
			}
			i = k + len(scheme.word)
			if k > 0 && isAlnum(s[k-1]) {
				continue
			}
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			if j == i {
				continue
			}
			e := j
			for e < len(s) && isCredChar(s[e]) {
				e++
			}
			cred := s[j:e]
			if len(cred) < 8 || strings.HasPrefix(cred, "[REDACTED") {
				continue
			}
			if scheme.word != "bearer" && !looksRandom(cred) {
				continue
			}
			spans = append(spans, span{j, e, scheme.kind})
			i = e
		}
	}
	sortSpans(spans)
	return apply(s, spans)
}

func sortSpans(sp []span) {
	for i := 1; i < len(sp); i++ {
		for j := i; j > 0 && sp[j].start < sp[j-1].start; j-- {
			sp[j], sp[j-1] = sp[j-1], sp[j]
		}
	}
}

// redactTokenFormats finds provider tokens by their fixed shapes: AWS access key IDs, GitHub tokens,
// Slack tokens and Google API keys.
func redactTokenFormats(s string) string {
	var spans []span
	boundary := func(i int) bool { return i < 0 || i >= len(s) || !(isAlnum(s[i]) || s[i] == '_') }
	for i := 0; i+20 <= len(s); i++ {
		c := s[i]
		if !boundary(i - 1) {
			continue
		}
		switch c {
		case 'A':
			// AKIA/ASIA/... + 16 upper-case alphanumerics.
			p := s[i : i+4]
			switch p {
			case "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA", "ABIA", "ACCA":
				j := i + 4
				for j < len(s) && isUpperAlnum(s[j]) {
					j++
				}
				if j-i == 20 && boundary(j) {
					spans = append(spans, span{i, j, "aws_access_key"})
					i = j
				}
			case "AIza":
				j := i + 4
				for j < len(s) && (isAlnum(s[j]) || s[j] == '-' || s[j] == '_') {
					j++
				}
				if j-i == 39 {
					spans = append(spans, span{i, j, "google_api_key"})
					i = j
				}
			}
		case 'g':
			j := -1
			if s[i+1] == 'h' && strings.IndexByte("pousr", s[i+2]) >= 0 && s[i+3] == '_' {
				j = i + 4
			} else if strings.HasPrefix(s[i:], "github_pat_") {
				j = i + len("github_pat_")
			}
			if j < 0 {
				continue
			}
			e := j
			for e < len(s) && (isAlnum(s[e]) || s[e] == '_') {
				e++
			}
			if e-j >= 20 {
				spans = append(spans, span{i, e, "github_token"})
				i = e
			}
		case 'x':
			if s[i+1] == 'o' && s[i+2] == 'x' && strings.IndexByte("abposr", s[i+3]) >= 0 && s[i+4] == '-' {
				e := i + 5
				for e < len(s) && (isAlnum(s[e]) || s[e] == '-') {
					e++
				}
				if e-i >= 15 {
					spans = append(spans, span{i, e, "slack_token"})
					i = e
				}
			}
		}
	}
	return apply(s, spans)
}

// Key stems that make a key=value pair secret.
var secretStems = []string{"pass", "pwd", "secret", "token", "key", "auth", "credential", "session", "cookie", "sig"}

func isKeyChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// secretKind classifies a key name; "" when the key is not secret-bearing.
func secretKind(key string) string {
	k := strings.ToLower(key)
	switch {
	case strings.Contains(k, "passw") || strings.Contains(k, "passphrase") || strings.Contains(k, "pwd") ||
		strings.HasSuffix(k, "pass") || strings.Contains(k, "pass_") || strings.Contains(k, "pass-"):
		return "password"
	case strings.Contains(k, "token"):
		return "token"
	case strings.Contains(k, "secret") || strings.Contains(k, "credential") || strings.Contains(k, "cookie"):
		return "secret"
	case strings.Contains(k, "apikey") || strings.Contains(k, "api_key") || strings.Contains(k, "api-key") ||
		strings.Contains(k, "accesskey") || strings.Contains(k, "access_key") || strings.Contains(k, "access-key") ||
		strings.Contains(k, "privatekey") || strings.Contains(k, "private_key") || strings.Contains(k, "private-key") ||
		strings.Contains(k, "signingkey") || strings.Contains(k, "signing_key") || strings.Contains(k, "encryption_key"):
		return "api_key"
	case strings.Contains(k, "session_id") || strings.Contains(k, "sessionid") || strings.Contains(k, "session-id"):
		return "secret"
	case strings.Contains(k, "authorization") || strings.Contains(k, "authtoken") || strings.Contains(k, "auth_token") ||
		strings.Contains(k, "authkey") || strings.Contains(k, "auth_key") || strings.Contains(k, "auth-token"):
		return "secret"
	case strings.Contains(k, "auth") && !strings.Contains(k, "author"):
		// "auth:SIMPLE", "AuthFail:sts" name a method or an event; only a credential-looking value is a secret.
		return weakAuth
	case strings.HasSuffix(k, "accountkey") || strings.HasSuffix(k, "sharedaccesskey") || strings.HasSuffix(k, "masterkey") ||
		strings.HasSuffix(k, "clientkey") || strings.HasSuffix(k, "licensekey") || strings.HasSuffix(k, "secretkey"):
		return "api_key"
	case k == "key" || k == "sig" || strings.HasSuffix(k, "_key") || strings.HasSuffix(k, "-key") || strings.HasSuffix(k, ".key"):
		// Bare "key" is also a cache or map key ("key=user:42"): only credential-looking values count.
		return weakKey
	}
	return ""
}

// weakKey and weakAuth mark key names whose value is a secret only when it looks like one.
const (
	weakKey  = "key?"
	weakAuth = "auth?"
)

// credentialLike: 16+ characters of one token (no ':', '/', '.' separators of ids and paths), with at
// least two of upper, lower and digit.
func credentialLike(v string) bool {
	if len(v) < 16 || strings.ContainsAny(v, ":/.@ ") {
		return false
	}
	return looksRandom(v)
}

// redactKeyValues redacts values of secret-named keys: k=v, k: v, "k":"v", k='v'.
func redactKeyValues(s string) string {
	if strings.IndexByte(s, '=') < 0 && strings.IndexByte(s, ':') < 0 {
		return s
	}
	var spans []span
	var buf [512]byte
	ls := lowerASCII(buf[:], s)
	for _, stem := range secretStems {
		for i := 0; ; {
			k := indexFold(ls, stem, i)
			if k < 0 {
				break
			}
			ks, ke := k, k+len(stem)
			for ks > 0 && isKeyChar(s[ks-1]) {
				ks--
			}
			for ke < len(s) && isKeyChar(s[ke]) {
				ke++
			}
			i = ke
			kind := secretKind(s[ks:ke])
			if kind == "" {
				continue
			}
			vs, ve, ok := valueAfterKey(s, ke)
			if !ok {
				continue
			}
			if kind, ok = secretValueKind(kind, s[vs:ve]); !ok {
				continue
			}
			spans = append(spans, span{vs, ve, kind})
			i = ve
		}
	}
	sortSpans(spans)
	return apply(s, spans)
}

// valueAfterKey finds the value of the key ending at ke: an optional closing quote of the key, '=' or
// ':' (spaces around), then a quoted value or one up to the next separator.
func valueAfterKey(s string, ke int) (vs, ve int, ok bool) {
	j := ke
	if j < len(s) && (s[j] == '"' || s[j] == '\'') {
		j++
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j >= len(s) || (s[j] != '=' && s[j] != ':') {
		return 0, 0, false
	}
	j++
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j >= len(s) {
		return 0, 0, false
	}
	vs, ve = j, j
	if q := s[j]; q == '"' || q == '\'' {
		vs = j + 1
		ve = vs
		for ve < len(s) && s[ve] != q && s[ve] != '\n' {
			if s[ve] == '\\' && q == '"' {
				ve++
			}
			ve++
		}
		if ve > len(s) {
			ve = len(s)
		}
	} else {
		for ve < len(s) && !strings.ContainsRune(" \t\r\n,;&}\"'])", rune(s[ve])) {
			ve++
		}
	}
	return vs, ve, true
}

// secretValueKind decides whether val, the value of a key of kind, is a secret, and under which kind
// it is redacted (weak key names need a credential-like value).
func secretValueKind(kind, val string) (string, bool) {
	if !isSecretValue(val) || (kind == weakKey && !credentialLike(val)) || (kind == weakAuth && !credentialLike(val)) {
		return "", false
	}
	if kind == "token" && strings.ContainsAny(val, "{(") {
		return "", false // an object dump ("token=Token{78af589"), not a token value
	}
	switch kind {
	case weakKey:
		kind = "api_key"
	case weakAuth:
		kind = "secret"
	}
	if kind == "token" && len(val) < 8 && allDigits(val) {
		return "", false // a count ("tokens=50"), not a token
	}
	return kind, true
}

func isSecretValue(v string) bool {
	if v == "" || strings.HasPrefix(v, "[REDACTED:") {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "false", "null", "none", "nil", "***", "*****", "<redacted>", "[redacted]", "bearer", "basic", "token":
		return false
	}
	return true
}

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// redactEmails replaces local@domain.tld addresses.
func redactEmails(s string) string {
	var spans []span
	for i := 0; ; {
		k := strings.IndexByte(s[i:], '@')
		if k < 0 {
			break
		}
		at := i + k
		ls := at
		for ls > 0 && isEmailLocal(s[ls-1]) {
			ls--
		}
		de := at + 1
		lastDot := -1
		for de < len(s) && (isAlnum(s[de]) || s[de] == '-' || s[de] == '.') {
			if s[de] == '.' {
				lastDot = de
			}
			de++
		}
		// Trailing dots end sentences, not domains.
		for de > at+1 && s[de-1] == '.' {
			de--
			lastDot = strings.LastIndexByte(s[at+1:de], '.')
			if lastDot >= 0 {
				lastDot += at + 1
			}
		}
		i = at + 1
		if ls == at || lastDot < 0 || lastDot == at+1 || de-lastDot-1 < 2 {
			continue
		}
		tldOK := true
		for p := lastDot + 1; p < de; p++ {
			if !((s[p] >= 'a' && s[p] <= 'z') || (s[p] >= 'A' && s[p] <= 'Z')) {
				tldOK = false
			}
		}
		if !tldOK {
			continue
		}
		spans = append(spans, span{ls, de, "email"})
		i = de
	}
	return apply(s, spans)
}

func allDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v != ""
}
