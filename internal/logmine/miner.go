package logmine

import (
	"sort"
	"strings"
	"time"
)

// Config tunes the miner. DefaultConfig is the one configuration used for every input.
type Config struct {
	// VariableCardinality: a column (a token position in a given context) is a variable once it has
	// shown more than this many distinct values; below it, differing words are distinct events
	// ("VM Started" vs "VM Paused"), above it they are parameters (user names, host names).
	VariableCardinality int
	// MaxExamples distinct example records kept per template.
	MaxExamples int
	// MaxExampleBytes truncates each stored example.
	MaxExampleBytes int
}

// DefaultConfig returns the single configuration fixloop uses for all logs.
func DefaultConfig() Config {
	return Config{VariableCardinality: 4, MaxExamples: 3, MaxExampleBytes: 4096}
}

// Template is one mined event type.
type Template struct {
	ID       int       `json:"id"`
	Pattern  string    `json:"pattern"`
	Count    int       `json:"count"`
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
	Examples []string  `json:"examples"`
	Level    string    `json:"level,omitempty"` // most severe level seen
	Severe   bool      `json:"severe"`          // any record was severe (see IsSevere)

	tokens []string
}

// Miner groups records into templates as they stream in. It is not safe for concurrent use.
//
// Records are tokenised and masked (numbers, hex, UUIDs, IPs, paths, URLs, quoted values...). A record
// whose masked token sequence was seen before goes straight to that template. Otherwise it joins a
// template of the same length if every differing position is a variable column: one whose context (its
// position and neighbouring tokens) has shown more than VariableCardinality distinct values. Column
// statistics grow with every new token sequence; Observe lets a caller feed them in a first pass.
type Miner struct {
	cfg       Config
	z         *tokenizer
	templates []*Template
	byLen     map[int][]*Template
	// seqs maps each masked token sequence seen (by Observe or Add) to its template, nil until added:
	// most records skip the search, and a sequence counts once in the column statistics.
	seqs     map[string]seqEntry
	columns  map[uint64]*column
	hashes   []uint64
	firstVar bool // firstTokenVariable of the record being matched
}

type seqEntry struct {
	t *Template
	// markers: the headline carries a severity marker (panic:, out of memory, ...). Markers are words,
	// so records with the same masked tokens share them and the scan runs once per token sequence.
	markers bool
}

// column holds the distinct values (as hashes) seen in one context, up to a cap.
type column struct {
	vals [maxColumnValues]uint64
	n    int
}

const maxColumnValues = 16

// NewMiner returns an empty miner.
func NewMiner(c Config) *Miner {
	d := DefaultConfig()
	if c.VariableCardinality <= 0 || c.VariableCardinality >= maxColumnValues {
		c.VariableCardinality = d.VariableCardinality
	}
	if c.MaxExamples < 0 {
		c.MaxExamples = 0
	}
	if c.MaxExampleBytes <= 0 {
		c.MaxExampleBytes = d.MaxExampleBytes
	}
	return &Miner{cfg: c, z: newTokenizer(), byLen: map[int][]*Template{}, seqs: map[string]seqEntry{},
		columns: map[uint64]*column{}}
}

// Observe feeds a record into the column statistics without creating templates. Calling it for every
// record before Add (two passes) lets the first records be grouped with what later ones reveal.
func (m *Miner) Observe(r Record) {
	m.z.tokenize(headline(r.Text))
	if _, ok := m.seqs[string(m.z.sig)]; ok {
		return
	}
	m.hashTokens()
	m.countColumns()
	m.remember(seqEntry{})
}

func (m *Miner) remember(e seqEntry) {
	if len(m.seqs) >= 1<<20 {
		clear(m.seqs) // only a cache and a dedup set: sequences are re-learnt
	}
	m.seqs[string(m.z.sig)] = e
}

func (m *Miner) hashTokens() {
	m.hashes = m.hashes[:0]
	for _, t := range m.z.toks {
		m.hashes = append(m.hashes, hashString(t))
	}
}

// countColumns adds the current token sequence to the column statistics (m.hashes filled).
func (m *Miner) countColumns() {
	for i := range m.z.toks {
		k := m.contextKey(i)
		c := m.columns[k]
		if c == nil {
			if len(m.columns) >= 1<<20 {
				continue
			}
			c = &column{}
			m.columns[k] = c
		}
		c.add(m.hashes[i])
	}
}

func (c *column) add(v uint64) {
	for _, x := range c.vals[:c.n] {
		if x == v {
			return
		}
	}
	if c.n < maxColumnValues {
		c.vals[c.n] = v
		c.n++
	}
}

var wildcardHash = hashString(Wildcard)

// contextKey identifies column i of the current token sequence by length, position and its nearest
// non-wildcard neighbours (a wildcard neighbour says nothing about which event this is).
func (m *Miner) contextKey(i int) uint64 {
	n := len(m.hashes)
	prev, next := uint64(0x9e3779b97f4a7c15), uint64(0xc2b2ae3d27d4eb4f)
	for k := i - 1; k >= 0; k-- {
		if m.hashes[k] != wildcardHash {
			prev = m.hashes[k]
			break
		}
	}
	for k := i + 1; k < n; k++ {
		if m.hashes[k] != wildcardHash {
			next = m.hashes[k]
			break
		}
	}
	h := uint64(n)<<32 | uint64(i)
	h = mix(h ^ prev*0xff51afd7ed558ccd)
	h = mix(h ^ next*0xc4ceb9fe1a85ec53)
	return h
}

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// hashString is FNV-1a; tokens are short.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Add mines one record and returns its template. The template's ID never changes for the Miner's life,
// though its Pattern may generalise as more records arrive.
func (m *Miner) Add(r Record) *Template {
	z := m.z
	head := headline(r.Text)
	z.tokenize(head)
	e, seen := m.seqs[string(z.sig)]
	if e.t == nil {
		m.hashTokens()
		if !seen {
			m.countColumns()
		}
		e = seqEntry{t: m.match(z.toks), markers: hasSevereMarker(head)}
		m.remember(e)
	}
	t := e.t
	t.Count++
	if !r.Time.IsZero() {
		if t.First.IsZero() || r.Time.Before(t.First) {
			t.First = r.Time
		}
		if r.Time.After(t.Last) {
			t.Last = r.Time
		}
	}
	if levelRank(r.Level) > levelRank(t.Level) {
		t.Level = r.Level
	}
	if !t.Severe && (e.markers || levelRank(r.Level) >= levelRank(LevelError) ||
		((len(head) < len(r.Text) || r.Level == LevelWarn) && IsSevere(r))) {
		t.Severe = true
	}
	if len(t.Examples) < m.cfg.MaxExamples {
		ex := r.Text
		if len(ex) > m.cfg.MaxExampleBytes {
			ex = ex[:m.cfg.MaxExampleBytes]
		}
		dup := false
		for _, e := range t.Examples {
			if e == ex {
				dup = true
				break
			}
		}
		if !dup {
			t.Examples = append(t.Examples, strings.Clone(ex))
		}
	}
	return t
}

// match finds the best template of the same length whose differences all fall on variable columns,
// generalising it, or creates a new template.
func (m *Miner) match(toks []string) *Template {
	n := len(toks)
	m.firstVar = n > 0 && firstTokenVariable(toks[0])
	var best *Template
	bestSame := -1
	for _, c := range m.byLen[n] {
		same, ok := m.compatible(c.tokens, toks)
		if ok && same > bestSame {
			best, bestSame = c, same
		}
	}
	if best != nil {
		changed := false
		for i, tok := range toks {
			if best.tokens[i] != tok && best.tokens[i] != Wildcard {
				best.tokens[i] = Wildcard
				changed = true
			}
		}
		if changed {
			best.Pattern = strings.Join(best.tokens, " ")
		}
		return best
	}
	t := &Template{ID: len(m.templates) + 1, tokens: make([]string, n)}
	copy(t.tokens, toks)
	t.Pattern = strings.Join(t.tokens, " ")
	m.templates = append(m.templates, t)
	m.byLen[n] = append(m.byLen[n], t)
	return t
}

// compatible reports whether toks may join tmpl (m.hashes holds toks' hashes) and how many tokens match.
func (m *Miner) compatible(tmpl, toks []string) (int, bool) {
	same := 0
	for i, tok := range toks {
		switch tmpl[i] {
		case tok:
			if tok != Wildcard {
				same++
			}
		case Wildcard:
			if i == 0 && !m.firstVar {
				return same, false
			}
		default:
			// Two shapes of one value ("(<*>)" and "()", "<*>," and "LOCAL(<*>),") need no statistics.
			if valueShaped(tmpl[i], tok) {
				continue
			}
			// Upper-case identifiers are enum values (states, event types): constants.
			if isEnumWord(tok) && isEnumWord(tmpl[i]) {
				return same, false
			}
			// Messages start with a constant: a plain word first is never a parameter.
			if i == 0 && !m.firstVar && !firstTokenVariable(tmpl[0]) {
				return same, false
			}
			limit := m.cfg.VariableCardinality
			if i > 0 && namesValue(toks[i-1]) && limit > 2 {
				limit = 2
			}
			c := m.columns[m.contextKey(i)]
			if c == nil || c.n <= limit {
				return same, false
			}
		}
	}
	// A record must share at least one constant with the template: "<*> <*> <*>" explains nothing.
	return same, same > 0 || len(toks) == 0
}

// Templates returns the templates sorted by count (descending), then ID.
func (m *Miner) Templates() []*Template {
	out := make([]*Template, len(m.templates))
	copy(out, m.templates)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Template returns the template with the given ID, or nil.
func (m *Miner) Template(id int) *Template {
	if id < 1 || id > len(m.templates) {
		return nil
	}
	return m.templates[id-1]
}

// isValueish: only wildcards and punctuation, e.g. "<*>", "(<*>)", "[<*>],", "()".
func isValueish(s string) bool {
	for i := 0; i < len(s); i++ {
		if isAlpha(s[i]) || isDigit(s[i]) {
			return false
		}
	}
	return true
}

func valueShaped(a, b string) bool {
	va, vb := isValueish(a), isValueish(b)
	if (va && (vb || strings.Contains(b, Wildcard))) || (vb && strings.Contains(a, Wildcard)) {
		return true
	}
	return false
}

// firstTokenVariable: a message's first token is a parameter only when it holds a masked value or is a
// qualified name like "com.apple.icloud.fmfd.heartbeat:"; "cupsd" or "rpc.statd" name distinct events.
func firstTokenVariable(s string) bool {
	return strings.Contains(s, Wildcard) || strings.Count(s, ".") >= 2
}

// nameNouns precede a value in prose logs: "for user alice", "on host db1", "instance web-3".
var nameNouns = map[string]bool{
	"user": true, "username": true, "host": true, "hostname": true, "node": true, "file": true,
	"filename": true, "path": true, "id": true, "name": true, "instance": true, "job": true, "task": true,
	"container": true, "pod": true, "namespace": true, "service": true, "account": true, "table": true,
	"database": true, "queue": true, "topic": true, "device": true, "domain": true, "session": true,
	"client": true, "server": true, "address": true, "key": true, "bucket": true, "image": true,
	"volume": true, "cluster": true, "tenant": true, "project": true, "group": true, "role": true,
	"package": true, "module": true, "process": true, "thread": true, "url": true, "uri": true,
}

func namesValue(prev string) bool {
	n := len(prev)
	for n > 0 && (prev[n-1] == ':' || prev[n-1] == '=') {
		n--
	}
	if n == 0 || n > 10 {
		return false
	}
	var buf [10]byte
	copy(buf[:], prev[:n])
	return nameNouns[string(buf[:n])] // lower case only: "Instance destroyed" starts a sentence
}

// isEnumWord: "RUNNING", "FAIL_TASK_CLEANUP" (trailing punctuation allowed).
func isEnumWord(s string) bool {
	n := len(s)
	for n > 0 && trailPunct[s[n-1]] {
		n--
	}
	if n < 2 {
		return false
	}
	for i := 0; i < n; i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z') && c != '_' {
			return false
		}
	}
	return true
}
