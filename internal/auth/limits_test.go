package auth_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/auth"
)

func echoLen() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, len(b))
	})
}

func TestReadBodyLimits(t *testing.T) {
	srv := httptest.NewServer(auth.ReadBody(1<<10, 300*time.Millisecond, nil, echoLen()))
	defer srv.Close()
	post := func(body io.Reader) int {
		resp, err := http.Post(srv.URL, "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(strings.NewReader(strings.Repeat("x", 100))); c != 200 {
		t.Fatalf("small body: %d", c)
	}
	if c := post(strings.NewReader(strings.Repeat("x", 2<<10))); c != 413 {
		t.Fatalf("declared large body: %d, want 413", c)
	}
	// A chunked body (no Content-Length) that grows past the limit.
	if c := post(io.MultiReader(strings.NewReader(strings.Repeat("x", 2<<10)))); c != 413 {
		t.Fatalf("chunked large body: %d, want 413", c)
	}
}

// A client that sends its headers and then trickles the body is cut off after the body timeout.
func TestReadBodySlowClientIsCut(t *testing.T) {
	srv := httptest.NewServer(auth.ReadBody(1<<20, 300*time.Millisecond, nil, echoLen()))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
}

func TestOriginsGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	loop := auth.Origins{Loopback: true}.Wrap(nil, ok)
	cases := []struct {
		name, host, origin, ctype, site string
		want                            int
	}{
		{"localhost", "127.0.0.1:8080", "", "application/json", "", 200},
		{"localhost name", "localhost:8080", "", "application/json; charset=utf-8", "", 200},
		{"rebinding host", "attacker.example:8080", "", "application/json", "", 403},
		{"cross-site text/plain", "127.0.0.1:8080", "http://attacker.example", "text/plain", "cross-site", 415},
		{"cross-site json", "127.0.0.1:8080", "http://attacker.example", "application/json", "cross-site", 403},
		{"no content type, same origin", "127.0.0.1:8080", "", "", "", 200},
		{"no content type, cross-site", "127.0.0.1:8080", "http://attacker.example", "", "cross-site", 403},
		{"form post", "127.0.0.1:8080", "", "application/x-www-form-urlencoded", "", 415},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "http://"+c.host+"/mcp", strings.NewReader("{}"))
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		if c.ctype != "" {
			r.Header.Set("Content-Type", c.ctype)
		}
		rec := httptest.NewRecorder()
		loop.ServeHTTP(rec, r)
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.name, rec.Code, c.want, rec.Body)
		}
	}
	open := auth.Origins{}.Wrap(nil, ok)
	r := httptest.NewRequest("GET", "http://fixloop.fixloop.svc:8080/agents", nil)
	rec := httptest.NewRecorder()
	open.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Errorf("in-cluster host on a non-loopback listener: %d", rec.Code)
	}
}

func TestRateLimiterPerIdentity(t *testing.T) {
	l := auth.NewRateLimiter(1, 3)
	for i := 0; i < 3; i++ {
		if !l.Allow("a") {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.Allow("a") {
		t.Fatal("burst exceeded but allowed")
	}
	if !l.Allow("b") {
		t.Fatal("another identity was limited by a's traffic")
	}
	if auth.NewRateLimiter(0, 0) != nil {
		t.Fatal("rate 0 should mean no limiter")
	}
}
