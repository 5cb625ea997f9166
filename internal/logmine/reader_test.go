package logmine

import (
	"strings"
	"testing"
	"time"
)

type wantRec struct {
	text  string // exact Text, or prefix when it ends with "…"
	level string
	lines int
}

func readAll(t *testing.T, in string, o ReaderOptions) []Record {
	t.Helper()
	r := NewReader(strings.NewReader(in), o)
	var out []Record
	for {
		rec, ok := r.Next()
		if !ok {
			break
		}
		out = append(out, rec)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

const goHTTPPanic = `2024/05/01 10:00:00 GET /orders 200
2024/05/01 10:00:01 http: panic serving 10.1.2.3:40122: runtime error: index out of range [5] with length 3
goroutine 34 [running]:
net/http.(*conn).serve.func1()
	/usr/local/go/src/net/http/server.go:1898 +0xbe
panic({0x6b5e60?, 0x7b3a30?})
	/usr/local/go/src/runtime/panic.go:770 +0x132
main.handler({0x7b8f10, 0xc0000a8000}, 0xc0000b2000)
	/app/main.go:20 +0x25
net/http.HandlerFunc.ServeHTTP(0x0?, {0x7b8f10?, 0xc0000a8000?}, 0x0?)
	/usr/local/go/src/net/http/server.go:2171 +0x29
created by net/http.(*Server).Serve in goroutine 1
	/usr/local/go/src/net/http/server.go:3285 +0x4b4
2024/05/01 10:00:02 GET /orders 200
`

const goFatalPanic = `starting server on :8080
panic: assignment to entry in nil map

goroutine 1 [running]:
main.main()
	/app/main.go:12 +0x2c

goroutine 7 [chan receive]:
main.worker()
	/app/main.go:30 +0x45
exit status 2
next record
`

const javaTrace = `2024-05-01 10:00:00,123 INFO  [main] c.e.App - started
2024-05-01 10:00:01,456 ERROR [http-nio-8080-exec-1] c.e.OrderController - request failed
java.lang.IllegalStateException: order 42 not found
	at com.example.OrderService.find(OrderService.java:88)
	at com.example.OrderController.get(OrderController.java:31)
	... 12 more
Caused by: java.sql.SQLException: connection refused
	at org.postgresql.Driver.connect(Driver.java:200)
	... 20 more
2024-05-01 10:00:02,000 INFO  [main] c.e.App - ok
`

const pythonTrace = `2024-05-01 10:00:00,000 INFO worker started
Traceback (most recent call last):
  File "/app/worker.py", line 10, in <module>
    main()
  File "/app/worker.py", line 7, in main
    raise ValueError("bad input 42")
ValueError: bad input 42
2024-05-01 10:00:01,000 INFO worker stopped
`

const pythonChained = `ERROR:root:job failed
Traceback (most recent call last):
  File "a.py", line 2, in f
    x = d["k"]
KeyError: 'k'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "a.py", line 4, in f
    raise RuntimeError("wrapped")
RuntimeError: wrapped
INFO:root:next
`

func TestReaderRecords(t *testing.T) {
	cases := []struct {
		name string
		in   string
		o    ReaderOptions
		want []wantRec
	}{
		{name: "go http panic", in: goHTTPPanic, want: []wantRec{
			{text: "GET /orders 200", lines: 1},
			{text: "http: panic serving 10.1.2.3:40122: runtime error: index out of range [5] with length 3\ngoroutine 34 [running]:…", level: LevelPanic, lines: 12},
			{text: "GET /orders 200", lines: 1},
		}},
		{name: "go fatal panic with several goroutines", in: goFatalPanic, want: []wantRec{
			{text: "starting server on :8080", lines: 1},
			{text: "panic: assignment to entry in nil map\ngoroutine 1 [running]:…", level: LevelPanic, lines: 8},
			{text: "next record", lines: 1},
		}},
		{name: "java", in: javaTrace, want: []wantRec{
			{text: "[main] c.e.App - started", level: LevelInfo, lines: 1},
			{text: "[http-nio-8080-exec-1] c.e.OrderController - request failed\njava.lang.IllegalStateException: order 42 not found\n\tat com.example…", level: LevelError, lines: 8},
			{text: "[main] c.e.App - ok", level: LevelInfo, lines: 1},
		}},
		{name: "spring boot console (timestamp, padding, level)", in: "2026-05-04T10:00:00.601Z  INFO 1 --- [shop] [nio-8080-exec-3] c.e.OrderController : Order 7 placed\n" +
			"2026-05-04T10:00:00.632Z  WARN 1 --- [shop] [nio-8080-exec-7] c.e.CartController : Cart slow\n", want: []wantRec{
			{text: "1 --- [shop] [nio-8080-exec-3] c.e.OrderController : Order 7 placed", level: LevelInfo, lines: 1},
			{text: "1 --- [shop] [nio-8080-exec-7] c.e.CartController : Cart slow", level: LevelWarn, lines: 1},
		}},
		{name: "python", in: pythonTrace, want: []wantRec{
			{text: "worker started", level: LevelInfo, lines: 1},
			{text: "Traceback (most recent call last):\n  File \"/app/worker.py\"…", level: LevelError, lines: 6},
			{text: "worker stopped", level: LevelInfo, lines: 1},
		}},
		{name: "python chained after logging.exception", in: pythonChained, want: []wantRec{
			{text: "root:job failed\nTraceback (most recent call last):…", level: LevelError, lines: 10},
			{text: "root:next", level: LevelInfo, lines: 1},
		}},
		{name: "json lines", in: `{"level":"info","ts":1714557600.5,"msg":"request done","status":200}
{"severity":"ERROR","time":"2024-05-01T10:00:00Z","message":"db down","error":"dial tcp 10.0.0.5:5432: connection refused"}
{"lvl":"warn","msg":"slow"}
{"level":50,"msg":"pino error"}
{"no":"message"}
`, want: []wantRec{
			{text: "request done", level: LevelInfo, lines: 1},
			{text: "db down error=dial tcp 10.0.0.5:5432: connection refused", level: LevelError, lines: 1},
			{text: "slow", level: LevelWarn, lines: 1},
			{text: "pino error", level: LevelError, lines: 1},
			{text: `no=message`, lines: 1}, // message-less JSON: fields in key order,
		}},
		{name: "cri prefix with partial lines and a trace", in: `2024-05-01T10:00:00.123456789Z stdout F INFO listening on :8080
2024-05-01T10:00:01.000000000Z stderr P panic: boo
2024-05-01T10:00:01.000000001Z stderr F m
2024-05-01T10:00:01.000000002Z stderr F 
2024-05-01T10:00:01.000000003Z stderr F goroutine 1 [running]:
2024-05-01T10:00:01.000000004Z stderr F main.main()
2024-05-01T10:00:01.000000005Z stderr F 	/app/main.go:5 +0x1d
2024-05-01T10:00:02.000000000Z stdout F level=error msg="lost connection" peer=10.0.0.9
`, want: []wantRec{
			{text: "listening on :8080", level: LevelInfo, lines: 1},
			{text: "panic: boom\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d", level: LevelPanic, lines: 4},
			{text: "lost connection peer=10.0.0.9", level: LevelError, lines: 1},
		}},
		{name: "kubectl timestamps and level styles", in: `2024-05-01T10:00:00.5Z [info] ready
2024-05-01T10:00:01.5Z 2024-05-01 10:00:01.500 WARN: disk 91% full
2024-05-01T10:00:02.5Z E0501 10:00:02.500000    1 controller.go:42] sync failed
2024-05-01T10:00:03.5Z time="2024-05-01T10:00:03Z" level=debug msg="tick"
2024-05-01T10:00:04.5Z Information is not a level
`, want: []wantRec{
			{text: "ready", level: LevelInfo, lines: 1},
			{text: "disk 91% full", level: LevelWarn, lines: 1},
			{text: "sync failed", level: LevelError, lines: 1},
			{text: "tick", level: LevelDebug, lines: 1},
			{text: "Information is not a level", lines: 1},
		}},
		{name: "one record per line", in: goFatalPanic, o: ReaderOptions{OneRecordPerLine: true}, want: []wantRec{
			{text: "starting server on :8080"}, {text: "panic: assignment to entry in nil map"},
			{text: "goroutine 1 [running]:"}, {text: "main.main()"}, {text: "\t/app/main.go:12 +0x2c"},
			{text: "goroutine 7 [chan receive]:"}, {text: "main.worker()"}, {text: "\t/app/main.go:30 +0x45"},
			{text: "exit status 2"}, {text: "next record"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := readAll(t, c.in, c.o)
			if len(got) != len(c.want) {
				for i, g := range got {
					t.Logf("record %d: %q", i, g.Text)
				}
				t.Fatalf("got %d records, want %d", len(got), len(c.want))
			}
			for i, w := range c.want {
				g := got[i]
				if p, ok := strings.CutSuffix(w.text, "…"); ok {
					if !strings.HasPrefix(g.Text, p) {
						t.Errorf("record %d text %q, want prefix %q", i, g.Text, p)
					}
				} else if g.Text != w.text {
					t.Errorf("record %d text %q, want %q", i, g.Text, w.text)
				}
				if w.level != "" && g.Level != w.level {
					t.Errorf("record %d level %q, want %q", i, g.Level, w.level)
				}
				if w.lines != 0 && g.Lines != w.lines {
					t.Errorf("record %d lines %d, want %d (%q)", i, g.Lines, w.lines, g.Text)
				}
			}
		})
	}
}

func TestReaderTimes(t *testing.T) {
	got := readAll(t, "2024-05-01T10:00:00.123456789Z stdout F hello\n[Sun Dec 04 04:47:44 2005] [error] mod_jk child failed\n2024-05-01 10:00:01,250 INFO x\n", ReaderOptions{Source: "pod-a"})
	want := []time.Time{
		time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC),
		time.Date(2005, 12, 4, 4, 47, 44, 0, time.UTC),
		time.Date(2024, 5, 1, 10, 0, 1, 250000000, time.UTC),
	}
	for i, w := range want {
		if !got[i].Time.Equal(w) {
			t.Errorf("record %d time %v, want %v", i, got[i].Time, w)
		}
		if got[i].Source != "pod-a" {
			t.Errorf("record %d source %q", i, got[i].Source)
		}
	}
	if got[1].Level != LevelError || got[1].Text != "mod_jk child failed" {
		t.Errorf("apache record: %+v", got[1])
	}
}

func TestIsSevere(t *testing.T) {
	cases := []struct {
		r    Record
		want bool
	}{
		{Record{Text: "request done", Level: LevelInfo}, false},
		{Record{Text: "db down", Level: LevelError}, true},
		{Record{Text: "panic: boom\ngoroutine 1 [running]:"}, true},
		{Record{Text: "fatal error: concurrent map writes"}, true},
		{Record{Text: "java.lang.OutOfMemoryError: Java heap space"}, true},
		{Record{Text: "Memory cgroup out of memory: Killed process 123"}, true},
		{Record{Text: "x\n\tat com.x.Y.z(Y.java:1)"}, true},
		{Record{Text: "retrying in 5s", Level: LevelWarn}, false},
	}
	for _, c := range cases {
		if got := IsSevere(c.r); got != c.want {
			t.Errorf("IsSevere(%q, %q) = %v, want %v", c.r.Text, c.r.Level, got, c.want)
		}
	}
}

// kubectl logs -l app=x --prefix interleaves pods line by line: traces stay whole per pod.
func TestReadAllSplitsKubectlPrefix(t *testing.T) {
	in := "[pod/web-a/app] 2026-05-04 10:00:00 ERROR request failed\n" +
		"[pod/web-b/app] 2026-05-04 10:00:00 INFO ok\n" +
		"[pod/web-a/app] java.lang.IllegalStateException: boom\n" +
		"[pod/web-b/app] 2026-05-04 10:00:01 INFO ok again\n" +
		"[pod/web-a/app] \tat com.example.App.run(App.java:10)\n"
	recs, err := ReadAll(strings.NewReader(in), ReaderOptions{Source: "canary"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records: %+v", len(recs), recs)
	}
	if recs[0].Source != "canary/web-a/app" || recs[0].Lines != 3 || !strings.Contains(recs[0].Text, "\tat com.example.App.run") {
		t.Errorf("web-a trace not whole: %+v", recs[0])
	}
	if recs[1].Text != "ok" || recs[2].Text != "ok again" || recs[1].Source != "canary/web-b/app" {
		t.Errorf("web-b records: %+v %+v", recs[1], recs[2])
	}
}

// A logger that colours its output (zerolog's ConsoleWriter, a TTY) logs the same events as one that
// does not: escape codes are dropped and the level behind them is read.
func TestReaderStripsANSIColours(t *testing.T) {
	in := "\x1b[90m09:30AM\x1b[0m \x1b[1;31mERR\x1b[0m inventory lookup failed \x1b[36mstatus=\x1b[0m500\n" +
		"09:30AM INF request served status=200\n"
	recs := readAll(t, in, ReaderOptions{})
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	if recs[0].Level != LevelError || recs[0].Status != 500 || strings.ContainsRune(recs[0].Text, 0x1b) {
		t.Errorf("coloured line: level %q status %d text %q", recs[0].Level, recs[0].Status, recs[0].Text)
	}
	if recs[1].Level != LevelInfo {
		t.Errorf("plain line: level %q, want info", recs[1].Level)
	}
}

// A JSON object printed over several lines (JSON.stringify(x, null, 2)) is one structured record.
func TestReaderPrettyPrintedJSON(t *testing.T) {
	in := `{
  "level": "error",
  "msg": "payment provider rejected request",
  "err": {
    "message": "Request failed with status code 500 {not a brace}",
    "stack": "AxiosError: x\n    at settle (/app/settle.js:19:12)"
  },
  "status": 502
}
{
  "level": "info",
  "msg": "payment accepted"
}
`
	recs := readAll(t, in, ReaderOptions{})
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2: %+v", len(recs), recs)
	}
	if recs[0].Level != LevelError || !strings.HasPrefix(recs[0].Text, "payment provider rejected request") ||
		recs[0].Status != 502 || recs[0].Lines != 9 {
		t.Errorf("first record: %+v", recs[0])
	}
	if recs[1].Level != LevelInfo || recs[1].Text != "payment accepted" {
		t.Errorf("second record: %+v", recs[1])
	}
}

// Sidekiq writes context pairs before its level ("pid=1 tid=x WARN:") and logs job failures at warning
// level, the backtrace's Ruby frames unindented: the level is read, the frames join the record and a
// named exception at warning level is severe.
func TestReaderSidekiqFailure(t *testing.T) {
	in := "2026-06-15T09:30:00.001Z pid=1 tid=f119 class=InvoiceMailerJob jid=45 INFO: start\n" +
		"2026-06-15T09:30:00.002Z pid=1 tid=f119 WARN: NoMethodError: undefined method `amount_cents' for nil:NilClass\n" +
		"2026-06-15T09:30:00.003Z pid=1 tid=f119 WARN: /app/app/mailers/invoice_mailer.rb:23:in `invoice'\n" +
		"/app/app/jobs/invoice_mailer_job.rb:9:in `perform'\n" +
		"/usr/local/bundle/gems/sidekiq-7.2.4/lib/sidekiq/processor.rb:220:in `execute_job'\n" +
		"2026-06-15T09:30:00.004Z pid=1 tid=f119 WARN: Net::ReadTimeout: Net::ReadTimeout with #<TCPSocket:(closed)>\n"
	recs := readAll(t, in, ReaderOptions{})
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4", len(recs))
	}
	want := []struct {
		level  string
		lines  int
		severe bool
	}{{LevelInfo, 1, false}, {LevelWarn, 1, true}, {LevelWarn, 3, true}, {LevelWarn, 1, false}}
	for i, w := range want {
		if recs[i].Level != w.level || recs[i].Lines != w.lines || IsSevere(recs[i]) != w.severe {
			t.Errorf("record %d: level %q lines %d severe %v, want %+v (%q)", i, recs[i].Level, recs[i].Lines, IsSevere(recs[i]), w, recs[i].Text)
		}
	}
}

func TestNamesException(t *testing.T) {
	for line, want := range map[string]bool{
		"NoMethodError: undefined method `x' for nil:NilClass":                                 true,
		"java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available": true,
		`[object] (Illuminate\Database\QueryException(code: 2002): SQLSTATE[HY000]`:            true,
		"ERROR: relation does not exist":                                                       false,
		"Error: something":                                                                     false,
		"retry budget exhausted: timeout":                                                      false,
		"Net::ReadTimeout: Net::ReadTimeout with #<TCPSocket:(closed)>":                        false,
	} {
		if got := namesException(line); got != want {
			t.Errorf("namesException(%q) = %v, want %v", line, got, want)
		}
	}
}

// Headers of other loggers: the level is read wherever the format keeps it and the timestamp is
// not part of the event (a release that changes the time format logs the same events).
func TestReaderOtherHeaders(t *testing.T) {
	cases := []struct {
		name, line, level, text string
	}{
		{"rfc5424 err", "<131>1 2026-06-15T09:30:00.123Z orders-7d9f6b orders 1 - - upstream write failed", LevelError, "upstream write failed"},
		{"rfc5424 info with sd", `<134>1 2026-06-15T09:30:00Z host app 1 ID47 [exampleSDID@32473 iut="3"] order accepted`, LevelInfo, "order accepted"},
		{"rfc3164", "<132>Jun 15 09:30:00 host app[12]: disk almost full", LevelWarn, "host app[12]: disk almost full"},
		{"epoch millis", "1718443800123 INFO order accepted id=7", LevelInfo, "order accepted id=7"},
		{"epoch seconds with fraction", "1718443800.123 ERROR order failed", LevelError, "order failed"},
		{"not an epoch: stays in the text", "1234 ERROR order failed", LevelError, "1234 ERROR order failed"},
		{"tomcat german", "15-Jun-2026 09:30:00.809 SCHWERWIEGEND [http-nio-8080-exec-4] o.a.c.StandardWrapperValve.invoke Servlet.service() threw exception", LevelError, "SCHWERWIEGEND [http-nio-8080-exec-4] o.a.c.StandardWrapperValve.invoke Servlet.service() threw exception"},
		{"tomcat french warn", "15-Jun-2026 09:30:00.809 AVERTISSEMENT [main] o.a.c.Foo.bar x", LevelWarn, "AVERTISSEMENT [main] o.a.c.Foo.bar x"},
		{"mongodb", `{"t":{"$date":"2026-06-15T09:30:00.123+00:00"},"s":"E","c":"STORAGE","id":22435,"ctx":"conn12","msg":"WiredTiger error message"}`, LevelError, "WiredTiger error message"},
		{"serilog clef error", `{"@t":"2026-06-15T09:30:00.1234567Z","@mt":"HTTP {RequestMethod} {RequestPath} responded {StatusCode}","@l":"Error","StatusCode":500}`, LevelError, "HTTP {RequestMethod} {RequestPath} responded {StatusCode}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := readAll(t, c.line+"\n", ReaderOptions{})
			if len(recs) != 1 || recs[0].Level != c.level || !strings.HasPrefix(recs[0].Text, c.text) {
				t.Fatalf("got %+v, want level %q text %q", recs, c.level, c.text)
			}
			if !strings.HasPrefix(c.name, "not") && recs[0].Time.IsZero() {
				t.Errorf("timestamp not read")
			}
		})
	}
}

// A lone "{" that never closes does not swallow the records after it.
func TestReaderUnclosedBraceLine(t *testing.T) {
	in := "{\n  \"partial\": 1,\n2026-06-15T09:30:00Z ERROR next record\n2026-06-15T09:30:01Z INFO another\n"
	recs := readAll(t, in, ReaderOptions{})
	if len(recs) != 3 || recs[1].Level != LevelError || recs[2].Level != LevelInfo {
		t.Fatalf("got %+v", recs)
	}
}
