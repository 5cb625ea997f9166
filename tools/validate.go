package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// argValidator checks a call's arguments against the tool's input schema and says what is wrong in
// words a person (or a model) can act on: "unknown argument `selector` (did you mean `labelSelector`?)"
// rather than the validator's struct dump. It replaces mcp-go's built-in validation for that reason.
type argValidator struct {
	tool   string
	schema []byte
	props  []string
	once   sync.Once
	comp   *jsonschema.Schema
	err    error
}

func newArgValidator(tool string, schema json.RawMessage) *argValidator {
	v := &argValidator{tool: tool, schema: schema}
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(schema, &s) == nil {
		for p := range s.Properties {
			v.props = append(v.props, p)
		}
		slices.Sort(v.props)
	}
	return v
}

var englishPrinter = message.NewPrinter(language.English)

// check returns nil when raw (the call's JSON arguments) satisfies the schema.
func (v *argValidator) check(raw []byte) error {
	v.once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(v.schema))
		if err != nil {
			v.err = err
			return
		}
		c := jsonschema.NewCompiler()
		url := "mem:///fixloop/tools/" + v.tool + ".json"
		if v.err = c.AddResource(url, doc); v.err == nil {
			v.comp, v.err = c.Compile(url)
		}
	})
	if v.err != nil {
		return fmt.Errorf("%s: input schema does not compile (a fixloop bug): %v", v.tool, v.err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s: arguments are not valid JSON: %v", v.tool, err)
	}
	var verr *jsonschema.ValidationError
	if !errors.As(v.comp.Validate(inst), &verr) || verr == nil {
		return nil
	}
	var msgs []string
	for _, leaf := range leaves(verr) {
		msgs = append(msgs, v.describe(leaf))
	}
	slices.Sort(msgs)
	return fmt.Errorf("%s: %s", v.tool, strings.Join(slices.Compact(msgs), "; "))
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

func (v *argValidator) describe(e *jsonschema.ValidationError) string {
	valid := "valid arguments: " + strings.Join(v.props, ", ")
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		if len(e.InstanceLocation) > 0 {
			break
		}
		var parts []string
		for _, p := range k.Properties {
			s := fmt.Sprintf("unknown argument `%s`", p)
			if near := nearest(p, v.props); near != "" {
				s += fmt.Sprintf(" (did you mean `%s`?)", near)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "; ") + " — " + valid
	case *kind.Required:
		if len(e.InstanceLocation) == 0 {
			return fmt.Sprintf("missing required argument `%s` — %s", strings.Join(k.Missing, "`, `"), valid)
		}
	}
	where := "arguments"
	if len(e.InstanceLocation) > 0 {
		where = "argument `" + strings.Join(e.InstanceLocation, ".") + "`"
	}
	return where + ": " + e.ErrorKind.LocalizedString(englishPrinter)
}

// nearest is the known name closest to p (edit distance, or a name containing it), if close enough to
// be what was meant.
func nearest(p string, known []string) string {
	best, bestD := "", 1<<30
	lp := strings.ToLower(p)
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(lp, lk)
		if strings.Contains(lk, lp) || strings.Contains(lp, lk) {
			d = min(d, 1+abs(len(lk)-len(lp))/4)
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, len(p)/3) {
		return best
	}
	return ""
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
