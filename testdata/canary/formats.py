"""Real-format scenarios for generate.py: access logs of common servers, framework logs with stack
traces, structured Go/Node loggers, database/cache client errors and benign differences.

Formats follow each server's documented default (nginx combined/JSON, Envoy default text/JSON,
Spring Boot 3 console, Django/gunicorn, pino, zap, logrus, slog, argoproj/rollouts-demo's
"<status> - <color>" request line). Seeded: the output is the same on every run.
"""
import datetime, json, random, uuid

T0 = datetime.datetime(2026, 5, 4, 10, 0, 0, tzinfo=datetime.timezone.utc)
PATHS = ["/", "/api/cart", "/api/cart", "/api/products", "/api/products/{id}", "/api/orders", "/healthz", "/static/app.{h}.js"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
          "curl/8.5.0", "python-requests/2.31.0", "kube-probe/1.30", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"]


class Clock:
    def __init__(self, rnd, step=(5, 300)):
        self.t, self.rnd, self.step = T0, rnd, step

    def tick(self):
        self.t += datetime.timedelta(milliseconds=self.rnd.randint(*self.step))
        return self.t


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def clf(t):
    return t.strftime("%d/%b/%Y:%H:%M:%S +0000")


def ip(rnd):
    return "10.244.%d.%d" % (rnd.randint(0, 9), rnd.randint(2, 250))


def path(rnd):
    return rnd.choice(PATHS).format(id=rnd.randint(1, 999), h="".join(rnd.choice("0123456789abcdef") for _ in range(8)))


def status(rnd, p5=0.0, p4=0.02, codes5=(500, 502, 503, 504)):
    r = rnd.random()
    if r < p5:
        return rnd.choice(codes5)
    if r < p5 + p4:
        return rnd.choice([400, 401, 404, 404, 404])
    return rnd.choice([200, 200, 200, 200, 201, 204, 304])


def lognormal(rnd, median):
    return max(0.0005, rnd.lognormvariate(0, 0.5) * median)


# --- argoproj/rollouts-demo: log.Printf("%d - %s%s\n", status, color, " (%fs)" when delayed)
def rollouts_demo(seed, n, color="blue", p5=0.0, delay=0.0):
    rnd = random.Random(seed)
    clk = Clock(rnd, (20, 120))
    out = [clk.tick().strftime("%Y/%m/%d %H:%M:%S") + " Started server on :8080"]
    for _ in range(n):
        st = 500 if rnd.random() < p5 else 200
        d = " (%fs)" % delay if delay > 0 else ""
        out.append("%s %d - %s%s" % (clk.tick().strftime("%Y/%m/%d %H:%M:%S"), st, color, d))
    return out


# --- nginx: combined access log (optionally with request_time), error log lines
def nginx_access(seed, n, p5=0.0, p4=0.02, rt=0.0, json_fmt=False, field_order=None, error_every=0):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = []
    for i in range(n):
        t = clk.tick()
        st = status(rnd, p5, p4)
        p = path(rnd)
        method = "GET" if rnd.random() < 0.8 else "POST"
        size = rnd.randint(120, 9000)
        if json_fmt:
            d = {"time_local": clf(t), "remote_addr": ip(rnd), "request": "%s %s HTTP/1.1" % (method, p), "status": str(st),
                 "body_bytes_sent": str(size), "request_time": "%.3f" % lognormal(rnd, rt or 0.01),
                 "http_user_agent": rnd.choice(AGENTS), "request_id": uuid.UUID(int=rnd.getrandbits(128)).hex}
            if field_order:
                d = {k: d[k] for k in field_order}
            out.append(json.dumps(d))
        else:
            line = '%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "%s"' % (ip(rnd), clf(t), method, p, st, size, rnd.choice(AGENTS))
            if rt:
                line += " rt=%.3f" % lognormal(rnd, rt)
            out.append(line)
        if error_every and i % error_every == error_every - 1:
            out.append('%s [error] 29#29: *%d upstream timed out (110: Connection timed out) while reading response header from upstream, client: %s, server: _, request: "GET /api/cart HTTP/1.1", upstream: "http://10.96.0.12:8080/api/cart", host: "shop.example.com"'
                       % (t.strftime("%Y/%m/%d %H:%M:%S"), rnd.randint(1000, 99999), ip(rnd)))
    return out


# --- Envoy: default text access log format and a JSON access log
def envoy_access(seed, n, p5=0.0, json_fmt=False, reorder=False, dur=3):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = []
    for _ in range(n):
        t = clk.tick()
        st = status(rnd, p5, 0.01, codes5=(503, 503, 504))
        flags = "UF" if st == 503 else ("UT" if st == 504 else "-")
        p = path(rnd)
        rid = str(uuid.UUID(int=rnd.getrandbits(128)))
        d = max(0, int(rnd.gauss(dur, dur / 3)))
        if json_fmt:
            rec = {"start_time": iso(t), "method": "GET", "path": p, "protocol": "HTTP/1.1", "response_code": st,
                   "response_flags": flags, "bytes_received": 0, "bytes_sent": rnd.randint(90, 4000), "duration": d,
                   "upstream_host": "10.244.2.%d:8080" % rnd.randint(2, 40), "x_forwarded_for": ip(rnd), "request_id": rid,
                   "authority": "shop.example.com"}
            if reorder:
                rec = dict(sorted(rec.items(), reverse=True))
            out.append(json.dumps(rec))
        else:
            out.append('[%s] "GET %s HTTP/1.1" %d %s 0 %d %d %s "%s" "%s" "%s" "shop.example.com" "10.244.2.%d:8080"'
                       % (iso(t), p, st, flags, rnd.randint(90, 4000), d, "-" if st >= 500 else str(max(0, d - 1)), ip(rnd), rnd.choice(AGENTS), rid, rnd.randint(2, 40)))
    return out


# --- Spring Boot 3 console format
def spring(seed, n, exc_rate=0.0, exc=None, version="1.4.2"):
    rnd = random.Random(seed)
    clk = Clock(rnd)

    def line(level, logger, msg, thread=None):
        thread = thread or "nio-8080-exec-%d" % rnd.randint(1, 10)
        return "%s %5s 1 --- [shop] [%15s] %-40s : %s" % (iso(clk.tick()), level, thread, logger, msg)

    out = [line("INFO", "c.e.shop.ShopApplication", "Starting ShopApplication v%s using Java 21.0.3 with PID 1" % version, "main"),
           line("INFO", "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat started on port 8080 (http) with context path '/'", "main")]
    for _ in range(n):
        if rnd.random() < exc_rate:
            out.append(exc(rnd, line))
            continue
        kind = rnd.random()
        if kind < 0.6:
            out.append(line("INFO", "c.e.shop.web.OrderController", "Order %d placed for customer %d" % (rnd.randint(10000, 99999), rnd.randint(1, 500))))
        elif kind < 0.9:
            out.append(line("INFO", "c.e.shop.web.CartController", "Cart %s updated with %d items" % (uuid.UUID(int=rnd.getrandbits(128)), rnd.randint(1, 9))))
        else:
            out.append(line("DEBUG", "o.h.SQL", "select p1_0.id,p1_0.name from product p1_0 where p1_0.id=?"))
    return out


def spring_pg_exception(rnd, line):
    return line("ERROR", "o.a.c.c.C.[.[.[/].[dispatcherServlet]",
                "Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: "
                "org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection] with root cause") + """
org.postgresql.util.PSQLException: FATAL: sorry, too many clients already
\tat org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication(ConnectionFactoryImpl.java:698)
\tat org.postgresql.core.v3.ConnectionFactoryImpl.tryConnect(ConnectionFactoryImpl.java:207)
\tat com.zaxxer.hikari.pool.HikariPool.createPoolEntry(HikariPool.java:476)
\tat com.example.shop.repo.OrderRepository.save(OrderRepository.java:%d)
\tat com.example.shop.web.OrderController.place(OrderController.java:41)
\tat java.base/java.lang.Thread.run(Thread.java:1583)""" % rnd.randint(30, 60)


# --- Django behind gunicorn: access lines plus django.request errors with tracebacks
def django(seed, n, err_rate=0.0):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = ["[%s] [1] [INFO] Starting gunicorn 22.0.0" % clk.tick().strftime("%Y-%m-%d %H:%M:%S +0000"),
           "[%s] [1] [INFO] Listening at: http://0.0.0.0:8000 (1)" % clk.tick().strftime("%Y-%m-%d %H:%M:%S +0000")]
    for _ in range(n):
        t = clk.tick()
        p = rnd.choice(["/api/orders/", "/api/products/", "/api/products/%d/" % rnd.randint(1, 300), "/healthz"])
        if rnd.random() < err_rate:
            ts = t.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (t.microsecond // 1000)
            out.append("""[%s] ERROR django.request: Internal Server Error: %s
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
  File "/usr/local/lib/python3.12/site-packages/django/core/handlers/base.py", line 197, in _get_response
    response = wrapped_callback(request, *callback_args, **callback_kwargs)
  File "/app/shop/views.py", line %d, in order_list
    orders = list(Order.objects.filter(customer=request.user.customer))
  File "/usr/local/lib/python3.12/site-packages/django/db/backends/base/base.py", line 275, in ensure_connection
    self.connect()
django.db.utils.OperationalError: connection to server at "postgres.shop.svc" (10.96.0.20), port 5432 failed: FATAL:  sorry, too many clients already""" % (ts, p, rnd.randint(40, 90)))
            st = 500
        else:
            st = 404 if rnd.random() < 0.01 else 200
        out.append('%s - - [%s] "GET %s HTTP/1.1" %d %d "-" "%s"' % (ip(rnd), clf(t), p, st, rnd.randint(100, 5000), rnd.choice(AGENTS)))
    return out


# --- Node: pino JSON (pino-http request lines, errors serialised as objects)
def pino(seed, n, err_rate=0.0, hostname="web-7d9f6b-x2k4p"):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = [json.dumps({"level": 30, "time": int(clk.tick().timestamp() * 1000), "pid": 1, "hostname": hostname, "msg": "server listening on :3000"})]
    for i in range(n):
        t = int(clk.tick().timestamp() * 1000)
        req = {"id": i + 1, "method": "GET", "url": path(rnd), "remoteAddress": "::ffff:" + ip(rnd)}
        if rnd.random() < err_rate:
            out.append(json.dumps({"level": 50, "time": t, "pid": 1, "hostname": hostname, "req": req, "res": {"statusCode": 500},
                                   "err": {"type": "TypeError", "message": "Cannot read properties of undefined (reading 'price')",
                                           "stack": "TypeError: Cannot read properties of undefined (reading 'price')\n    at cartTotal (/app/src/cart.js:%d:31)\n    at Array.reduce (<anonymous>)\n    at /app/src/routes/cart.js:22:24\n    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)" % rnd.randint(10, 20)},
                                   "responseTime": rnd.randint(1, 20), "msg": "request errored"}))
        else:
            out.append(json.dumps({"level": 30, "time": t, "pid": 1, "hostname": hostname, "req": req, "res": {"statusCode": 200},
                                   "responseTime": rnd.randint(1, 40), "msg": "request completed"}))
    return out


# --- Go: zap production JSON, logrus text, slog JSON
def zap(seed, n, err_rate=0.0, version="v1.8.0"):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = [json.dumps({"level": "info", "ts": clk.tick().timestamp(), "caller": "cmd/main.go:41", "msg": "starting inventory service", "version": version})]
    for _ in range(n):
        ts = clk.tick().timestamp()
        if rnd.random() < err_rate:
            out.append(json.dumps({"level": "error", "ts": ts, "caller": "inventory/handler.go:88", "msg": "failed to reserve stock",
                                   "sku": "SKU-%05d" % rnd.randint(1, 99999), "error": "redis: connection pool timeout",
                                   "stacktrace": "github.com/shop/inventory.(*Handler).reserve\n\t/app/inventory/handler.go:88\nnet/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:2220"}))
        else:
            out.append(json.dumps({"level": "info", "ts": ts, "caller": "inventory/handler.go:61", "msg": "stock reserved",
                                   "sku": "SKU-%05d" % rnd.randint(1, 99999), "qty": rnd.randint(1, 5), "latency": round(lognormal(rnd, 0.004), 6)}))
    return out


def logrus(seed, n, err_rate=0.0, debug_rate=0.0, err_msg="cache get failed", err_text="dial tcp 10.96.0.30:6379: i/o timeout"):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = ['time="%s" level=info msg="connected to redis" addr="redis.shop.svc:6379"' % iso(clk.tick())]
    for _ in range(n):
        t = iso(clk.tick())
        key = "cart:%d" % rnd.randint(1, 5000)
        if rnd.random() < debug_rate:
            out.append('time="%s" level=debug msg="cache lookup" key="%s" ttl=%d' % (t, key, rnd.randint(1, 3600)))
        if rnd.random() < err_rate:
            out.append('time="%s" level=error msg="%s" error="%s" key="%s"' % (t, err_msg, err_text, key))
        else:
            out.append('time="%s" level=info msg="cart loaded" key="%s" items=%d' % (t, key, rnd.randint(0, 12)))
    return out


def slog_json(seed, n, reorder=False, p5=0.0, dur_ms=8, extra_field=False, trace=False):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = []
    for _ in range(n):
        st = 500 if rnd.random() < p5 else 200
        d = {"time": iso(clk.tick()), "level": "INFO", "msg": "request", "method": "GET", "path": path(rnd), "status": st,
             "duration": int(lognormal(rnd, dur_ms) * 1e6)}
        if trace:
            d["trace_id"] = "%032x" % rnd.getrandbits(128)
            d["span_id"] = "%016x" % rnd.getrandbits(64)
        if extra_field:
            d["region"] = "eu-west-1"
        if reorder:
            d = dict(reversed(list(d.items())))
        out.append(json.dumps(d))
    return out


def slog_text(seed, n, dur_ms=8, order_saved=True, err_rate=0.0, err_line=None, variant=None):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = []
    for _ in range(n):
        t = iso(clk.tick())
        d = lognormal(rnd, dur_ms)
        out.append('time=%s level=INFO msg=request method=POST path=/api/orders status=201 duration_ms=%d' % (t, max(1, round(d))))
        if order_saved:
            line = 'time=%s level=INFO msg="order saved" order_id=%d items=%d' % (iso(clk.tick()), rnd.randint(10000, 99999), rnd.randint(1, 9))
            if variant:
                line += " checkout=" + variant
            out.append(line)
        if rnd.random() < err_rate and err_line:
            out.append(err_line(rnd, iso(clk.tick())))
    return out


def interleave(rnd, *pods):
    """Merges per-pod record lists in random order, keeping each pod's order and each record whole
    (what a log collector writing one file for several pods produces)."""
    idx = [0] * len(pods)
    out = []
    while any(i < len(p) for i, p in zip(idx, pods)):
        k = rnd.choice([j for j, p in enumerate(pods) if idx[j] < len(p)])
        out.append(pods[k][idx[k]])
        idx[k] += 1
    return out


# --- Node/Express with morgan's "dev" format, an uncaught TypeError printed by Node (4-space frames)
def express_plain(seed, n, crash_rate=0.0):
    rnd = random.Random(seed)
    out = ["Server listening on port 3000"]
    for _ in range(n):
        if rnd.random() < crash_rate:
            out.append("""TypeError: Cannot read properties of undefined (reading 'sku')
    at /app/src/routes/cart.js:%d:31
    at Array.map (<anonymous>)
    at cartView (/app/src/routes/cart.js:40:22)
    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)""" % rnd.randint(20, 30))
            out.append("POST /api/cart 500 %.3f ms - 148" % (rnd.random() * 5))
        else:
            out.append("%s %s %d %.3f ms - %d" % (rnd.choice(["GET", "GET", "POST"]), path(rnd), status(rnd, 0, 0.01), lognormal(rnd, 4), rnd.randint(100, 5000)))
    return out


# --- .NET console logger (two-line entries, exceptions indented with spaces)
def dotnet(seed, n, exc_rate=0.0):
    rnd = random.Random(seed)
    out = ["info: Microsoft.Hosting.Lifetime[14]", "      Now listening on: http://[::]:8080"]
    for _ in range(n):
        cid = "0HN%07X" % rnd.getrandbits(28)
        if rnd.random() < exc_rate:
            out += ["fail: Microsoft.AspNetCore.Server.Kestrel[13]",
                    '      Connection id "%s", Request id "%s:00000002": An unhandled exception was thrown by the application.' % (cid, cid),
                    "      System.NullReferenceException: Object reference not set to an instance of an object.",
                    "         at Shop.Controllers.CartController.Get(Int32 id) in /src/Shop/Controllers/CartController.cs:line %d" % rnd.randint(30, 40),
                    "         at lambda_method5(Closure, Object, Object[])"]
        else:
            out += ["info: Shop.Controllers.CartController[0]", "      Cart %d served in %d ms" % (rnd.randint(1, 9999), rnd.randint(1, 30))]
    return out


# --- Rails with Ruby's Logger format
def rails(seed, n, err_rate=0.0):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = []
    for _ in range(n):
        t = clk.tick().strftime("%Y-%m-%dT%H:%M:%S.%f")
        rid = str(uuid.UUID(int=rnd.getrandbits(128)))
        out.append('I, [%s #1]  INFO -- : [%s] Started GET "/products/%d" for %s at %s' % (t, rid, rnd.randint(1, 500), ip(rnd), t[:19]))
        if rnd.random() < err_rate:
            out.append("E, [%s #1] ERROR -- : [%s] ActiveRecord::ConnectionNotEstablished (connection to server at \"10.96.0.20\", port 5432 failed: Connection refused)" % (t, rid))
            out.append("I, [%s #1]  INFO -- : [%s] Completed 500 Internal Server Error in %dms" % (t, rid, rnd.randint(5, 40)))
        else:
            out.append("I, [%s #1]  INFO -- : [%s] Completed 200 OK in %dms (Views: %.1fms | ActiveRecord: %.1fms)" % (t, rid, rnd.randint(5, 40), rnd.random() * 10, rnd.random() * 5))
    return out


def slog_text_fields(seed, n, reorder=False):
    rnd = random.Random(seed)
    clk = Clock(rnd)
    out = []
    for _ in range(n):
        kv = [("method", rnd.choice(["GET", "POST"])), ("path", path(rnd)), ("status", "200"), ("duration_ms", str(rnd.randint(1, 20))), ("user", str(rnd.randint(1, 900)))]
        if reorder:
            kv = kv[::-1]
        out.append("time=%s level=INFO msg=request %s" % (iso(clk.tick()), " ".join("%s=%s" % p for p in kv)))
    return out


def kubectl_prefix(rnd, pods):
    """`kubectl logs -l app=shop --prefix`: every physical line led by [pod/NAME/CONTAINER], pods
    interleaved line by line (so a stack trace's lines are mixed with other pods' lines)."""
    streams = [[("[pod/%s/app] " % name) + l for rec in recs for l in rec.split("\n")] for name, recs in pods]
    return interleave(rnd, *streams)


def cases(write_case):
    S, C = 800, 200

    # argoproj/rollouts-demo (no metrics, logs are all fixloop sees)
    write_case("rollouts-demo-healthy", rollouts_demo(101, S), rollouts_demo(102, C), "promote",
               "rollouts-demo, same image and colour on both sides: '200 - blue' per request.")
    write_case("rollouts-demo-colour-change", rollouts_demo(103, S), rollouts_demo(104, C, color="green"), "promote",
               "rollouts-demo blue -> green, every request 200, no pattern given: one changed_template, informational.", min_confidence=70)
    write_case("rollouts-demo-error-rate", rollouts_demo(105, S), rollouts_demo(106, C, p5=0.3), "abort",
               "rollouts-demo ERROR_RATE=70 with the same colour: 30% of canary requests log '500 - blue' (no error word).",
               expect_kinds=["failed_requests"])
    write_case("rollouts-demo-latency", rollouts_demo(107, S), rollouts_demo(108, C, delay=2.0), "abort",
               "rollouts-demo LATENCY=2 with the same colour: every canary line carries '(2.000000s)'; the plain request line is gone.")
    write_case("rollouts-demo-latency-increase", rollouts_demo(109, S, delay=0.5), rollouts_demo(110, C, delay=2.0), "abort",
               "rollouts-demo, both sides delayed, canary 0.5s -> 2s: durations compared like a latency metric.",
               expect_kinds=["log_latency"])
    write_case("rollouts-demo-colour-and-errors", rollouts_demo(111, S), rollouts_demo(112, C, color="green", p5=0.25), "abort",
               "rollouts-demo blue -> green AND 25% 500s: the colour change must not hide the failures.",
               expect_kinds=["failed_requests"])

    # nginx
    write_case("nginx-access-healthy", nginx_access(120, S), nginx_access(121, C), "promote",
               "nginx combined access log, same 2% 4xx share, different IPs, paths, agents and sizes.")
    write_case("nginx-access-5xx", nginx_access(122, S, p5=0.002), nginx_access(123, C, p5=0.08), "abort",
               "nginx combined access log: 502/503/504 from 0.2% to 8% of requests; no line says error.",
               expect_kinds=["failed_requests"])
    write_case("nginx-access-same-5xx", nginx_access(124, S, p5=0.02), nginx_access(125, C, p5=0.02), "promote",
               "nginx combined access log: 5xx at 2% on both sides (pre-existing, unchanged).")
    write_case("nginx-access-404-spike", nginx_access(126, S, p4=0.02), nginx_access(127, C, p4=0.3), "abort",
               "nginx combined access log: 4xx share from 2% to 30% (a broken route), a warning.",
               expect_kinds=["failed_requests"])
    write_case("nginx-error-log-upstream-timeout", nginx_access(128, S), nginx_access(129, C, error_every=15), "abort",
               "nginx access + error log: canary adds '[error] upstream timed out' lines.", expect_kinds=["new_template"])
    write_case("nginx-request-time", nginx_access(130, S, rt=0.05), nginx_access(131, C, rt=0.4), "abort",
               "nginx access log with rt=$request_time: median 50ms -> 400ms.", expect_kinds=["log_latency"])
    order = ["request_id", "status", "request", "remote_addr", "time_local", "http_user_agent", "body_bytes_sent", "request_time"]
    write_case("nginx-json-reordered-fields", nginx_access(132, S, json_fmt=True), nginx_access(133, C, json_fmt=True, field_order=order), "promote",
               "nginx JSON access log; the canary's log_format lists the same fields in another order.")

    # Envoy
    write_case("envoy-access-healthy", envoy_access(140, S), envoy_access(141, C), "promote",
               "Envoy default access log format, same behaviour, different request IDs and upstream hosts.")
    write_case("envoy-access-503", envoy_access(142, S, p5=0.003), envoy_access(143, C, p5=0.12), "abort",
               "Envoy default access log: 503 UF (upstream connect failure) from 0.3% to 12%.", expect_kinds=["failed_requests"])
    write_case("envoy-json-reordered", envoy_access(144, S, json_fmt=True), envoy_access(145, C, json_fmt=True, reorder=True), "promote",
               "Envoy JSON access log with reordered keys on the canary side.")
    write_case("envoy-json-slow", envoy_access(146, S, json_fmt=True, dur=5), envoy_access(147, C, json_fmt=True, dur=300), "abort",
               "Envoy JSON access log: duration 5ms -> 300ms.", expect_kinds=["log_latency"])

    # Java / Spring Boot
    write_case("spring-boot-healthy-version-bump", spring(150, S), spring(151, C, version="1.5.0"), "promote",
               "Spring Boot console logs; the canary's start-up line says v1.5.0; threads and IDs differ.")
    write_case("spring-boot-db-exception", spring(152, S), spring(153, C, exc_rate=0.04, exc=spring_pg_exception), "abort",
               "Spring Boot: PSQLException 'too many clients' with a stack trace, canary only.", expect_kinds=["new_template"])

    # Python / Django
    write_case("django-healthy", django(160, S), django(161, C), "promote", "Django under gunicorn, same behaviour.")
    write_case("django-traceback", django(162, S), django(163, C, err_rate=0.05), "abort",
               "Django: OperationalError traceback ('too many clients') and 500 access lines, canary only.", expect_kinds=["new_template"])

    # Node
    write_case("node-pino-healthy", pino(170, S), pino(171, C, hostname="web-5c8d7f-p9q2z"), "promote",
               "pino-http JSON, different hostnames, request IDs and response times.")
    write_case("node-pino-typeerror", pino(172, S), pino(173, C, err_rate=0.06), "abort",
               "pino: TypeError with a stack (error object) and statusCode 500, canary only.", expect_kinds=["new_template"])

    # Go loggers
    write_case("go-zap-redis-errors", zap(180, S), zap(181, C, err_rate=0.05), "abort",
               "zap JSON: 'failed to reserve stock' with redis pool timeouts and a stacktrace field, canary only.", expect_kinds=["new_template"])
    write_case("go-zap-version-string", zap(182, S), zap(183, C, version="v1.9.0-rc.1"), "promote",
               "zap JSON, only the version in the start-up line differs.")
    write_case("go-logrus-redis-timeout", logrus(184, S, err_rate=0.01), logrus(185, C, err_rate=0.1), "abort",
               "logrus text: redis i/o timeouts from 0.2% to 10%.", expect_kinds=["rate_change"])
    write_case("go-logrus-new-debug-lines", logrus(186, S), logrus(187, C, debug_rate=0.5), "promote",
               "logrus text: the canary runs with debug logging ('cache lookup' on half the requests).")
    write_case("go-logrus-postgres-errors", logrus(188, S), logrus(189, C, err_rate=0.03, err_msg="query failed",
               err_text="FATAL: sorry, too many clients already (SQLSTATE 53300)"), "abort",
               "logrus text: new pgx 'too many clients' errors in canary.", expect_kinds=["new_template"])
    write_case("go-slog-json-reordered-fields", slog_json(190, S), slog_json(191, C, reorder=True, extra_field=True), "promote",
               "slog JSON: the canary writes fields in another order and adds region=...; same events.")
    write_case("go-slog-json-trace-ids", slog_json(192, S, trace=True), slog_json(193, C, trace=True), "promote",
               "slog JSON with trace_id/span_id on every line: different IDs, same events.")
    write_case("go-slog-json-5xx", slog_json(194, S), slog_json(195, C, p5=0.1), "abort",
               "slog JSON: status 500 at info level on 10% of canary requests.", expect_kinds=["failed_requests"])

    # Durations in log lines, no metrics
    write_case("log-latency-regression", slog_text(200, 400), slog_text(201, 100, dur_ms=120), "abort",
               "slog text duration_ms: median 8ms -> 120ms on the same request line.", expect_kinds=["log_latency"])
    write_case("log-latency-noise", slog_text(202, 400), slog_text(203, 100), "promote",
               "slog text duration_ms: same distribution, different values.")

    # Regular events: vanishing vs changing
    write_case("order-saved-stops", slog_text(204, 400), slog_text(205, 100, order_saved=False), "abort",
               "'order saved' is logged with every order in stable and never in canary, with nothing in its place.",
               expect_kinds=["gone_template"])
    write_case("order-saved-value-change", slog_text(206, 400, variant="classic"), slog_text(207, 100, variant="express"), "promote",
               "'order saved ... checkout=classic' becomes 'checkout=express' at the same rate: a value change.")

    # Stack traces from several pods in one file
    rnd = random.Random(210)
    pods = [spring(211 + i, C // 2, exc_rate=0.05, exc=spring_pg_exception) for i in range(3)]
    write_case("interleaved-traces-multi-pod", interleave(rnd, spring(214, S // 2), spring(215, S // 2)), interleave(rnd, *pods), "abort",
               "Three canary pods' Spring logs merged record by record; each pod throws PSQLException traces.",
               expect_kinds=["new_template"])
    rnd = random.Random(216)
    st = kubectl_prefix(rnd, [("shop-6f7c9d-%s" % x, spring(217 + i, S // 3)) for i, x in enumerate(["k2x9p", "m4q7z", "t8w1c"])])
    ca = kubectl_prefix(rnd, [("shop-84b5f2-%s" % x, spring(221 + i, C // 2, exc_rate=0.05, exc=spring_pg_exception)) for i, x in enumerate(["a1b2c", "d3e4f"])])
    write_case("kubectl-prefix-interleaved-traces", st, ca, "abort",
               "`kubectl logs --prefix` output: lines of several pods interleaved, canary pods throw PSQLException traces whose lines are mixed with other pods' lines.",
               expect_kinds=["new_template"])
    st = kubectl_prefix(rnd, [("shop-6f7c9d-%s" % x, spring(225 + i, S // 3)) for i, x in enumerate(["k2x9p", "m4q7z", "t8w1c"])])
    ca = kubectl_prefix(rnd, [("shop-84b5f2-%s" % x, spring(229 + i, C // 2)) for i, x in enumerate(["a1b2c", "d3e4f"])])
    write_case("kubectl-prefix-healthy", st, ca, "promote",
               "`kubectl logs --prefix` output, three stable and two canary pods with different names, same behaviour.")

    write_case("node-express-uncaught-typeerror", express_plain(232, S), express_plain(233, C, crash_rate=0.05), "abort",
               "Express with morgan 'dev' lines; the canary prints Node TypeError stacks (frames indented with spaces) and answers 500.",
               expect_kinds=["new_template"])
    write_case("dotnet-null-reference", dotnet(234, S), dotnet(235, C, exc_rate=0.05), "abort",
               ".NET console logger: 'fail:' entries with a NullReferenceException, canary only.", expect_kinds=["new_template"])
    write_case("rails-db-errors", rails(236, S), rails(237, C, err_rate=0.06), "abort",
               "Rails (Ruby Logger format): ActiveRecord::ConnectionNotEstablished errors and 'Completed 500', canary only.",
               expect_kinds=["new_template"])
    write_case("rails-healthy", rails(238, S), rails(239, C), "promote", "Rails (Ruby Logger format), same behaviour, different request IDs.")
    write_case("go-slog-text-reordered-fields", slog_text_fields(240, S), slog_text_fields(241, C, reorder=True), "promote",
               "slog text: the canary writes the same key=value fields in reverse order.")
    write_case("rollouts-demo-colour-and-latency", rollouts_demo(242, S, delay=0.5), rollouts_demo(243, C, color="green", delay=2.0), "abort",
               "rollouts-demo blue (0.5s) -> green (2s): the changed colour pairs the lines, and their durations are compared.",
               expect_kinds=["log_latency"])
