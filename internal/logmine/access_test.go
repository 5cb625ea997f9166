package logmine

import (
	"math"
	"strings"
	"testing"
)

// Real-format lines of common servers: the status and duration each carries.
func TestAccessFacts(t *testing.T) {
	cases := []struct {
		name, line string
		status     int
		dur        float64 // seconds; -1 = none
	}{
		{"rollouts-demo", "2025/11/21 10:00:00 500 - blue", 500, -1},
		{"rollouts-demo latency", "2025/11/21 10:00:00 200 - blue (2.000000s)", 200, 2},
		{"nginx combined", `10.244.1.7 - - [21/Nov/2025:10:00:00 +0000] "GET /api/cart HTTP/1.1" 502 157 "-" "curl/8.5.0"`, 502, -1},
		{"nginx with request_time", `10.0.0.1 - - [21/Nov/2025:10:00:00 +0000] "POST /login HTTP/2.0" 200 12 "-" "Mozilla/5.0" rt=0.123 uct="0.001" urt="0.120"`, 200, 0.123},
		{"nginx json", `{"time":"2025-11-21T10:00:00+00:00","remote_addr":"10.0.0.1","request":"GET / HTTP/1.1","status":"503","request_time":"1.500","upstream_response_time":"1.498, 0.002"}`, 503, 1.5},
		{"envoy default", `[2025-11-21T10:00:00.123Z] "GET /api/items HTTP/1.1" 503 UF 0 91 1 - "10.0.0.1" "curl/8" "abc-123" "items:8080" "10.1.2.3:8080"`, 503, -1},
		{"envoy json", `{"start_time":"2025-11-21T10:00:00.123Z","method":"GET","path":"/x","response_code":200,"duration":15,"upstream_host":"10.1.2.3:8080"}`, 200, 0.015},
		{"apache common", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 404 2326`, 404, -1},
		{"uvicorn", `INFO:     10.0.0.1:51234 - "GET /items/5 HTTP/1.1" 500 Internal Server Error`, 500, -1},
		{"gin", `[GIN] 2025/11/21 - 10:00:00 | 500 |    1.234567ms |      10.0.0.1 | GET      "/ping"`, 500, 0.001234567},
		{"morgan dev", `GET /api/users 304 12.345 ms - -`, 304, 0.012345},
		{"chi", `"GET http://localhost:3333/ HTTP/1.1" from 127.0.0.1:61432 - 200 2B in 45.125µs`, 200, 0.000045125},
		{"rails", `Completed 500 Internal Server Error in 12ms (ActiveRecord: 3.1ms)`, 500, 0.012},
		{"slog text", `time=2025-11-21T10:00:00Z level=INFO msg=request method=GET path=/ status=200 duration_ms=4`, 200, 0.004},
		{"zap json", `{"level":"info","ts":1732183200.1,"msg":"served","http.status_code":500,"latency":0.25}`, 500, 0.25},
		{"pino-http", `{"level":30,"time":1732183200123,"res":{"statusCode":201},"responseTime":7,"msg":"request completed"}`, 201, 0.007},
		{"logrus go duration", `time="2025-11-21T10:00:00Z" level=info msg="handled" status=404 duration=1.5s`, 404, 1.5},
		{"took", `cache refresh took 850ms`, 0, 0.85},
		{"not a status", `processed 500 items in batch`, 0, -1},
		{"timestamp only", `2025-11-21 10:00:00 worker started`, 0, -1},
		{"status word", `status=ok exit_code=137`, 0, -1},
		{"bare code key", `request failed code=503`, 503, -1},
		{"retry delay is not a duration", `retrying in 5s because the pool is busy`, 0, -1},
		{"haproxy httplog", `Jun 15 09:30:00 localhost haproxy[8]: 10.42.8.228:55600 [15/Jun/2026:09:30:00.235] fe_http~ be_app/<NOSRV> 0/0/-1/-1/2 503 217 - - SC-- 4/15/9/1/0 0/0 "GET /cart HTTP/1.1"`, 503, -1},
		{"traefik json", `{"ClientHost":"10.0.0.1","DownstreamStatus":502,"Duration":12000000,"OriginStatus":0,"RequestMethod":"GET","level":"info","msg":""}`, 502, 0.012},
		{"usual key wins over a suffix key", `{"OriginStatus":500,"status":200}`, 200, -1},
		{"order status is not http", `order_status=shipped payment_status=captured`, 0, -1},
		{"phoenix", `09:30:00.123 request_id=Fx1a2b [info] Sent 401 in 3ms`, 401, 0.003},
		{"sent is not a status without in", `Sent 500 emails to subscribers`, 0, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(c.line+"\n"), ReaderOptions{})
			rec, ok := r.Next()
			if !ok {
				t.Fatal("no record")
			}
			if rec.Status != c.status {
				t.Errorf("status %d, want %d (text %q)", rec.Status, c.status, rec.Text)
			}
			switch {
			case c.dur < 0 && rec.HasDuration:
				t.Errorf("duration %v, want none", rec.Duration)
			case c.dur >= 0 && !rec.HasDuration:
				t.Errorf("no duration, want %v", c.dur)
			case c.dur >= 0 && math.Abs(rec.Duration-c.dur) > 1e-9:
				t.Errorf("duration %v, want %v", rec.Duration, c.dur)
			}
		})
	}
}

func FuzzAccessFacts(f *testing.F) {
	for _, s := range []string{"500 - blue (2.000000s)", `"GET / HTTP/1.1" 200 1`, `{"status":"503","request_time":"1.5"}`,
		"| 500 | 1ms |", "took 3ms", "GET /x 200 1.5 ms", `status=500 duration=1m3s`, `a="b:c" rt=`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, d, ok := accessFacts(s, s)
		if st != 0 && (st < 100 || st > 599) {
			t.Fatalf("status %d", st)
		}
		if ok && (d < 0 || math.IsNaN(d) || math.IsInf(d, 0)) {
			t.Fatalf("duration %v", d)
		}
	})
}

// Levels that follow other header fields in common formats.
func TestLevelAfterHeader(t *testing.T) {
	cases := []struct{ line, level string }{
		{"10:00:00.123 [http-nio-8080-exec-1] ERROR c.e.shop.OrderService - order failed", LevelError},
		{"[2026-05-04 10:00:00 +0000] [8] [ERROR] Exception in worker process", LevelError},
		{"E, [2026-05-04T10:00:00.123456 #1] ERROR -- : Redis::CannotConnectError", LevelError},
		{"W, [2026-05-04T10:00:00.123456 #1]  WARN -- : slow query", LevelWarn},
		{"[2026-05-04 10:00:00] production.ERROR: SQLSTATE[HY000] [2002] Connection refused", LevelError},
		{"[Mon May 04 10:00:00.123456 2026] [proxy:error] [pid 12:tid 34] (111)Connection refused: AH00957", LevelError},
		{"fail: Microsoft.AspNetCore.Server.Kestrel[13]", LevelError},
		{"10:00:00.123 [main] INFO c.e.App - started", LevelInfo},
		{"2026-05-04 10:00:00 the error was retried and succeeded", ""},
		{"[cache] error budget computed", ""},
	}
	for _, c := range cases {
		r := NewReader(strings.NewReader(c.line+"\n"), ReaderOptions{})
		rec, _ := r.Next()
		if rec.Level != c.level {
			t.Errorf("%q: level %q, want %q (text %q)", c.line, rec.Level, c.level, rec.Text)
		}
	}
}

// Stack traces indented with spaces (Node, .NET) and Rust panics are severe like Java's and Go's.
func TestSevereMarkersOtherRuntimes(t *testing.T) {
	for _, text := range []string{
		"TypeError: Cannot read properties of undefined (reading 'id')\n    at cartTotal (/app/src/cart.js:12:31)\n    at Layer.handle (/app/node_modules/express/lib/router/layer.js:95:5)",
		"Unhandled exception. System.InvalidOperationException: Sequence contains no elements\n   at System.Linq.ThrowHelper.ThrowNoElementsException()\n   at Shop.Cart.Total() in /src/Cart.cs:line 42",
		"thread 'main' panicked at src/main.rs:10:5:\ncalled `Option::unwrap()` on a `None` value",
	} {
		if !IsSevere(Record{Text: text}) {
			t.Errorf("not severe: %q", text)
		}
	}
	for _, text := range []string{"user logged in\n    at the front desk", "meeting at 10:00"} {
		if IsSevere(Record{Text: text}) {
			t.Errorf("severe: %q", text)
		}
	}
}
