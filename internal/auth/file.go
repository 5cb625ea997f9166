package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"
)

// File is the auth file (--auth-file / FIXLOOP_AUTH_FILE, mounted from a Secret in Kubernetes): static
// tokens by their SHA-256 and the scopes of Kubernetes ServiceAccounts. Tokens are never stored in
// clear: `fixloop token new` prints a token and the entry to add.
//
//	tokens:
//	  - name: argo-rollouts
//	    sha256: 3b1f...          # hex SHA-256 of the token
//	    scopes: [read]
//	serviceAccounts:
//	  - name: argo-rollouts/argo-rollouts   # namespace/name
//	    scopes: [read]
type File struct {
	Tokens          []TokenEntry `json:"tokens,omitempty"`
	ServiceAccounts []SAEntry    `json:"serviceAccounts,omitempty"`
}

// TokenEntry is one static token.
type TokenEntry struct {
	Name   string   `json:"name"`
	SHA256 string   `json:"sha256"`
	Scopes []string `json:"scopes"`
}

// SAEntry grants scopes to one ServiceAccount ("namespace/name"; "namespace/*" for all of a namespace).
type SAEntry struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

var (
	tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$`)
	hexSHA256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	saNameRE    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?/(\*|[a-z0-9]([-.a-z0-9]*[a-z0-9])?)$`)
)

// ParseFile reads and validates an auth file; errors name the entry to fix.
func ParseFile(data []byte) (*File, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	for i := range f.Tokens {
		t := &f.Tokens[i]
		t.SHA256 = strings.ToLower(strings.TrimSpace(t.SHA256))
		switch {
		case !tokenNameRE.MatchString(t.Name):
			errs = append(errs, fmt.Errorf("tokens[%d]: name %q must be 1-63 letters, digits, _.@-", i, t.Name))
		case seen[t.Name]:
			errs = append(errs, fmt.Errorf("tokens[%d]: name %q appears twice", i, t.Name))
		case !hexSHA256RE.MatchString(t.SHA256):
			errs = append(errs, fmt.Errorf("tokens[%d] (%s): sha256 must be 64 hex digits (the hash, never the token: `fixloop token hash`)", i, t.Name))
		}
		seen[t.Name] = true
		var err error
		if t.Scopes, err = ParseScopes(t.Scopes); err != nil {
			errs = append(errs, fmt.Errorf("tokens[%d] (%s): %w", i, t.Name, err))
		}
	}
	for i := range f.ServiceAccounts {
		sa := &f.ServiceAccounts[i]
		if !saNameRE.MatchString(sa.Name) {
			errs = append(errs, fmt.Errorf("serviceAccounts[%d]: name %q is not namespace/name", i, sa.Name))
		}
		var err error
		if sa.Scopes, err = ParseScopes(sa.Scopes); err != nil {
			errs = append(errs, fmt.Errorf("serviceAccounts[%d] (%s): %w", i, sa.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	return &f, nil
}

// HashToken is the hex SHA-256 stored in the auth file for token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a random 256-bit token, URL-safe, prefixed so secret scanners recognise it.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "fxl_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// Static authenticates static tokens from an auth file. The file is re-read when it changes (a rotated
// Secret), checked at most every reloadEvery.
type Static struct {
	path string

	mu       sync.Mutex
	file     *File
	hashes   [][]byte
	modTime  time.Time
	checked  time.Time
	extra    []TokenEntry // tokens added in-process (the serve command's internal token)
	lastErrs string
}

const reloadEvery = 10 * time.Second

// NewStatic loads path (empty: no file, only tokens added with Add).
func NewStatic(path string) (*Static, error) {
	s := &Static{path: path, file: &File{}}
	if path != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add registers a token held only in memory (e.g. the key the serve command's agents use to call each
// other).
func (s *Static) Add(name, token string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra = append(s.extra, TokenEntry{Name: name, SHA256: HashToken(token), Scopes: scopes})
	s.rebuild()
}

// ServiceAccountScopes returns the scopes the auth file grants to namespace/name.
func (s *Static) ServiceAccountScopes(namespace, name string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloadLocked()
	for _, sa := range s.file.ServiceAccounts {
		if sa.Name == namespace+"/"+name || sa.Name == namespace+"/*" {
			return sa.Scopes, true
		}
	}
	return nil, false
}

// Empty reports whether no token is configured.
func (s *Static) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.file.Tokens)+len(s.extra) == 0
}

// Lookup returns the identity of token, or nil. Every entry is compared (constant time, no early exit)
// so the time taken does not tell which entry nearly matched.
func (s *Static) Lookup(token string) *Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloadLocked()
	sum := sha256.Sum256([]byte(token))
	match := -1
	for i, h := range s.hashes {
		if subtle.ConstantTimeCompare(sum[:], h) == 1 {
			match = i
		}
	}
	if match < 0 {
		return nil
	}
	e := s.entry(match)
	return &Identity{Name: "token:" + e.Name, Method: "token", Scopes: append([]string(nil), e.Scopes...)}
}

func (s *Static) entry(i int) TokenEntry {
	if i < len(s.file.Tokens) {
		return s.file.Tokens[i]
	}
	return s.extra[i-len(s.file.Tokens)]
}

func (s *Static) rebuild() {
	s.hashes = s.hashes[:0]
	for i := 0; i < len(s.file.Tokens)+len(s.extra); i++ {
		h, _ := hex.DecodeString(s.entry(i).SHA256)
		s.hashes = append(s.hashes, h)
	}
}

func (s *Static) load() error {
	st, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("auth file (--auth-file / FIXLOOP_AUTH_FILE): %w", err)
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("auth file (--auth-file / FIXLOOP_AUTH_FILE): %w", err)
	}
	f, err := ParseFile(data)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.file, s.modTime = f, st.ModTime()
	s.rebuild()
	return nil
}

// reloadLocked re-reads the file when its modification time changed; a broken new version keeps the
// old one (and is reported by LastError) rather than locking everyone out.
func (s *Static) reloadLocked() {
	if s.path == "" || time.Since(s.checked) < reloadEvery {
		return
	}
	s.checked = time.Now()
	st, err := os.Stat(s.path)
	if err != nil || st.ModTime().Equal(s.modTime) {
		return
	}
	if err := s.load(); err != nil {
		s.lastErrs = err.Error()
		return
	}
	s.lastErrs = ""
}

// LastError is the error of the last failed reload ("" when the file in use is current).
func (s *Static) LastError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErrs
}
