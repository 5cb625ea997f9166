package logmine

import (
	"sort"
	"strings"
	"time"
)

// Config tunes the miner. DefaultConfig is the one configuration used for every input.
type Config struct {
	// SimThreshold is the share of a template's tokens a record must match to join it.
	SimThreshold float64
	// MaxExamples distinct example records kept per template.
	MaxExamples int
	// MaxExampleBytes truncates each stored example.
	MaxExampleBytes int
}

// DefaultConfig returns the single configuration fixloop uses for all logs.
func DefaultConfig() Config {
	return Config{SimThreshold: 0.5, MaxExamples: 3, MaxExampleBytes: 4096}
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
type Miner struct {
	cfg       Config
	z         *tokenizer
	templates []*Template
	byLen     map[int][]*Template
	exact     map[string]*Template // masked token sequence → template: most records skip the search
}

// NewMiner returns an empty miner.
func NewMiner(c Config) *Miner {
	d := DefaultConfig()
	if c.SimThreshold <= 0 || c.SimThreshold > 1 {
		c.SimThreshold = d.SimThreshold
	}
	if c.MaxExamples < 0 {
		c.MaxExamples = 0
	}
	if c.MaxExampleBytes <= 0 {
		c.MaxExampleBytes = d.MaxExampleBytes
	}
	return &Miner{cfg: c, z: newTokenizer(), byLen: map[int][]*Template{}, exact: map[string]*Template{}}
}

// Add mines one record and returns its template. The template's ID never changes for the Miner's life,
// though its Pattern may generalise as more records arrive.
func (m *Miner) Add(r Record) *Template {
	z := m.z
	z.tokenize(headline(r.Text))
	t := m.exact[string(z.sig)]
	if t == nil {
		t = m.match(z.toks)
		if len(m.exact) >= 1<<20 {
			clear(m.exact)
		}
		m.exact[string(z.sig)] = t
	}
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
	if !t.Severe && IsSevere(r) {
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

// match finds the most similar template of the same length, generalising it, or creates a new one.
func (m *Miner) match(toks []string) *Template {
	n := len(toks)
	var best *Template
	bestSim := -1.0
	for _, c := range m.byLen[n] {
		sim := similarity(c.tokens, toks)
		if sim > bestSim {
			best, bestSim = c, sim
		}
	}
	if best != nil && bestSim >= m.cfg.SimThreshold {
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

func similarity(tmpl, toks []string) float64 {
	if len(toks) == 0 {
		return 1
	}
	same := 0
	for i, tok := range toks {
		if tmpl[i] == tok {
			same++
		}
	}
	return float64(same) / float64(len(toks))
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
