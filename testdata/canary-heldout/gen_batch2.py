"""Second blind batch of held-out cases (written after the first batch's fixes, still without tuning to
the judge): Serilog CLEF, Phoenix/Elixir, RFC 5424 syslog, Tomcat JUL with localised level names,
MongoDB JSON, loguru, structlog, log4j2 JSON, .NET crit, value changes at error level with a rate jump,
mixed duration units, 401 surges, a changed timestamp format, repeated startups, thin sides, metric
directions. Imported by generate.py (registers its cases with @case).
"""
import json
import random

from gen_formats import Clock, hexs, ip, lognormal, path, status, apache, T0  # noqa: F401


def register(case, write):
    @case
    def serilog_clef_500s():
        r = random.Random(401)

        def clef(clk, st, ms):
            t = clk.tick()
            rec = {"@t": t.strftime("%Y-%m-%dT%H:%M:%S.") + "%07dZ" % (t.microsecond * 10),
                   "@mt": "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms",
                   "@r": ["%.4f" % ms], "RequestMethod": "GET", "RequestPath": path(r), "StatusCode": st,
                   "Elapsed": round(ms, 4), "SourceContext": "Serilog.AspNetCore.RequestLoggingMiddleware",
                   "RequestId": "0HN4%s:0000000%d" % (hexs(r, 8).upper(), r.randint(1, 9)), "ConnectionId": "0HN4" + hexs(r, 8).upper()}
            if st >= 500:
                rec["@l"] = "Error"
            return json.dumps(rec, separators=(",", ":"))
        s = [clef(c, status(r, 0.0), lognormal(r, 12)) for c in [Clock(r)] for _ in range(900)]
        c = [clef(k, status(r, 0.07), lognormal(r, 12)) for k in [Clock(r)] for _ in range(220)]
        write("serilog-clef-500s", s, c, "abort",
              "Serilog compact JSON (CLEF: @t/@mt/@l, @l absent for Information); canary responds 5xx on 7% (StatusCode field).")

    @case
    def serilog_clef_healthy():
        r = random.Random(402)

        def clef(clk):
            t = clk.tick()
            return json.dumps({"@t": t.isoformat(), "@mt": "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms",
                               "RequestMethod": "GET", "RequestPath": path(r), "StatusCode": status(r), "Elapsed": round(lognormal(r, 12), 4),
                               "SourceContext": "Serilog.AspNetCore.RequestLoggingMiddleware", "RequestId": hexs(r, 12)}, separators=(",", ":"))
        write("serilog-clef-healthy", [clef(k) for k in [Clock(r)] for _ in range(900)], [clef(k) for k in [Clock(r)] for _ in range(220)], "promote",
              "Serilog CLEF request logs, same status mix and timings on both sides.")

    def phoenix(r, clk, n, st_fn, ms=8):
        out = []
        for _ in range(n):
            t = clk.tick()
            rid = "F" + hexs(r, 19)
            ts = t.strftime("%H:%M:%S.") + "%03d" % (t.microsecond // 1000)
            p = r.choice(["/api/orders", "/api/orders/%d" % r.randint(1, 9999), "/api/session"])
            out.append("%s request_id=%s [info] GET %s" % (ts, rid, p))
            st = st_fn()
            out.append("%s request_id=%s [info] Sent %d in %dms" % (ts, rid, st, max(1, int(lognormal(r, ms)))))
        return out

    @case
    def phoenix_401_surge():
        r = random.Random(411)
        s = phoenix(r, Clock(r), 450, lambda: 401 if r.random() < 0.01 else 200)
        c = phoenix(r, Clock(r), 110, lambda: 401 if r.random() < 0.35 else 200)
        write("phoenix-401-surge", s, c, "abort",
              "Phoenix (Elixir Logger) 'Sent 401 in 3ms': canary rejects 35% of requests as unauthorised (broken token check) vs 1%; no 5xx, no error level.")

    @case
    def phoenix_healthy():
        r = random.Random(412)
        s = phoenix(r, Clock(r), 450, lambda: 401 if r.random() < 0.02 else 200)
        c = phoenix(r, Clock(r), 110, lambda: 401 if r.random() < 0.02 else 200)
        write("phoenix-healthy", s, c, "promote", "Phoenix request logs (two lines per request, request_id), same 2% 401s on both sides.")

    def syslog5424(r, clk, n, err=0.0, host="orders-7d9f6b"):
        out = []
        for _ in range(n):
            t = clk.tick()
            ts = t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
            if r.random() < err:
                out.append("<131>1 %s %s orders 1 - - upstream write failed: broken pipe peer=%s" % (ts, host, ip(r)))
            else:
                out.append("<134>1 %s %s orders 1 - - order accepted id=%d" % (ts, host, r.randint(1, 99999)))
        return out

    @case
    def syslog_rfc5424_errors():
        r = random.Random(421)
        write("syslog-rfc5424-errors", syslog5424(r, Clock(r), 800), syslog5424(r, Clock(r), 200, err=0.1, host="orders-5c4b2a"), "abort",
              "RFC 5424 syslog: the severity is only in the PRI (<131> = local0.err, <134> = local0.info); canary logs err on 10%.")

    def tomcat(r, clk, n, lvl_err, lvl_info, err=0.0):
        out = []
        for _ in range(n):
            t = clk.tick()
            ts = t.strftime("%d-%b-%Y %H:%M:%S.") + "%03d" % (t.microsecond // 1000)
            th = "http-nio-8080-exec-%d" % r.randint(1, 10)
            if r.random() < err:
                out.append("%s %s [%s] org.apache.catalina.core.StandardWrapperValve.invoke Servlet.service() for servlet [dispatcher] in context with path [] threw exception [Request processing failed; nested exception is java.lang.IllegalArgumentException] with root cause" % (ts, lvl_err, th))
            else:
                out.append("%s %s [%s] com.example.shop.web.OrderController.list Bestellungen geladen: %d" % (ts, lvl_info, th, r.randint(0, 40)))
        return out

    @case
    def tomcat_jul_german_levels():
        r = random.Random(431)
        write("tomcat-jul-german-levels", tomcat(r, Clock(r), 800, "SCHWERWIEGEND", "INFORMATION"),
              tomcat(r, Clock(r), 200, "SCHWERWIEGEND", "INFORMATION", err=0.08), "abort",
              "Tomcat OneLineFormatter on a German JVM: level names are localised (SCHWERWIEGEND = SEVERE); canary throws on 8%, no stack trace printed.")

    @case
    def tomcat_jul_french_healthy():
        r = random.Random(432)
        write("tomcat-jul-french-healthy", tomcat(r, Clock(r), 800, "GRAVE", "INFOS", err=0.01),
              tomcat(r, Clock(r), 200, "GRAVE", "INFOS", err=0.01), "promote",
              "Tomcat on a French JVM (GRAVE = SEVERE, INFOS = INFO): the same 1% servlet exceptions on both sides.")

    def mongo(r, clk, n, err=0.0):
        out = []
        for _ in range(n):
            t = clk.tick()
            d = {"$date": t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+00:00" % (t.microsecond // 1000)}
            if r.random() < err:
                out.append(json.dumps({"t": d, "s": "E", "c": "STORAGE", "id": 22435, "ctx": "conn%d" % r.randint(10, 99),
                                       "msg": "WiredTiger error message", "attr": {"error": 28, "message": "No space left on device"}}, separators=(",", ":")))
            else:
                out.append(json.dumps({"t": d, "s": "I", "c": "NETWORK", "id": 51800, "ctx": "conn%d" % r.randint(10, 99),
                                       "msg": "client metadata", "attr": {"remote": "%s:%d" % (ip(r), r.randint(30000, 65000)), "client": "conn%d" % r.randint(10, 99)}}, separators=(",", ":")))
        return out

    @case
    def mongodb_json_errors():
        r = random.Random(441)
        write("mongodb-json-errors", mongo(r, Clock(r), 800), mongo(r, Clock(r), 200, err=0.1), "abort",
              "MongoDB structured JSON log (severity in \"s\": E/W/I, message in \"msg\"); canary sidecar hits 'No space left on device' errors.")

    def loguru(r, clk, n, err=0.0, warn=0.0):
        out = []
        for _ in range(n):
            t = clk.tick()
            ts = t.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (t.microsecond // 1000)
            x = r.random()
            if x < err:
                out.append("%s | ERROR    | app.billing:charge:88 - charge failed for invoice %d: gateway returned 502" % (ts, r.randint(1, 99999)))
            elif x < err + warn:
                out.append("%s | WARNING  | app.billing:charge:71 - slow gateway response: %.2fs" % (ts, lognormal(r, 2.5)))
            else:
                out.append("%s | INFO     | app.billing:charge:64 - invoice %d charged" % (ts, r.randint(1, 99999)))
        return out

    @case
    def loguru_errors():
        r = random.Random(451)
        write("loguru-errors", loguru(r, Clock(r), 800), loguru(r, Clock(r), 200, err=0.06), "abort",
              "loguru's default format (ts | LEVEL padded | module:function:line - msg); canary 'charge failed' ERROR on 6%.")

    @case
    def loguru_rare_warn_same_rate():
        r = random.Random(452)
        write("loguru-rare-warn-same-rate", loguru(r, Clock(r), 800, warn=0.01), loguru(r, Clock(r), 200, warn=0.015), "promote",
              "loguru: a 'slow gateway response' WARNING at ~1% on both sides (3 vs 8 occurrences): same behaviour.")

    def structlog(r, clk, n, err=0.0):
        out = []
        for _ in range(n):
            t = clk.tick()
            ts = t.strftime("%Y-%m-%d %H:%M:%S")
            if r.random() < err:
                out.append("%s [error    ] webhook delivery failed      attempt=3 endpoint=https://hooks.example.com/%s status=410" % (ts, hexs(r, 6)))
            else:
                out.append("%s [info     ] webhook delivered            attempt=1 endpoint=https://hooks.example.com/%s status=200" % (ts, hexs(r, 6)))
        return out

    @case
    def structlog_console_errors():
        r = random.Random(461)
        write("structlog-console-errors", structlog(r, Clock(r), 800), structlog(r, Clock(r), 200, err=0.09), "abort",
              "structlog ConsoleRenderer (padded '[error    ]'); canary webhook deliveries fail on 9% (error level, status=410 from the remote).")

    def log4j2(r, clk, n, exc=0.0):
        out = []
        for _ in range(n):
            t = clk.tick()
            inst = {"epochSecond": int(t.timestamp()), "nanoOfSecond": t.microsecond * 1000}
            if r.random() < exc:
                out.append(json.dumps({"instant": inst, "thread": "pool-2-thread-%d" % r.randint(1, 8), "level": "ERROR",
                                       "loggerName": "com.acme.ledger.PostingService", "message": "posting rejected",
                                       "thrown": {"commonElementCount": 0, "localizedMessage": "balance would go negative for account %d" % r.randint(1, 9999),
                                                  "message": "balance would go negative", "name": "com.acme.ledger.InsufficientFundsException",
                                                  "extendedStackTrace": [{"class": "com.acme.ledger.PostingService", "method": "post", "file": "PostingService.java", "line": 142}]},
                                       "endOfBatch": False, "loggerFqcn": "org.apache.logging.log4j.spi.AbstractLogger", "threadId": 31, "threadPriority": 5}, separators=(",", ":")))
            else:
                out.append(json.dumps({"instant": inst, "thread": "pool-2-thread-%d" % r.randint(1, 8), "level": "INFO",
                                       "loggerName": "com.acme.ledger.PostingService", "message": "posted entry %s" % hexs(r, 10),
                                       "endOfBatch": False, "loggerFqcn": "org.apache.logging.log4j.spi.AbstractLogger", "threadId": 31, "threadPriority": 5}, separators=(",", ":")))
        return out

    @case
    def log4j2_json_exception():
        r = random.Random(471)
        write("log4j2-json-exception", log4j2(r, Clock(r), 800), log4j2(r, Clock(r), 200, exc=0.05), "abort",
              "log4j2 JsonLayout (instant/thrown objects); canary throws a new InsufficientFundsException at ERROR on 5%.")

    def reason_errors(r, clk, n, p, reason):
        out = []
        for _ in range(n):
            t = clk.tick()
            ts = t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
            if r.random() < p:
                out.append("time=%s level=ERROR msg=\"payment declined\" reason=%s order=%d" % (ts, reason, r.randint(1, 99999)))
            else:
                out.append("time=%s level=INFO msg=\"payment captured\" order=%d amount=%d" % (ts, r.randint(1, 99999), r.randint(100, 99999)))
        return out

    @case
    def error_reason_changes_and_jumps():
        r = random.Random(481)
        write("error-reason-changes-and-jumps", reason_errors(r, Clock(r), 1600, 0.01, "insufficient_funds"),
              reason_errors(r, Clock(r), 400, 0.12, "processor_unavailable"), "abort",
              "The same-shaped ERROR line changes its reason value (insufficient_funds -> processor_unavailable) AND jumps from 1% to 12%: not a benign value change.")

    @case
    def error_reason_changes_same_rate():
        r = random.Random(482)
        write("error-reason-changes-same-rate", reason_errors(r, Clock(r), 1600, 0.01, "insufficient_funds"),
              reason_errors(r, Clock(r), 400, 0.01, "card_declined"), "promote",
              "A renamed error reason code (insufficient_funds -> card_declined) at the same 1% rate: customers' cards, not the release.")

    def took(r, clk, n, scale):
        out = []
        for _ in range(n):
            t = clk.tick()
            d = lognormal(r, 0.18 * scale)
            ds = "%.1fs" % d if d >= 1 else "%dms" % int(d * 1000)
            out.append("%s INFO  [report-worker] report %d rendered, took %s" % (t.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (t.microsecond // 1000), r.randint(1, 99999), ds))
        return out

    @case
    def mixed_units_latency_regression():
        r = random.Random(491)
        write("mixed-units-latency-regression", took(r, Clock(r), 800, 1), took(r, Clock(r), 200, 5), "abort",
              "'took 180ms' vs 'took 1.2s': durations printed in whichever unit fits; the canary is 5x slower (most of its lines switch to seconds).")

    @case
    def timestamp_format_changed():
        r = random.Random(501)
        clk = Clock(r)
        s = ["%s INFO order accepted id=%d" % (clk.tick().strftime("%Y-%m-%dT%H:%M:%S.%fZ"), r.randint(1, 99999)) for _ in range(800)]
        clk = Clock(r)
        c = ["%d INFO order accepted id=%d" % (int(clk.tick().timestamp() * 1000), r.randint(1, 99999)) for _ in range(200)]
        write("timestamp-format-changed", s, c, "promote",
              "A logging library upgrade changed the timestamp from RFC 3339 to epoch milliseconds; the events are the same.")

    @case
    def crashloop_repeated_startups():
        r = random.Random(511)
        banner = ['{"level":"info","msg":"starting notifier","version":"%s"}', '{"level":"info","msg":"connected to nats","url":"nats://nats:4222"}',
                  '{"level":"info","msg":"listening","addr":":8080"}']
        work = '{"level":"info","msg":"notification sent","channel":"%s","id":"%s"}'
        s = [b % "3.1.0" if "%s" in b else b for b in banner] + [work % (r.choice(["email", "sms", "push"]), hexs(r, 12)) for _ in range(800)]
        c = []
        for _ in range(5):
            c += [b % "3.2.0" if "%s" in b else b for b in banner] + [work % (r.choice(["email", "sms", "push"]), hexs(r, 12)) for _ in range(40)]
            c.append('{"level":"info","msg":"received signal, shutting down","signal":"terminated"}')
        write("crashloop-repeated-startups", s, c, "abort",
              "The canary container restarts 5 times in the window (startup banner x5, SIGTERM from failing liveness probes) while stable started once; no error lines.")

    @case
    def thin_canary_with_panic():
        r = random.Random(521)
        clk = Clock(r)
        s = ["%s INFO handled path=/ status=200" % clk.tick().strftime("%Y/%m/%d %H:%M:%S") for _ in range(800)]
        clk = Clock(r)
        c = ["%s INFO handled path=/ status=200" % clk.tick().strftime("%Y/%m/%d %H:%M:%S") for _ in range(12)]
        c.append("%s http: panic serving 10.244.1.9:51234: runtime error: slice bounds out of range [:5] with capacity 3\ngoroutine 77 [running]:\nnet/http.(*conn).serve.func1()\n\t/usr/local/go/src/net/http/server.go:1947 +0xbe\nmain.parseHeader({0xc000016060, 0x3})\n\t/app/header.go:19 +0x8c" % clk.tick().strftime("%Y/%m/%d %H:%M:%S"))
        write("thin-canary-with-panic", s, c, "abort",
              "Only 13 canary records, but one is a panic stable never logs: hard evidence wins over thin data.")

    @case
    def thin_stable_inconclusive():
        r = random.Random(531)
        write("thin-stable-inconclusive", apache_n(r, 6), apache_n(r, 300), "inconclusive",
              "Stable pods just restarted: 6 stable records against 300 canary: nothing to compare against.")

    def apache_n(r, n, **kw):
        clk = Clock(r)
        return [apache(r, clk, **kw) for _ in range(n)]

    def metric(name, values, direction, critical=True):
        return {"name": name, "values": values, "direction": direction, "critical": critical}

    def series(r, n, mu, sd):
        return [round(r.gauss(mu, sd), 5) for _ in range(n)]

    @case
    def metric_success_rate_drops():
        r = random.Random(541)
        s = ['{"msg":"ok","lvl":"info","n":%d}' % i for i in range(400)]
        c = ['{"msg":"ok","lvl":"info","n":%d}' % i for i in range(100)]
        write("metric-success-rate-drops", s, c, "abort",
              "success_rate (direction decrease) 99.9% -> 97.0% in canary; logs say nothing.",
              stable_metrics=[metric("success_rate", [min(1.0, v) for v in series(r, 30, 0.999, 0.0005)], "decrease")],
              canary_metrics=[metric("success_rate", [min(1.0, v) for v in series(r, 30, 0.970, 0.004)], "decrease")])

    @case
    def metric_latency_improves():
        r = random.Random(542)
        s = ['{"msg":"ok","lvl":"info","n":%d}' % i for i in range(400)]
        c = ['{"msg":"ok","lvl":"info","n":%d}' % i for i in range(100)]
        write("metric-latency-improves", s, c, "promote",
              "p95 latency halves in the canary (the release is a performance fix): a change in the good direction.",
              stable_metrics=[metric("latency_p95_seconds", series(r, 30, 0.300, 0.03), "increase")],
              canary_metrics=[metric("latency_p95_seconds", series(r, 30, 0.150, 0.02), "increase")])

    @case
    def metric_few_canary_samples_same():
        r = random.Random(543)
        s = ['{"msg":"ok","lvl":"info","n":%d}' % i for i in range(400)]
        c = ['{"msg":"ok","lvl":"info","n":%d}' % i for i in range(100)]
        write("metric-few-canary-samples-same", s, c, "promote",
              "Canary metrics have 8 samples (vs 30) with the same error ratio and latency: enough to promote, with less confidence.",
              stable_metrics=[metric("error_ratio", series(r, 30, 0.004, 0.001), "increase"), metric("latency_p95_seconds", series(r, 30, 0.2, 0.02), "increase")],
              canary_metrics=[metric("error_ratio", series(r, 8, 0.004, 0.001), "increase"), metric("latency_p95_seconds", series(r, 8, 0.2, 0.02), "increase")])

    @case
    def dotnet_crit_once():
        r = random.Random(551)
        req = "info: Microsoft.AspNetCore.Hosting.Diagnostics[2]\n      Request finished HTTP/1.1 GET http://api/x - 200 - application/json %.4fms"
        s = [req % lognormal(r, 9) for _ in range(800)]
        c = [req % lognormal(r, 9) for _ in range(120)]
        c.append("crit: Microsoft.AspNetCore.Hosting.Diagnostics[6]\n      Application startup exception\n      System.IO.FileNotFoundException: Could not find file '/app/appsettings.Production.json'.")
        c += [req % lognormal(r, 9) for _ in range(80)]
        write("dotnet-crit-once", s, c, "abort",
              "ASP.NET Core 'crit:' (Critical) startup exception once in canary (a pod restarted and failed to read its config).")

    @case
    def new_periodic_info_job():
        r = random.Random(561)
        clk = Clock(r)
        s = ['ts=%s level=info msg="request done" path=%s code=200' % (clk.tick().strftime("%Y-%m-%dT%H:%M:%S.%fZ"), path(r)) for _ in range(800)]
        clk, c = Clock(r), []
        for i in range(200):
            c.append('ts=%s level=info msg="request done" path=%s code=200' % (clk.tick().strftime("%Y-%m-%dT%H:%M:%S.%fZ"), path(r)))
            if i % 20 == 0:
                c.append('ts=%s level=info msg="price cache refreshed" entries=%d took=%dms' % (clk.t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), r.randint(9000, 9999), r.randint(40, 90)))
        write("new-periodic-info-job", s, c, "promote",
              "The release adds a background job that logs 'price cache refreshed' at INFO every few seconds; requests unchanged.")
