package logmine

import (
	"bytes"
	"fmt"
	"io"
)

// TextOnly wraps r so that a read fails as soon as the input shows a NUL byte: logs are text, and
// mining binary data costs minutes of CPU and gigabytes of memory for garbage templates.
func TextOnly(r io.Reader) io.Reader { return &textOnly{r: r} }

// ErrNotText is wrapped by the error TextOnly returns.
var ErrNotText = fmt.Errorf("input is not text")

type textOnly struct {
	r      io.Reader
	offset int64
}

func (g *textOnly) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if i := bytes.IndexByte(p[:n], 0); i >= 0 {
		return 0, fmt.Errorf("%w: NUL byte at offset %d (give plain log text)", ErrNotText, g.offset+int64(i))
	}
	g.offset += int64(n)
	return n, err
}
