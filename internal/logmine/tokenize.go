package logmine

import "strings"

// The tokenizer: a message split into tokens, interned, with quantities and their units folded.

// tokenizer splits a headline into masked tokens. Its buffers are reused across calls.
type tokenizer struct {
	toks   []string
	sig    []byte // tokens joined by 0x1f: the exact-match cache key
	out    []byte
	intern map[string]string
}

const maxTokens = 256

func newTokenizer() *tokenizer {
	return &tokenizer{intern: make(map[string]string, 1024)}
}

func (z *tokenizer) internBytes(b []byte) string {
	if s, ok := z.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(z.intern) < 1<<16 {
		z.intern[s] = s
	}
	return s
}

// tokenize fills z.toks and z.sig from s.
func (z *tokenizer) tokenize(s string) {
	z.toks = z.toks[:0]
	z.sig = z.sig[:0]
	i := 0
	for i < len(s) && len(z.toks) < maxTokens {
		for i < len(s) && byteClass[s[i]]&clsSpace != 0 {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		var seen uint8
		quotes := 0
		for i < len(s) {
			cl := byteClass[s[i]]
			if cl&clsSpace != 0 {
				break
			}
			seen |= cl
			if s[i] == '"' {
				quotes++
			}
			i++
		}
		tok := s[start:i]
		if seen&clsDot != 0 {
			if d := z.maskDotted(tok); d != "" {
				z.add(d)
				continue
			}
		}
		if seen&(clsSpecial|clsDigit) == 0 && !(len(tok) >= 8 && hasHexRun(tok)) {
			z.add(tok)
			continue
		}
		// A double-quoted value with spaces inside is one variable: `tag="View Lock"` → `tag="<*>"`.
		if q := strings.IndexByte(tok, '"'); quotes == 1 && q < len(tok)-1 {
			if end := strings.IndexByte(s[i:], '"'); end >= 0 && end < 256 {
				inner := s[start+q+1 : i+end]
				if strings.IndexByte(inner, '\n') < 0 {
					i += end + 1
					for i < len(s) && byteClass[s[i]]&clsSpace == 0 {
						i++
					}
					z.add(z.maskQuoted(s[start:i], q, q+1+len(inner)))
					continue
				}
			}
		}
		z.add(z.maskToken(tok))
	}
	z.finish()
}

var units = map[string]bool{
	"b": true, "kb": true, "mb": true, "gb": true, "tb": true, "kib": true, "mib": true, "gib": true,
	"byte": true, "bytes": true, "ns": true, "us": true, "µs": true, "ms": true, "s": true, "sec": true,
	"secs": true, "second": true, "seconds": true, "min": true, "mins": true, "minute": true, "minutes": true,
	"h": true, "hour": true, "hours": true, "%": true, "percent": true,
}

// unitToken splits "KB)," into a unit and its trailing punctuation.
func unitToken(t string) (string, bool) {
	n := len(t)
	for n > 0 && trailPunct[t[n-1]] {
		n--
	}
	if n == 0 || n > 7 {
		return "", false
	}
	var buf [8]byte
	for i := 0; i < n; i++ {
		buf[i] = lowerASCII(t[i])
	}
	if !units[string(buf[:n])] {
		return "", false
	}
	return t[n:], true
}

// foldQuantities makes a quantity one token whatever its spelling: "12 ms" → "<*>", "1234 bytes (1.2 KB)"
// → "<*>", so sizes and durations with or without a unit or a human-readable restatement align.
func (z *tokenizer) foldQuantities() {
	out := z.toks[:0]
	for _, t := range z.toks {
		if k := len(out); k > 0 && isValueish(out[k-1]) && strings.Contains(out[k-1], Wildcard) {
			prev := out[k-1]
			if trail, ok := unitToken(t); ok {
				out[k-1] = z.internString(prev + trail)
				continue
			}
			// "(<*>)" right after a value restates it.
			if k > 0 && strings.HasPrefix(t, "(") && isValueish(t) &&
				!strings.HasPrefix(prev, "(") && !strings.HasSuffix(prev, ",") {
				out[k-1] = z.internString(prev + t[strings.LastIndexByte(t, ')')+1:])
				continue
			}
		}
		out = append(out, t)
	}
	z.toks = out
}

func (z *tokenizer) internString(s string) string {
	if v, ok := z.intern[s]; ok {
		return v
	}
	if len(z.intern) < 1<<16 {
		z.intern[s] = s
	}
	return s
}

// finish applies cross-token masking and builds the exact-match key.
func (z *tokenizer) finish() {
	z.maskDates()
	z.foldQuantities()
	z.sig = z.sig[:0]
	for i, t := range z.toks {
		if i > 0 {
			z.sig = append(z.sig, 0x1f)
		}
		z.sig = append(z.sig, t...)
	}
}

func (z *tokenizer) add(t string) {
	z.toks = append(z.toks, t)
}
