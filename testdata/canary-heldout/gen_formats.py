"""Log-line writers for the held-out canary cases (real formats of servers, frameworks and loggers).

Each writer takes a random.Random and a Clock and returns one record (a string that may span lines).
Formats follow each project's documented default (Apache combined, Caddy v2 JSON access log, HAProxy
httplog, Traefik JSON access log, Kong/nginx error log, Rails, Laravel/Monolog, ASP.NET Core console,
Sidekiq, Kafka Java client, go-grpc-middleware zap, zerolog console, klog, GCP structured logging,
log15, Python logging, Spring Boot ECS JSON).
"""
import datetime
import json
import math

T0 = datetime.datetime(2026, 6, 15, 9, 30, 0, tzinfo=datetime.timezone.utc)
ESC = "\x1b"


class Clock:
    def __init__(self, rnd, step=(5, 300), start=T0):
        self.rnd, self.step, self.t = rnd, step, start

    def tick(self):
        self.t += datetime.timedelta(milliseconds=self.rnd.randint(*self.step))
        return self.t


def ip(rnd):
    return "10.%d.%d.%d" % (rnd.choice([42, 244]), rnd.randint(0, 15), rnd.randint(2, 254))


def hexs(rnd, n):
    return "".join(rnd.choice("0123456789abcdef") for _ in range(n))


def lognormal(rnd, median, sigma=0.35):
    return median * math.exp(rnd.gauss(0, sigma))


PATHS = ["/", "/products", "/products/%d", "/cart", "/api/v2/orders/%d", "/static/app.%s.js", "/search?q=%s"]
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "okhttp/4.12.0",
    "curl/8.7.1",
]


def path(rnd):
    p = rnd.choice(PATHS)
    if "%d" in p:
        return p % rnd.randint(1, 99999)
    if "%s" in p:
        return p % rnd.choice(["shoes", "red+hat", hexs(rnd, 8), "gift", "lamp"])
    return p


def status(rnd, p5=0.0, p4=0.03, codes5=(500, 502, 503)):
    r = rnd.random()
    if r < p5:
        return rnd.choice(codes5)
    if r < p5 + p4:
        return rnd.choice([404, 404, 404, 401, 403])
    if r < p5 + p4 + 0.06:
        return rnd.choice([301, 302, 304])
    return 200


def apache(rnd, clk, p5=0.0, p4=0.03, dur_us=None):
    t = clk.tick()
    st = status(rnd, p5, p4)
    size = "-" if st == 304 else str(rnd.randint(200, 40000))
    line = '%s - - [%s] "%s %s HTTP/1.1" %d %s "%s" "%s"' % (
        ip(rnd), t.strftime("%d/%b/%Y:%H:%M:%S +0000"), rnd.choice(["GET"] * 6 + ["POST"]), path(rnd), st, size,
        rnd.choice(["-", "https://shop.example.com/", "https://www.google.com/"]), rnd.choice(UAS))
    if dur_us is not None:
        line += " %d" % int(lognormal(rnd, dur_us))
    return line


def caddy(rnd, clk, p5=0.0, dur=0.02):
    t = clk.tick()
    st = status(rnd, p5)
    rec = {"level": "error" if st >= 500 else "info", "ts": round(t.timestamp(), 6), "logger": "http.log.access.log0",
           "msg": "handled request",
           "request": {"remote_ip": ip(rnd), "remote_port": str(rnd.randint(30000, 65000)), "client_ip": ip(rnd),
                       "proto": "HTTP/2.0", "method": rnd.choice(["GET", "GET", "POST"]), "host": "shop.example.com",
                       "uri": path(rnd), "headers": {"User-Agent": [rnd.choice(UAS)], "Accept": ["*/*"]},
                       "tls": {"resumed": False, "version": 772, "cipher_suite": 4865, "proto": "h2",
                               "server_name": "shop.example.com"}},
           "bytes_read": 0, "user_id": "", "duration": round(lognormal(rnd, dur), 6),
           "size": rnd.randint(100, 30000), "status": st,
           "resp_headers": {"Server": ["Caddy"], "Content-Type": ["text/html; charset=utf-8"]}}
    return json.dumps(rec, separators=(",", ":"))


def haproxy(rnd, clk, p5=0.0, tr=40):
    t = clk.tick()
    st = status(rnd, p5)
    if st >= 500:
        srv, timers, term = "<NOSRV>", "0/0/-1/-1/%d" % rnd.randint(0, 3), "SC--"
        srv = "be_app/" + srv
    else:
        tt = int(lognormal(rnd, tr))
        srv, timers, term = "be_app/app%d" % rnd.randint(1, 3), "0/0/1/%d/%d" % (tt, tt + 1), "----"
    return '%s localhost haproxy[%d]: %s:%d [%s] fe_http~ %s %s %d %d - - %s %d/%d/%d/%d/0 0/0 "%s %s HTTP/1.1"' % (
        t.strftime("%b %d %H:%M:%S"), 8, ip(rnd), rnd.randint(30000, 65000),
        t.strftime("%d/%b/%Y:%H:%M:%S.") + "%03d" % (t.microsecond // 1000), srv, timers, st, rnd.randint(200, 9000), term,
        rnd.randint(1, 40), rnd.randint(1, 40), rnd.randint(0, 9), rnd.randint(0, 5), rnd.choice(["GET", "POST"]), path(rnd))


def traefik(rnd, clk, p5=0.0, dur_ms=12, codes5=(502,)):
    t = clk.tick()
    st = status(rnd, p5, codes5=codes5)
    d = int(lognormal(rnd, dur_ms) * 1e6)
    rec = {"ClientAddr": "%s:%d" % (ip(rnd), rnd.randint(30000, 65000)), "ClientHost": ip(rnd), "ClientPort": str(rnd.randint(30000, 65000)),
           "DownstreamContentSize": rnd.randint(100, 20000), "DownstreamStatus": st, "Duration": d,
           "OriginContentSize": rnd.randint(100, 20000), "OriginDuration": d - 20000, "OriginStatus": st if st != 502 else 0,
           "Overhead": 20000, "RequestAddr": "api.example.com", "RequestContentSize": 0, "RequestCount": rnd.randint(1, 10 ** 6),
           "RequestHost": "api.example.com", "RequestMethod": rnd.choice(["GET", "GET", "POST"]), "RequestPath": path(rnd),
           "RequestPort": "-", "RequestProtocol": "HTTP/1.1", "RequestScheme": "https", "RetryAttempts": 0,
           "RouterName": "shop-api@kubernetescrd", "ServiceName": "shop-api@kubernetescrd",
           "ServiceURL": "http://10.244.3.17:8080", "StartLocal": t.isoformat(), "StartUTC": t.isoformat(),
           "entryPointName": "websecure", "level": "info", "msg": "", "time": t.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return json.dumps(rec, separators=(",", ":"))


def nginx_err_time(t):
    return t.strftime("%Y/%m/%d %H:%M:%S")


def kong_access(rnd, clk, st, lat=15):
    t = clk.tick()
    return '%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "%s" kong_request_id: "%s" upstream_latency=%d' % (
        ip(rnd), t.strftime("%d/%b/%Y:%H:%M:%S +0000"), rnd.choice(["GET", "POST"]), path(rnd), st,
        rnd.randint(100, 9000), rnd.choice(UAS), hexs(rnd, 32), int(lognormal(rnd, lat)))


def kong_refused(rnd, clk):
    t = clk.tick()
    return ('%s [error] 1290#0: *%d connect() failed (111: Connection refused) while connecting to upstream, '
            'client: %s, server: kong, request: "GET %s HTTP/1.1", upstream: "http://10.244.7.%d:8080%s", host: "api.example.com", '
            'request_id: "%s"') % (nginx_err_time(t), rnd.randint(1000, 999999), ip(rnd), "/api/v2/orders", rnd.randint(2, 250),
                                    "/api/v2/orders", hexs(rnd, 32))


def rails_request(rnd, clk, ms=25, st=200, pid=1):
    rid = "%s-%s-%s" % (hexs(rnd, 8), hexs(rnd, 4), hexs(rnd, 12))
    t = clk.tick()
    p = rnd.choice(["/orders", "/orders/%d" % rnd.randint(1, 9999), "/products", "/cart"])
    ctrl = {"/orders": "OrdersController#index", "/products": "ProductsController#index", "/cart": "CartsController#show"}.get(p, "OrdersController#show")

    def ln(lvl, msg):
        tt = t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d" % t.microsecond
        return "%s, [%s #%d] %5s -- : [%s] %s" % (lvl[0], tt, pid, lvl, rid, msg)
    total = lognormal(rnd, ms)
    views, ar = total * 0.4, total * 0.3
    out = [ln("INFO", 'Started GET "%s" for %s at %s' % (p, ip(rnd), t.strftime("%Y-%m-%d %H:%M:%S +0000"))),
           ln("INFO", "Processing by %s as HTML" % ctrl)]
    if st == 200:
        out.append(ln("INFO", "Completed 200 OK in %dms (Views: %.1fms | ActiveRecord: %.1fms (%d queries, %d cached) | GC: %.1fms)" % (
            int(total), views, ar, rnd.randint(1, 6), rnd.randint(0, 2), rnd.random())))
    else:
        out.append(ln("INFO", "Completed %d Internal Server Error in %dms (ActiveRecord: %.1fms)" % (st, int(total), ar)))
    return "\n".join(out)


def laravel(t, level, msg, ctx=None):
    s = "[%s] production.%s: %s" % (t.strftime("%Y-%m-%d %H:%M:%S"), level, msg)
    return s + " " + (json.dumps(ctx, separators=(",", ":")) if ctx else "[]") + " []"


LARAVEL_PDO = """[{ts}] production.ERROR: SQLSTATE[HY000] [2002] Connection refused (Connection: mysql, SQL: select * from `orders` where `user_id` = {uid} limit 20) {{"userId":{uid},"exception":"[object] (Illuminate\\\\Database\\\\QueryException(code: 2002): SQLSTATE[HY000] [2002] Connection refused (Connection: mysql, SQL: select * from `orders` where `user_id` = {uid} limit 20) at /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php:813)
[stacktrace]
#0 /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php(767): Illuminate\\\\Database\\\\Connection->runQueryCallback()
#1 /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connection.php(398): Illuminate\\\\Database\\\\Connection->run()
#2 /var/www/html/app/Http/Controllers/OrderController.php(41): Illuminate\\\\Database\\\\Query\\\\Builder->get()
#3 [internal function]: App\\\\Http\\\\Controllers\\\\OrderController->index()
#4 {{main}}

[previous exception] [object] (PDOException(code: 2002): SQLSTATE[HY000] [2002] Connection refused at /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php:65)
[stacktrace]
#0 /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php(65): PDO->__construct()
#1 {{main}}
"}} []"""


def dotnet_request(rnd, clk, st=200, ms=9):
    p = path(rnd)
    return ("info: Microsoft.AspNetCore.Hosting.Diagnostics[2]\n"
            "      Request finished HTTP/1.1 GET http://orders-api:8080%s - %d %d application/json;+charset=utf-8 %.4fms") % (
        p, st, rnd.randint(80, 9000), lognormal(rnd, ms))


DOTNET_POOL = """fail: Microsoft.EntityFrameworkCore.Database.Connection[20004]
      An error occurred using the connection to database 'orders' on server 'tcp://orders-pg:5432'.
fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]
      An unhandled exception has occurred while executing the request.
      System.InvalidOperationException: Timeout expired.  The timeout period elapsed prior to obtaining a connection from the pool.  This may have occurred because all pooled connections were in use and max pool size was reached.
         at Npgsql.ConnectorPool.<Get>g__RentAsync|28_0(NpgsqlConnection conn, NpgsqlTimeout timeout, Boolean async, CancellationToken cancellationToken)
         at Npgsql.NpgsqlConnection.<Open>g__OpenAsync|45_0(Boolean async, CancellationToken cancellationToken)
         at Microsoft.EntityFrameworkCore.Storage.RelationalConnection.OpenInternalAsync(Boolean errorsExpected, CancellationToken cancellationToken)
         at Orders.Api.Controllers.OrdersController.Get(Int32 id) in /src/Orders.Api/Controllers/OrdersController.cs:line {line}
         at Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor.TaskOfIActionResultExecutor.Execute(ActionContext actionContext, IActionResultTypeMapper mapper, ObjectMethodExecutor executor, Object controller, Object[] arguments)"""


def sidekiq(t, tid, cls, jid, lvl, msg, elapsed=None):
    s = "%sZ pid=1 tid=%s class=%s jid=%s" % (t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (t.microsecond // 1000), tid, cls, jid)
    if elapsed is not None:
        s += " elapsed=%.3f" % elapsed
    return "%s %s: %s" % (s, lvl, msg)


SIDEKIQ_NOMETHOD = """{ts}Z pid=1 tid={tid} class=InvoiceMailerJob jid={jid} elapsed={el} INFO: fail
{ts}Z pid=1 tid={tid} WARN: {{"context":"Job raised exception","job":{{"retry":true,"queue":"mailers","class":"InvoiceMailerJob","args":[{arg}],"jid":"{jid}","created_at":{ca},"enqueued_at":{ca}}}}}
{ts}Z pid=1 tid={tid} WARN: NoMethodError: undefined method `amount_cents' for nil:NilClass
{ts}Z pid=1 tid={tid} WARN: /app/app/mailers/invoice_mailer.rb:23:in `invoice'
/app/app/jobs/invoice_mailer_job.rb:9:in `perform'
/usr/local/bundle/gems/sidekiq-7.2.4/lib/sidekiq/processor.rb:220:in `execute_job'"""


def kafka_java(t, lvl, thread, logger, msg):
    return "%s %-5s [%s] %s - %s" % (t.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (t.microsecond // 1000), lvl, thread, logger, msg)


def grpc_zap(rnd, clk, code="OK", ms=3.0):
    t = clk.tick()
    lvl = {"OK": "info", "NotFound": "info", "InvalidArgument": "info", "Canceled": "info"}.get(code, "error")
    m = rnd.choice(["GetOrder", "GetOrder", "ListOrders", "CreateOrder"])
    rec = {"level": lvl, "ts": round(t.timestamp(), 4), "caller": "zap/options.go:212",
           "msg": "finished unary call with code " + code, "grpc.start_time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "system": "grpc", "span.kind": "server", "grpc.service": "orders.v1.OrderService", "grpc.method": m,
           "peer.address": "%s:%d" % (ip(rnd), rnd.randint(30000, 65000)), "trace_id": hexs(rnd, 32),
           "grpc.code": code, "grpc.time_ms": round(lognormal(rnd, ms), 3)}
    if code == "Unavailable":
        rec["error"] = "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 10.96.14.2:6379: connect: connection refused\""
    if code == "NotFound":
        rec["error"] = "rpc error: code = NotFound desc = order %d not found" % rnd.randint(1, 99999)
    return json.dumps(rec, separators=(",", ":"))


def zerolog_console(t, lvl, msg, ansi=True, **kv):
    colours = {"DBG": "33", "INF": "32", "WRN": "31", "ERR": "1;31"}
    ts = t.strftime("%I:%M%p").upper()
    parts = []
    for k, v in kv.items():
        if ansi:
            parts.append("%s[36m%s=%s[0m%s" % (ESC, k, ESC, v))
        else:
            parts.append("%s=%s" % (k, v))
    if ansi:
        lv = "%s[%sm%s%s[0m" % (ESC, colours[lvl], lvl, ESC)
        return "%s[90m%s%s[0m %s %s %s" % (ESC, ts, ESC, lv, msg, " ".join(parts))
    return "%s %s %s %s" % (ts, lvl, msg, " ".join(parts))


def klog(t, sev, pid, src, msg):
    return "%s%s %6d %s] %s" % (sev, t.strftime("%m%d %H:%M:%S.") + "%06d" % t.microsecond, pid, src, msg)


def gcp(t, sev, msg, **kv):
    rec = {"severity": sev, "message": msg, "timestamp": {"seconds": int(t.timestamp()), "nanos": t.microsecond * 1000},
           "logging.googleapis.com/trace": "projects/shop-prod/traces/" + kv.pop("trace", "0" * 32)}
    rec.update(kv)
    return json.dumps(rec, separators=(",", ":"))


def log15(t, lvl, msg, **kv):
    s = "t=%s lvl=%s msg=%s" % (t.strftime("%Y-%m-%dT%H:%M:%S+0000"), lvl, json.dumps(msg) if " " in msg else msg)
    for k, v in kv.items():
        v = str(v)
        s += " %s=%s" % (k, json.dumps(v) if " " in v else v)
    return s


def pylog(t, lvl, name, msg):
    return "%s %s [%s] %s" % (t.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (t.microsecond // 1000), lvl, name, msg)


def ecs(t, lvl, logger, msg, thread="http-nio-8080-exec-1", **extra):
    rec = {"@timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000), "log.level": lvl,
           "message": msg, "ecs.version": "8.11", "service.name": "checkout", "service.version": "3.2.0",
           "service.environment": "production", "event.dataset": "checkout", "process.thread.name": thread,
           "log.logger": logger}
    rec.update(extra)
    return json.dumps(rec, separators=(",", ":"))


HIKARI_TRACE = """java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30004ms (total=20, active=20, idle=0, waiting={w})
\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:686)
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:179)
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:144)
\tat com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:127)
\tat org.springframework.jdbc.datasource.DataSourceTransactionManager.doBegin(DataSourceTransactionManager.java:265)
\tat com.example.checkout.CheckoutService.placeOrder(CheckoutService.java:{line})
\tat com.example.checkout.CheckoutController.checkout(CheckoutController.java:48)
"""


ZAP_PANIC = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x8d2f4a]

goroutine 4213 [running]:
github.com/acme/cart/internal/cart.(*Service).flushAbandoned(0xc0001a2000, {{0xb4c2e8, 0xc000512a50}})
\t/src/internal/cart/service.go:88 +0x4a
github.com/acme/cart/internal/cart.(*Service).Run.func1()
\t/src/internal/cart/service.go:61 +0x1c5
created by github.com/acme/cart/internal/cart.(*Service).Run in goroutine 1
\t/src/internal/cart/service.go:58 +0x98"""
