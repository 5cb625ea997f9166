package config

import (
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// masked replaces a set secret in printed configuration.
const masked = "********"

// Masked returns a copy of c whose secrets (the rows without a flag) read "********" when set.
func (c *Config) Masked() *Config {
	m := *c
	for _, s := range settings {
		if s.flag != "" {
			continue
		}
		if p, ok := s.ptr(&m).(*string); ok && *p != "" {
			*p = masked
		}
	}
	m.Store = maskURLPassword(m.Store)
	return &m
}

// maskURLPassword hides the password of a connection URL (the rest says which database is used).
func maskURLPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if s == "" {
			return s
		}
		return masked // unparsable: it may hold a password anywhere
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), masked)
		return strings.Replace(u.String(), url.QueryEscape(masked), masked, 1)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", masked)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// YAML is the configuration as a file fixloop reads back (secrets masked).
func (c *Config) YAML() ([]byte, error) { return yaml.Marshal(c.Masked()) }

// Setting describes one row of the settings table for documentation.
type Setting struct {
	Flag, Key, Help string
	Env             []string
	Secret          bool
}

// Settings lists every setting: its flag (empty for secrets), env vars, YAML key and help.
func Settings() []Setting {
	c := Default()
	keys := fieldKeys(reflect.ValueOf(c).Elem(), "")
	out := make([]Setting, 0, len(settings))
	for _, s := range settings {
		addr := reflect.ValueOf(s.ptr(c)).Pointer()
		out = append(out, Setting{Flag: s.flag, Key: keys[addr], Help: s.usage, Env: s.env, Secret: s.flag == ""})
	}
	return out
}

// fieldKeys maps each field's address to its dotted YAML key (the json tags).
func fieldKeys(v reflect.Value, prefix string) map[uintptr]string {
	out := map[uintptr]string{}
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		f := v.Field(i)
		out[f.Addr().Pointer()] = prefix + name
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(Duration{}) {
			for a, k := range fieldKeys(f, prefix+name+".") {
				out[a] = k
			}
		}
	}
	return out
}

// WriteSettings prints the settings table (for `fixloop config --list`).
func WriteSettings(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tENV\tFILE KEY\tHELP")
	for _, s := range Settings() {
		flag := "--" + s.Flag
		if s.Secret {
			flag = "(secret: env or file)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", flag, strings.Join(s.Env, ", "), s.Key, s.Help)
	}
	return tw.Flush()
}
