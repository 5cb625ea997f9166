package tools_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

const benchSessions = 500

// 500 MCP sessions open at once on one `fixloop serve` (streamable HTTP): each initializes, then all call
// server_info together, three times. Reports p50/p99 of initialize and of the calls, and the server's
// peak RSS. The per-caller rate limit is off: every session here comes from one loopback caller.
func BenchmarkMCPHTTP500Sessions(b *testing.B) {
	base := httpServer(b, cleanEnv(b), "--rate-limit", "0", "--mcp-max-sessions", "1000")
	for b.Loop() {
		inits, calls := openSessions(b, base)
		reportNamed(b, inits, "init")
		reportNamed(b, calls, "call")
	}
	if pid := childPID("serve"); pid > 0 {
		b.ReportMetric(float64(vmHWM(b, pid))/1024, "server-peak-RSS-MiB")
	}
}

// openSessions opens benchSessions sessions concurrently, waits until all are initialized, then has each
// call server_info three times at once; it closes them all before returning.
func openSessions(b *testing.B, base string) (inits, calls []time.Duration) {
	var mu sync.Mutex
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, benchSessions)
	clients := make([]*client.Client, benchSessions)
	ready.Add(benchSessions)
	done.Add(benchSessions)
	for i := range benchSessions {
		go func() {
			defer done.Done()
			c, d, err := initSession(base)
			mu.Lock()
			inits = append(inits, d)
			mu.Unlock()
			clients[i] = c
			ready.Done()
			if err != nil {
				errs <- err
				return
			}
			<-start
			for range 3 {
				t0 := time.Now()
				req := mcp.CallToolRequest{}
				req.Params.Name = "server_info"
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				_, err := c.CallTool(ctx, req)
				cancel()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				calls = append(calls, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	close(errs)
	for _, c := range clients {
		if c != nil {
			c.Close()
		}
	}
	n := 0
	for err := range errs {
		if n++; n == 1 {
			b.Errorf("session failed: %v", err)
		}
	}
	if n > 0 {
		b.Fatalf("%d of %d sessions failed", n, benchSessions)
	}
	return inits, calls
}

func initSession(base string) (*client.Client, time.Duration, error) {
	t0 := time.Now()
	c, err := client.NewStreamableHttpClient(base+"/mcp", transport.WithHTTPTimeout(2*time.Minute))
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		return c, 0, err
	}
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "fixloop-bench", Version: "1"}
	_, err = c.Initialize(ctx, req)
	return c, time.Since(t0), err
}

// reportNamed reports p50/p99 in milliseconds under a name.
func reportNamed(b *testing.B, lat []time.Duration, name string) {
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, name+"-p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, name+"-p99-ms")
}
