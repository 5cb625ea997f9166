package fixer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// RepoPolicy decides which repositories the fixer may clone and push to. A request names a repository
// (owner/name, or a URL that must point at the configured GitHub host); the fixer always clones from
// the URL it builds itself from CloneBase, so no caller-supplied URL ever reaches git.
type RepoPolicy struct {
	// Allow lists owner/name glob patterns (path.Match syntax: "acme/*", "acme/shop"). Empty refuses
	// every repository: the fixer writes code, so where it may do that is an explicit decision.
	Allow []string
	// CloneBase is the git host root, e.g. https://github.com or https://ghe.example.com. Plain http and
	// a loopback/private host are accepted only here, because an operator configured them (the local
	// GitHub sink in tests and the demo).
	CloneBase string
}

var ownerNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})/[A-Za-z0-9._-]{1,100}$`)

// ErrRepoRefused is wrapped by every refusal, so callers can tell a policy refusal from a failure.
var ErrRepoRefused = errors.New("repository refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRepoRefused, fmt.Sprintf(format, args...))
}

// CloneBaseFor turns the configured GitHub API base URL into the git host root: api.github.com (or
// empty) is https://github.com; a GitHub Enterprise .../api/v3 root drops that suffix; anything else
// (the local sink) is used as is.
func CloneBaseFor(apiBase string) string {
	b := strings.TrimRight(strings.TrimSpace(apiBase), "/")
	if b == "" {
		return "https://github.com"
	}
	u, err := url.Parse(b)
	if err != nil {
		return b
	}
	if strings.EqualFold(u.Hostname(), "api.github.com") {
		return "https://github.com"
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v3")
	return strings.TrimRight(u.String(), "/")
}

// Resolve checks a request's repository (repo as owner/name, or repoURL) and returns owner/name and
// the clone URL fixloop builds for it.
func (p RepoPolicy) Resolve(repo, repoURL string) (ownerName, cloneURL string, err error) {
	base, err := p.base()
	if err != nil {
		return "", "", err
	}
	repo, repoURL = strings.TrimSpace(repo), strings.TrimSpace(repoURL)
	if repo == "" && repoURL == "" {
		return "", "", errors.New("repo (owner/name) is required")
	}
	if repoURL == "" && !ownerNameRE.MatchString(strings.TrimSuffix(repo, ".git")) {
		repo, repoURL = "", repo // a URL in the repo field (triage passes its repoUrl there)
	}
	fromURL := ""
	if repoURL != "" {
		if fromURL, err = ownerNameFromURL(repoURL, base); err != nil {
			return "", "", err
		}
	}
	switch {
	case repo == "":
		repo = fromURL
	case fromURL != "" && !strings.EqualFold(strings.TrimSuffix(repo, ".git"), fromURL):
		return "", "", refuse("repo %q and repoUrl %q name different repositories", repo, repoURL)
	}
	repo = strings.TrimSuffix(repo, ".git")
	if !ownerNameRE.MatchString(repo) || strings.Contains(repo, "..") {
		return "", "", refuse("repo %q is not owner/name", repo)
	}
	if !p.allowed(repo) {
		return "", "", refuse("%s is not in the fixer's repository allow-list (%s); an operator adds it to FIXLOOP_FIXER_REPOS", repo, p.allowText())
	}
	return repo, base.String() + "/" + repo + ".git", nil
}

func (p RepoPolicy) allowed(repo string) bool {
	for _, pat := range p.Allow {
		pat = strings.TrimSpace(pat)
		if ok, err := path.Match(strings.ToLower(pat), strings.ToLower(repo)); err == nil && ok {
			return true
		}
	}
	return false
}

func (p RepoPolicy) allowText() string {
	if len(p.Allow) == 0 {
		return "empty: no repository is allowed"
	}
	return strings.Join(p.Allow, ", ")
}

// base validates CloneBase (operator configuration, so loopback and http are fine here).
func (p RepoPolicy) base() (*url.URL, error) {
	b := strings.TrimRight(strings.TrimSpace(p.CloneBase), "/")
	if b == "" {
		b = "https://github.com"
	}
	u, err := url.Parse(b)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("fixer clone base %q must be an http(s) URL without credentials", p.CloneBase)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// ownerNameFromURL accepts only https URLs on the configured git host (http too when the configured
// host itself is http): no file://, ssh, scp-like "git@host:x", option-looking "--upload-pack=..."
// or "ext::" transports, no credentials, and never an internal host other than the configured one.
func ownerNameFromURL(raw string, base *url.URL) (string, error) {
	switch {
	case strings.HasPrefix(raw, "-"):
		return "", refuse("repoUrl %q looks like a command-line option", raw)
	case strings.Contains(raw, "::"):
		return "", refuse("repoUrl %q uses a git remote-helper transport", raw)
	case strings.ContainsAny(raw, " \t\r\n\x00\\"):
		return "", refuse("repoUrl %q contains whitespace or control characters", raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		if at := strings.Index(raw, "@"); at >= 0 && strings.Contains(raw[at:], ":") {
			return "", refuse("repoUrl %q is an ssh address; only https URLs are accepted", raw)
		}
		return "", refuse("repoUrl %q is not an https URL", raw)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && !(scheme == "http" && base.Scheme == "http") {
		return "", refuse("repoUrl %q: scheme %s is not accepted (https only)", raw, u.Scheme)
	}
	if u.User != nil {
		return "", refuse("repoUrl %q carries credentials; fixloop authenticates itself", raw)
	}
	if !strings.EqualFold(u.Host, base.Host) {
		if internalHost(u.Hostname()) {
			return "", refuse("repoUrl %q points at an internal address", raw)
		}
		return "", refuse("repoUrl %q is not on the configured git host %s", raw, base.Host)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", refuse("repoUrl %q has a query or fragment", raw)
	}
	rel := strings.TrimPrefix(strings.Trim(u.Path, "/"), strings.Trim(base.Path, "/"))
	rel = strings.TrimSuffix(strings.Trim(rel, "/"), ".git")
	if strings.Count(rel, "/") != 1 {
		return "", refuse("repoUrl %q is not <host>/owner/name", raw)
	}
	return rel, nil
}

// internalHost reports loopback, private, link-local, unspecified and cluster-internal names; used to
// say why a URL was refused (every host but the configured one is refused anyway).
func internalHost(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".local") ||
		strings.HasSuffix(h, ".internal") || strings.HasSuffix(h, ".svc") || strings.Contains(h, ".svc.") {
		return true
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		ip = ip.Unmap()
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
			ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast()
	}
	// Numeric forms net.ParseIP accepts but netip does not (e.g. IPv4 in IPv6 brackets already stripped).
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
	}
	return false
}
