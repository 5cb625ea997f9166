package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// termOut says what the demo's output goes to: a terminal gets a spinner redrawn in place and bold
// headings; a log file or CI gets plain lines and a progress line now and then instead.
type termOut struct {
	tty   bool // redraw in place (\r, erase line)
	color bool // ANSI bold; off when NO_COLOR is set (no-color.org) or not a terminal
}

// progressEvery is how often a non-terminal gets a "still waiting" line.
const progressEvery = 15 * time.Second

func detectTerm(w io.Writer) termOut {
	f, ok := w.(*os.File)
	tty := ok && term.IsTerminal(int(f.Fd()))
	// NO_COLOR is a convention of terminal programs, not a fixloop setting (see AGENTS.md).
	return termOut{tty: tty, color: tty && os.Getenv("NO_COLOR") == ""}
}

func (t termOut) bold(s string) string {
	if !t.color {
		return s
	}
	return "\033[1m" + s + "\033[0m"
}

// waiter shows that a long wait is alive: a spinner on a terminal, else a line every progressEvery
// saying what is awaited and how long it has taken of how long it may.
type waiter struct {
	t       termOut
	w       io.Writer
	what    string
	start   time.Time
	limit   time.Duration
	ticks   int
	lastMsg time.Time
}

func (t termOut) waiter(w io.Writer, what string, limit time.Duration) *waiter {
	now := time.Now()
	return &waiter{t: t, w: w, what: what, start: now, limit: limit, lastMsg: now}
}

// line prints a status line (replacing the spinner on a terminal).
func (wt *waiter) line(format string, args ...any) {
	if wt.t.tty {
		fmt.Fprintf(wt.w, "\r  "+format+"\033[K\n", args...)
		return
	}
	fmt.Fprintf(wt.w, "  "+format+"\n", args...)
	wt.lastMsg = time.Now()
}

// tick is called once per poll.
func (wt *waiter) tick() {
	wt.ticks++
	if wt.t.tty {
		fmt.Fprintf(wt.w, "\r  %c waiting for %s ...", `|/-\`[wt.ticks%4], wt.what)
		return
	}
	if time.Since(wt.lastMsg) >= progressEvery {
		fmt.Fprintf(wt.w, "  still waiting for %s (%s of up to %s)\n", wt.what, time.Since(wt.start).Round(time.Second), wt.limit)
		wt.lastMsg = time.Now()
	}
}
