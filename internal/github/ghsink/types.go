package ghsink

import "time"

// Label, User, Issue, Comment and Pull are serialised with GitHub's field names.
type Label struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

type User struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

type Issue struct {
	ID          int64      `json:"id"`
	Number      int        `json:"number"`
	Title       string     `json:"title"`
	Body        string     `json:"body"`
	State       string     `json:"state"`
	StateReason string     `json:"state_reason,omitempty"`
	Labels      []Label    `json:"labels"`
	Assignees   []User     `json:"assignees"`
	User        User       `json:"user"`
	Comments    int        `json:"comments"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at"`
	URL         string     `json:"url"`
	HTMLURL     string     `json:"html_url"`
	Repo        string     `json:"-"`
}

type Comment struct {
	ID        int64     `json:"id"`
	Body      string    `json:"body"`
	User      User      `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	HTMLURL   string    `json:"html_url"`
	IssueURL  string    `json:"issue_url"`
}

type Ref struct {
	Ref   string `json:"ref"`
	SHA   string `json:"sha"`
	Label string `json:"label"`
}

type Pull struct {
	ID        int64      `json:"id"`
	Number    int        `json:"number"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	State     string     `json:"state"`
	Draft     bool       `json:"draft"`
	Merged    bool       `json:"merged"`
	MergedAt  *time.Time `json:"merged_at"`
	Head      Ref        `json:"head"`
	Base      Ref        `json:"base"`
	User      User       `json:"user"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	URL       string     `json:"url"`
	HTMLURL   string     `json:"html_url"`
}

// Repo is one repository's state.
type Repo struct {
	Issues   map[int]*Issue               `json:"issues"`
	Comments map[int][]*Comment           `json:"comments"`
	Pulls    map[int]*Pull                `json:"pulls"`
	Labels   map[string]*Label            `json:"labels"`
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
