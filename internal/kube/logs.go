package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LogRequest names one container's log.
type LogRequest struct {
	Namespace    string
	Pod          string
	Container    string // empty: the pod's only (or default) container
	SinceSeconds int64
	TailLines    int64
	Previous     bool
	LimitBytes   int64 // server-side cap; 0 = none (the reader still stops at MaxRead)
	// MaxRead is the client-side budget (default 4 MiB) so one chatty pod cannot exhaust memory: the
	// NEWEST whole lines within it are kept, older ones are dropped and counted.
	MaxRead int64
}

// LogResult is one container's log (possibly cut at the byte caps) or the error fetching it.
type LogResult struct {
	Req       LogRequest
	Data      []byte
	Truncated bool // a byte cap was hit
	// DroppedLines counts the older lines left out to stay within MaxRead.
	DroppedLines int
	Err          error
}

// PodLogs streams each request's log with at most concurrency requests in flight (default 8); each is
// called for one result at a time.
func (c *Cluster) PodLogs(ctx context.Context, reqs []LogRequest, concurrency int, each func(LogResult)) error {
	if concurrency <= 0 {
		concurrency = 8
	}
	var g errgroup.Group
	g.SetLimit(concurrency)
	var mu sync.Mutex
	started := 0
	for _, r := range reqs {
		if ctx.Err() != nil {
			break // a cancelled fetch ends quickly, so g.Go's wait for a slot stays short
		}
		started++
		g.Go(func() error {
			res := c.podLog(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			each(res)
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through each, never through the group
	if started < len(reqs) {
		return Explain(ctx.Err(), c.Server(), "fetching pod logs")
	}
	return nil
}

func (c *Cluster) podLog(ctx context.Context, r LogRequest) LogResult {
	opts := &corev1.PodLogOptions{Container: r.Container, Previous: r.Previous}
	if r.SinceSeconds > 0 {
		opts.SinceSeconds = &r.SinceSeconds
	}
	if r.TailLines > 0 {
		opts.TailLines = &r.TailLines
	}
	if r.LimitBytes > 0 {
		opts.LimitBytes = &r.LimitBytes
	}
	maxRead := r.MaxRead
	if maxRead <= 0 {
		maxRead = 4 << 20
	}
	what := fmt.Sprintf("logs of pod %s/%s", r.Namespace, r.Pod)
	if r.Container != "" {
		what += " container " + r.Container
	}
	stream, err := c.typed.CoreV1().Pods(r.Namespace).GetLogs(r.Pod, opts).Stream(ctx)
	if err != nil {
		return LogResult{Req: r, Err: Explain(err, c.Server(), what)}
	}
	defer stream.Close()
	data, dropped, err := readNewest(stream, maxRead)
	res := LogResult{Req: r, Data: data, DroppedLines: dropped, Truncated: dropped > 0}
	if r.LimitBytes > 0 && int64(len(data)) >= r.LimitBytes {
		res.Truncated = true
	}
	if err != nil {
		res.Err = Explain(err, c.Server(), what)
	}
	return res
}

// readNewest reads r to the end keeping the newest whole lines within budget bytes, and counts the
// older lines it dropped: on a busy pod the last lines are the ones that matter (a crash's last words).
// Memory stays below twice the budget plus one read.
func readNewest(r io.Reader, budget int64) ([]byte, int, error) {
	if budget <= 0 {
		return nil, 0, errors.New("log byte budget must be positive")
	}
	buf := make([]byte, 0, min(budget, 64<<10))
	chunk := make([]byte, 32<<10)
	dropped := 0
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if int64(len(buf)) > 2*budget {
			var d int
			buf, d = keepNewest(buf, budget)
			dropped += d
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			buf, d := keepNewest(buf, budget)
			return buf, dropped + d, err
		}
	}
	buf, d := keepNewest(buf, budget)
	return buf, dropped + d, nil
}

// keepNewest cuts buf to at most budget bytes starting at a line start, returning the lines dropped
// (a partial line cut at the front counts as one). A single line longer than the budget keeps its tail.
func keepNewest(buf []byte, budget int64) ([]byte, int) {
	if int64(len(buf)) <= budget {
		return buf, 0
	}
	start := len(buf) - int(budget)
	if buf[start-1] != '\n' {
		if j := bytes.IndexByte(buf[start:], '\n'); j >= 0 && j+1 < len(buf)-start {
			start += j + 1
		}
	}
	dropped := bytes.Count(buf[:start], []byte{'\n'})
	if buf[start-1] != '\n' {
		dropped++ // the line cut in two
	}
	n := copy(buf, buf[start:])
	return buf[:n], dropped
}

// ListPods lists pods page by page (limit per page, following continue tokens) so memory stays bounded
// by the page size when fn does not keep them. fn returning false stops early.
func ListPods(ctx context.Context, c Client, ns, selector string, pageSize int64, fn func([]corev1.Pod) bool) error {
	if pageSize <= 0 {
		pageSize = 500
	}
	opts := metav1.ListOptions{LabelSelector: selector, Limit: pageSize}
	for {
		l, err := c.Typed().CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return Explain(err, c.Server(), fmt.Sprintf("list pods in %q", ns))
		}
		if !fn(l.Items) || l.Continue == "" {
			return nil
		}
		opts.Continue = l.Continue
	}
}
