package ghsink

import (
	"time"

	gh "github.com/google/go-github/v66/github"
)

// The sink keeps, answers and persists go-github's own types, so what it serves is exactly what the
// client decodes. Label, User, Issue, Comment, Ref and Pull below are plain-value snapshots of them for
// tests and the demo to read (Issues, Comments, Pulls); they never go on the wire.

type Label struct {
	ID    int64
	Name  string
	Color string
}

type User struct {
	Login string
	ID    int64
	Type  string
}

type Issue struct {
	ID          int64
	Number      int
	Title       string
	Body        string
	State       string
	StateReason string
	Labels      []Label
	Assignees   []User
	User        User
	Comments    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    *time.Time
	URL         string
	HTMLURL     string
	Repo        string
}

type Comment struct {
	ID        int64
	Body      string
	User      User
	CreatedAt time.Time
	UpdatedAt time.Time
	HTMLURL   string
	IssueURL  string
}

type Ref struct {
	Ref   string
	SHA   string
	Label string
}

type Pull struct {
	ID        int64
	Number    int
	Title     string
	Body      string
	State     string
	Draft     bool
	Merged    bool
	MergedAt  *time.Time
	Head      Ref
	Base      Ref
	User      User
	CreatedAt time.Time
	UpdatedAt time.Time
	URL       string
	HTMLURL   string
}

// Repo is one repository's state. Its JSON is the state file's; the first format (ghsink's own structs)
// used the same GitHub field names, so it decodes into these types unchanged.
type Repo struct {
	Issues   map[int]*gh.Issue            `json:"issues"`
	Comments map[int][]*gh.IssueComment   `json:"comments"`
	Pulls    map[int]*gh.PullRequest      `json:"pulls"`
	Labels   map[string]*gh.Label         `json:"labels"`
	Statuses map[string]map[string]string `json:"statuses,omitempty"` // sha → context → state
	Next     int                          `json:"next"`               // issues and pulls share the number space, as on GitHub
}

// Request is a recorded API request (tests assert on what left the client).
type Request struct {
	Method string
	Path   string
	Query  string
	Body   string
	Auth   bool // an Authorization header was present
}

// Fault is an injected failure for the next matching request.
type Fault struct {
	Method string // "" = any
	Path   string // substring of the path; "" = any
	// Kind: "ratelimit" (403, X-RateLimit-Remaining 0, reset in ResetAfter), "secondary" (403 secondary
	// rate limit with Retry-After), "429" (Retry-After), or a 5xx status code as text ("500", "502").
	Kind       string
	ResetAfter time.Duration // default 1 s
	// AfterWrite applies the request (e.g. creates the issue) before answering with the fault — a
	// server error after the write, the case a retry must not duplicate.
	AfterWrite bool
}
