#!/usr/bin/env python3
"""Regenerates the held-out canary cases (deterministic: seeded). python3, no dependencies.

These cases were written blind (before reading the judge's rules) to measure how the judge generalises
to formats and situations the main suite (testdata/canary) does not cover. Same case layout as
testdata/canary (see its README): stable.log, canary.log, optional *-metrics.json, case.json with
`expect` and `notes` (why that label). Run: python3 testdata/canary-heldout/generate.py [--into testdata/canary] (--into writes only the TAUGHT cases there)
"""
import datetime
import json
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_formats import *  # noqa: E402,F401,F403

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = HERE  # --into DIR writes there instead (cases promoted to testdata/canary)
CASES = []
# Cases that taught the judge something (it got them wrong at e7baf46); testdata/canary/generate.py
# writes them into the main suite through --into.
TAUGHT = ["haproxy-503-nosrv", "traefik-json-502", "multiline-json-errors", "zerolog-ansi-errors",
          "ansi-colour-enabled-benign", "sidekiq-new-nomethoderror",
          # second batch
          "syslog-rfc5424-errors", "tomcat-jul-german-levels", "mongodb-json-errors", "phoenix-401-surge",
          "timestamp-format-changed", "metric-success-rate-drops"]


def case(fn):
    CASES.append(fn)
    return fn


def write(name, stable, canary, expect, notes, stable_metrics=None, canary_metrics=None, **extra):
    if OUT != HERE and name not in TAUGHT:
        return
    d = os.path.join(OUT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for fname, recs in (("stable.log", stable), ("canary.log", canary)):
        with open(os.path.join(d, fname), "w") as f:
            f.write("\n".join(recs) + ("\n" if recs else ""))
    for fname, m in (("stable-metrics.json", stable_metrics), ("canary-metrics.json", canary_metrics)):
        if m is not None:
            with open(os.path.join(d, fname), "w") as f:
                json.dump({"metrics": m}, f, indent=1)
    c = {"expect": expect, "notes": notes}
    c.update(extra)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(c, f, indent=1)
        f.write("\n")


def gen(n, fn, rnd, clk, **kw):
    return [fn(rnd, clk, **kw) for _ in range(n)]


# ---------- Apache combined ----------
@case
def apache_combined_healthy():
    r = random.Random(101)
    s = gen(900, apache, r, Clock(r), p5=0.004)
    c = gen(220, apache, r, Clock(r), p5=0.004)
    write("apache-combined-healthy", s, c, "promote",
          "Apache combined access log; same status mix (a few 404s, ~0.4% 5xx) on both sides; only IPs, paths, sizes differ.")


@case
def apache_combined_5xx_creep():
    r = random.Random(102)
    s = gen(2400, apache, r, Clock(r), p5=0.005)
    c, clk = [], Clock(r)
    for i in range(600):
        c.append(apache(r, clk, p5=0.01 + 0.03 * i / 600))
    write("apache-combined-5xx-creep", s, c, "abort",
          "Apache combined: 5xx share grows slowly in the canary from 1% to 4% (avg ~2.5%) vs a steady 0.5% on stable; no error words, only statuses.")


@case
def apache_latency_jitter():
    r = random.Random(103)
    s = gen(900, apache, r, Clock(r), dur_us=18000)
    c = gen(220, apache, r, Clock(r), dur_us=19500)
    write("apache-latency-jitter", s, c, "promote",
          "Apache combined with %D (microseconds) appended; canary median 8% slower: jitter, not a regression.")


# ---------- Caddy ----------
def caddy_start(clk, version):
    t = clk.tick()
    return [json.dumps({"level": "info", "ts": round(t.timestamp(), 6), "msg": "using config from file", "file": "/etc/caddy/Caddyfile"}),
            json.dumps({"level": "info", "ts": round(t.timestamp(), 6), "msg": "serving initial configuration"}),
            json.dumps({"level": "info", "ts": round(t.timestamp(), 6), "logger": "tls", "msg": "finished cleaning storage units"}),
            json.dumps({"level": "info", "ts": round(t.timestamp(), 6), "msg": "caddy version", "version": version})]


@case
def caddy_json_healthy_upgrade():
    r = random.Random(111)
    cs, cc = Clock(r), Clock(r)
    s = caddy_start(cs, "v2.7.6 h1:w0NymbG2m9PcvKWsrXO6EEkY9Ru4FJK8uQbYcev1p3A=") + gen(900, caddy, r, cs)
    c = caddy_start(cc, "v2.8.4 h1:q3pe0wpBj1OcHFZ3n/1nl4V4bxBrYoSoab7rL9BMYNk=")
    c.append(json.dumps({"level": "info", "ts": round(cc.t.timestamp(), 6), "logger": "http", "msg": "enabling HTTP/3 listener", "addr": ":443"}))
    c += gen(220, caddy, r, cc)
    write("caddy-json-healthy-upgrade", s, c, "promote",
          "Caddy v2 JSON access logs (nested request object); canary runs a newer Caddy and logs one extra startup INFO line.")


@case
def caddy_json_latency_doubling():
    r = random.Random(112)
    s = gen(900, caddy, r, Clock(r), dur=0.03)
    c = gen(220, caddy, r, Clock(r), dur=0.075)
    write("caddy-json-latency-doubling", s, c, "abort",
          "Caddy JSON access log: 'duration' (seconds) median 30ms -> 75ms, p95 more than doubles; no errors at all.")


# ---------- HAProxy ----------
@case
def haproxy_healthy():
    r = random.Random(121)
    s = gen(900, haproxy, r, Clock(r))
    c = gen(220, haproxy, r, Clock(r))
    write("haproxy-healthy", s, c, "promote", "HAProxy httplog format (syslog prefix); same timers and statuses.")


@case
def haproxy_503_nosrv():
    r = random.Random(122)
    s = gen(900, haproxy, r, Clock(r))
    c = gen(220, haproxy, r, Clock(r), p5=0.09)
    write("haproxy-503-nosrv", s, c, "abort",
          "HAProxy: 9% of canary requests end 5xx with <NOSRV> and termination state SC--; nothing says 'error'.")


# ---------- Traefik ----------
@case
def traefik_json_low_traffic():
    r = random.Random(131)
    s = gen(1800, traefik, r, Clock(r, (5, 60)), p5=0.003)
    c = gen(90, traefik, r, Clock(r, (100, 1500)), p5=0.003)
    write("traefik-json-low-traffic", s, c, "promote",
          "Traefik JSON access log; canary takes 5% of traffic (90 vs 1800 requests), same error share: raw counts differ 20x only because of traffic.")


@case
def traefik_json_502():
    r = random.Random(132)
    s = gen(900, traefik, r, Clock(r))
    c = gen(220, traefik, r, Clock(r), p5=0.08)
    write("traefik-json-502", s, c, "abort",
          "Traefik JSON: DownstreamStatus 502 on 8% of canary requests (level still 'info', msg empty).")


# ---------- Kong ----------
@case
def kong_upstream_refused():
    r = random.Random(141)
    cs, cc = Clock(r), Clock(r)
    s = [kong_access(r, cs, status(r, 0.0)) for _ in range(900)]
    c = []
    for _ in range(220):
        if r.random() < 0.07:
            c.append(kong_refused(r, cc))
            c.append(kong_access(r, cc, 502, lat=0))
        else:
            c.append(kong_access(r, cc, status(r, 0.0)))
    write("kong-upstream-refused", s, c, "abort",
          "Kong (nginx) access + error log interleaved; canary: connect() failed (111: Connection refused) and 502 on 7% of requests.")


# ---------- Rails ----------
def rails_boot(clk, puma="6.4.0", extra=False):
    t = clk.tick()
    out = ["=> Booting Puma", "=> Rails 7.1.3 application starting in production", "=> Run `bin/rails server --help` for more startup options",
           "Puma starting in single mode...", '* Puma version: %s (ruby 3.3.0-p0) ("The Eagle of Durango")' % puma,
           "*  Min threads: 5", "*  Max threads: 5", "*  Environment: production", "*          PID: 1",
           "* Listening on http://0.0.0.0:3000"]
    if extra:
        out += ["* Preloading application", "I, [%s #1]  INFO -- : Bootsnap cache loaded (4213 entries)" % t.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "I, [%s #1]  INFO -- : Feature flags synced from Flipper (12 features)" % t.strftime("%Y-%m-%dT%H:%M:%S.%f")]
    return out + ["Use Ctrl-C to stop"]


@case
def rails_healthy_new_startup_lines():
    r = random.Random(151)
    cs, cc = Clock(r), Clock(r)
    s = rails_boot(cs) + [rails_request(r, cs) for _ in range(400)]
    c = rails_boot(cc, "6.4.2", extra=True) + [rails_request(r, cc) for _ in range(100)]
    write("rails-healthy-new-startup-lines", s, c, "promote",
          "Rails (Started/Processing/Completed); canary has a newer Puma and three new INFO startup lines; requests identical.")


@case
def rails_latency_doubling():
    r = random.Random(152)
    cs, cc = Clock(r), Clock(r)
    s = rails_boot(cs) + [rails_request(r, cs, ms=30) for _ in range(400)]
    c = rails_boot(cc) + [rails_request(r, cc, ms=70) for _ in range(100)]
    write("rails-latency-doubling", s, c, "abort",
          "Rails: 'Completed 200 OK in Nms' median 30ms -> 70ms (p95 doubles); every request still 200.")


# ---------- Laravel ----------
def laravel_req(r, clk, flag=False):
    t = clk.tick()
    out = [laravel(t, "INFO", "Order list served", {"userId": r.randint(1, 50000), "count": r.randint(0, 20), "ms": r.randint(8, 40)})]
    if r.random() < 0.2:
        out.append(laravel(t, "INFO", "Feature flag evaluated", {"flag": "new-checkout-flow", "value": flag, "userId": r.randint(1, 50000)}))
    return "\n".join(out)


@case
def laravel_feature_flag_flip():
    r = random.Random(161)
    cs, cc = Clock(r), Clock(r)
    s = [laravel_req(r, cs, False) for _ in range(700)]
    c = [laravel_req(r, cc, True) for _ in range(180)]
    write("laravel-feature-flag-flip", s, c, "promote",
          "Laravel/Monolog lines; the canary's only difference is a feature flag's value (false -> true) in an INFO context.")


@case
def laravel_pdo_exception():
    r = random.Random(162)
    cs, cc = Clock(r), Clock(r)
    s = [laravel_req(r, cs) for _ in range(700)]
    c = []
    for _ in range(180):
        if r.random() < 0.06:
            c.append(LARAVEL_PDO.format(ts=cc.tick().strftime("%Y-%m-%d %H:%M:%S"), uid=r.randint(1, 50000)))
        else:
            c.append(laravel_req(r, cc))
    write("laravel-pdo-exception", s, c, "abort",
          "Laravel: canary raises QueryException/PDOException 'Connection refused' with a multi-line [stacktrace] on 6% of requests.")


# ---------- ASP.NET Core ----------
def dotnet_boot(sha):
    return ["info: Microsoft.Hosting.Lifetime[14]", "      Now listening on: http://[::]:8080",
            "info: Orders.Api.Program[0]", "      Orders.Api build %s starting (.NET 8.0.6)" % sha,
            "info: Microsoft.Hosting.Lifetime[0]", "      Application started. Press Ctrl+C to shut down.",
            "info: Microsoft.Hosting.Lifetime[0]", "      Hosting environment: Production",
            "info: Microsoft.Hosting.Lifetime[0]", "      Content root path: /app"]


@case
def dotnet_healthy_build_sha():
    r = random.Random(171)
    s = dotnet_boot("3f9c2a1e") + [dotnet_request(r, None) for _ in range(800)]
    c = dotnet_boot("b71d04c9") + [dotnet_request(r, None) for _ in range(200)]
    write("dotnet-healthy-build-sha", s, c, "promote",
          "ASP.NET Core console logs (two-line records, category[eventId]); only the build SHA in a startup line differs.")


@case
def dotnet_pool_exhaustion():
    r = random.Random(172)
    s = dotnet_boot("3f9c2a1e") + [dotnet_request(r, None) for _ in range(800)]
    c = dotnet_boot("b71d04c9")
    for _ in range(200):
        if r.random() < 0.07:
            c.append(DOTNET_POOL.format(line=r.choice([52, 52, 77])))
            c.append(dotnet_request(r, None, st=500, ms=15000))
        else:
            c.append(dotnet_request(r, None))
    write("dotnet-pool-exhaustion", s, c, "abort",
          "ASP.NET Core: connection pool exhausted (InvalidOperationException: Timeout expired ... max pool size) and 500s on 7% of canary requests.")


# ---------- Sidekiq ----------
def sidekiq_jobs(r, clk, n, retry=0.0, fail=0.0):
    out = []
    for _ in range(n):
        t = clk.tick()
        tid, jid, cls = hexs(r, 4), hexs(r, 24), r.choice(["OrderSyncJob", "InvoiceMailerJob", "StockRefreshJob"])
        out.append(sidekiq(t, tid, cls, jid, "INFO", "start"))
        x = r.random()
        if x < fail:
            out.append(SIDEKIQ_NOMETHOD.format(ts=t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (t.microsecond // 1000), tid=tid, jid=jid,
                                               el="%.3f" % lognormal(r, 0.2), arg=r.randint(1, 99999), ca="%.6f" % t.timestamp()))
            continue
        if x < fail + retry:
            out.append(sidekiq(t, tid, cls, jid, "WARN", "Net::ReadTimeout: Net::ReadTimeout with #<TCPSocket:(closed)> (attempt 1 of 3, retrying in 2s)"))
        out.append(sidekiq(clk.tick(), tid, cls, jid, "INFO", "done", elapsed=lognormal(r, 0.2)))
    return out


SIDEKIQ_BOOT = ["2026-06-15T09:30:00.001Z pid=1 tid=gs1 INFO: Booted Rails 7.1.3 application in production environment",
                "2026-06-15T09:30:00.002Z pid=1 tid=gs1 INFO: Running in ruby 3.3.0 (2023-12-25 revision 5124f9ac75) [x86_64-linux]",
                "2026-06-15T09:30:00.003Z pid=1 tid=gs1 INFO: Sidekiq 7.2.4 connecting to Redis with options {:size=>10, :pool_name=>\"internal\", :url=>\"redis://redis:6379/0\"}",
                "2026-06-15T09:30:00.004Z pid=1 tid=gs1 INFO: Starting processing, hit Ctrl-C to stop"]


@case
def sidekiq_retries_succeed():
    r = random.Random(181)
    s = SIDEKIQ_BOOT + sidekiq_jobs(r, Clock(r), 600, retry=0.02)
    c = SIDEKIQ_BOOT + sidekiq_jobs(r, Clock(r), 150, retry=0.025)
    write("sidekiq-retries-succeed", s, c, "promote",
          "Sidekiq jobs; both sides retry ~2% of jobs after a Net::ReadTimeout WARN and then finish 'done': same behaviour.")


@case
def sidekiq_new_nomethoderror():
    r = random.Random(182)
    s = SIDEKIQ_BOOT + sidekiq_jobs(r, Clock(r), 600)
    c = SIDEKIQ_BOOT + sidekiq_jobs(r, Clock(r), 150, fail=0.06)
    write("sidekiq-new-nomethoderror", s, c, "abort",
          "Sidekiq: canary jobs fail with a new NoMethodError (logged at WARN with a backtrace) on 6% of jobs.")


# ---------- Kafka Java client ----------
def kafka_consumer(r, clk, n, gen_base, prod_err=0.0):
    out = []
    th = "kafka-coordinator-heartbeat-thread | orders"
    for i in range(n):
        t = clk.tick()
        x = r.random()
        if x < 0.02:
            g = gen_base + i // 50
            out.append(kafka_java(t, "INFO", th, "o.a.k.c.c.i.ConsumerCoordinator",
                                  "[Consumer clientId=consumer-orders-1, groupId=orders] Successfully joined group with generation Generation{generationId=%d, memberId='consumer-orders-1-%s-%s-%s', protocol='range'}" % (
                                      g, hexs(r, 8), hexs(r, 4), hexs(r, 12))))
            out.append(kafka_java(t, "INFO", th, "o.a.k.c.c.i.ConsumerCoordinator",
                                  "[Consumer clientId=consumer-orders-1, groupId=orders] Adding newly assigned partitions: orders-%d, orders-%d" % (r.randint(0, 5), r.randint(6, 11))))
        elif x < 0.02 + prod_err:
            out.append(kafka_java(t, "WARN", "kafka-producer-network-thread | producer-1", "o.a.k.c.p.i.Sender",
                                  "[Producer clientId=producer-1] Got error produce response with correlation id %d on topic-partition payments-%d, retrying (2147483646 attempts left). Error: NOT_LEADER_OR_FOLLOWER" % (r.randint(1000, 99999), r.randint(0, 5))))
            if r.random() < 0.4:
                out.append(kafka_java(t, "ERROR", "kafka-producer-network-thread | producer-1", "c.a.p.PaymentEventPublisher",
                                      "failed to publish payment event: org.apache.kafka.common.errors.TimeoutException: Expiring %d record(s) for payments-%d:120001 ms has passed since batch creation" % (r.randint(1, 30), r.randint(0, 5))))
        else:
            out.append(kafka_java(t, "INFO", "orders-consumer-%d" % r.randint(0, 3), "c.a.o.OrderEventHandler",
                                  "processed order event offset=%d partition=%d key=%s lag=%d" % (r.randint(10 ** 6, 10 ** 7), r.randint(0, 11), hexs(r, 12), r.randint(0, 40))))
    return out


@case
def kafka_rebalance_benign():
    r = random.Random(191)
    s = kafka_consumer(r, Clock(r), 800, 41)
    c = kafka_consumer(r, Clock(r), 200, 57)
    write("kafka-rebalance-benign", s, c, "promote",
          "Kafka Java client (log4j pattern); rebalances with different generation/member IDs and offsets; same events and rates.")


@case
def kafka_producer_timeouts():
    r = random.Random(192)
    s = kafka_consumer(r, Clock(r), 800, 41)
    c = kafka_consumer(r, Clock(r), 200, 57, prod_err=0.12)
    write("kafka-producer-timeouts", s, c, "abort",
          "Kafka: canary floods NOT_LEADER_OR_FOLLOWER retries (WARN) and expires batches (ERROR TimeoutException): payment events lost.")


# ---------- gRPC ----------
def grpc_calls(r, clk, n, mix):
    out = []
    for _ in range(n):
        x, code = r.random(), "OK"
        acc = 0.0
        for c, p in mix:
            acc += p
            if x < acc:
                code = c
                break
        out.append(grpc_zap(r, clk, code))
    return out


@case
def grpc_unavailable():
    r = random.Random(201)
    s = grpc_calls(r, Clock(r), 900, [("NotFound", 0.02)])
    c = grpc_calls(r, Clock(r), 220, [("NotFound", 0.02), ("Unavailable", 0.07)])
    write("grpc-unavailable", s, c, "abort",
          "go-grpc-middleware zap JSON; canary returns codes.Unavailable (Redis connection refused) on 7% of calls.")


@case
def grpc_notfound_same_rate():
    r = random.Random(202)
    s = grpc_calls(r, Clock(r), 900, [("NotFound", 0.04), ("InvalidArgument", 0.01)])
    c = grpc_calls(r, Clock(r), 220, [("NotFound", 0.04), ("InvalidArgument", 0.01)])
    write("grpc-notfound-same-rate", s, c, "promote",
          "gRPC zap JSON: NotFound/InvalidArgument client errors at the same share on both sides; trace IDs differ.")


# ---------- Kubernetes probes ----------
def probe_line(r, t, st, path="/readyz"):
    return '%s - - [%s] "GET %s HTTP/1.1" %d %d "-" "kube-probe/1.30"' % (
        "10.244.%d.1" % r.randint(0, 9), t.strftime("%d/%b/%Y:%H:%M:%S +0000"), path, st, 2 if st == 200 else 57)


@case
def k8s_readiness_failing():
    r = random.Random(211)
    cs, cc = Clock(r), Clock(r)
    s, c = [], []
    for i in range(900):
        s.append(probe_line(r, cs.tick(), 200, "/readyz" if i % 2 else "/livez") if i % 10 == 0 else apache(r, cs))
    for i in range(220):
        if i % 5 == 0:
            t = cc.tick()
            c.append(pylog(t, "WARNING", "health", "readiness check failed: dependency 'payments-db' unreachable after 1000ms"))
            c.append(probe_line(r, t, 503))
        elif i % 10 == 1:
            c.append(probe_line(r, cc.tick(), 200, "/livez"))
        else:
            c.append(apache(r, cc))
    write("k8s-readiness-failing", s, c, "abort",
          "Readiness probe (/readyz from kube-probe) answers 503 on every canary check with a WARNING about a dependency; stable always 200.")


# ---------- OOM-killed restarts (metrics) ----------
def series(r, n, mu, sd, floor=0.0):
    return [round(max(floor, r.gauss(mu, sd)), 4) for _ in range(n)]


@case
def oom_restarts_in_metrics():
    r = random.Random(221)
    s = ["time=2026-06-15T09:30:00Z level=INFO msg=\"report worker started\" version=2.3.0"] + [
        "time=2026-06-15T09:%02d:%02dZ level=INFO msg=\"report rendered\" id=%d ms=%d" % (31 + i // 60, i % 60, r.randint(1, 99999), r.randint(40, 300)) for i in range(600)]
    c = []
    for k in range(4):
        c.append("time=2026-06-15T09:%02d:00Z level=INFO msg=\"report worker started\" version=2.4.0" % (31 + k * 2))
        c += ["time=2026-06-15T09:%02d:%02dZ level=INFO msg=\"report rendered\" id=%d ms=%d" % (31 + k * 2, i, r.randint(1, 99999), r.randint(40, 300)) for i in range(1, 40)]
    sm = [{"name": "restarts", "values": [0.0] * 30, "direction": "increase", "critical": True},
          {"name": "memory_working_set_bytes", "values": series(r, 30, 4.1e8, 1.5e7), "direction": "increase"}]
    cm = [{"name": "restarts", "values": [float(i // 8) for i in range(30)], "direction": "increase", "critical": True},
          {"name": "memory_working_set_bytes", "values": [round(3.5e8 + (i % 8) * 0.6e8, 0) for i in range(30)], "direction": "increase"}]
    write("oom-restarts-in-metrics", s, c, "abort",
          "Canary container is OOM-killed and restarts 3 times (restarts counter 0->3, memory saw-tooth to the limit); its logs show only repeated startups.",
          stable_metrics=sm, canary_metrics=cm)


@case
def metrics_5xx_creep():
    r = random.Random(222)
    s = ['{"time":"2026-06-15T09:30:%02dZ","level":"INFO","msg":"request","route":"/api/cart","status":200}' % (i % 60) for i in range(600)]
    c = ['{"time":"2026-06-15T09:30:%02dZ","level":"INFO","msg":"request","route":"/api/cart","status":200}' % (i % 60) for i in range(150)]
    sm = [{"name": "http_5xx_ratio", "values": series(r, 30, 0.005, 0.001), "direction": "increase", "critical": True},
          {"name": "requests", "kind": "requests", "values": series(r, 30, 40, 3)}]
    cm = [{"name": "http_5xx_ratio", "values": [round(0.005 + 0.025 * i / 29 + r.gauss(0, 0.001), 4) for i in range(30)], "direction": "increase", "critical": True},
          {"name": "requests", "kind": "requests", "values": series(r, 30, 10, 1.5)}]
    write("metrics-5xx-creep", s, c, "abort",
          "Metrics only show it: the canary's 5xx ratio climbs from 0.5% to 3% over the window while stable stays at 0.5% (its logs sample only successes).",
          stable_metrics=sm, canary_metrics=cm)


@case
def metrics_p95_jitter():
    r = random.Random(223)
    s = ['ts=2026-06-15T09:30:%02dZ lvl=info msg="checkout ok" cart=%d' % (i % 60, r.randint(1, 9999)) for i in range(600)]
    c = ['ts=2026-06-15T09:30:%02dZ lvl=info msg="checkout ok" cart=%d' % (i % 60, r.randint(1, 9999)) for i in range(150)]
    sm = [{"name": "http_server_duration_p95_seconds", "values": series(r, 30, 0.210, 0.025), "direction": "increase", "critical": True},
          {"name": "error_ratio", "values": series(r, 30, 0.002, 0.0008), "direction": "increase", "critical": True}]
    cm = [{"name": "http_server_duration_p95_seconds", "values": series(r, 30, 0.222, 0.03), "direction": "increase", "critical": True},
          {"name": "error_ratio", "values": series(r, 30, 0.002, 0.0009), "direction": "increase", "critical": True}]
    write("metrics-p95-jitter", s, c, "promote",
          "p95 latency 210ms vs 222ms with overlapping spread and equal error ratios: noise, not a regression.",
          stable_metrics=sm, canary_metrics=cm)


@case
def metrics_p95_doubling_no_errors():
    r = random.Random(224)
    s = ['ts=2026-06-15T09:30:%02dZ lvl=info msg="search served" hits=%d' % (i % 60, r.randint(0, 80)) for i in range(600)]
    c = ['ts=2026-06-15T09:30:%02dZ lvl=info msg="search served" hits=%d' % (i % 60, r.randint(0, 80)) for i in range(150)]
    sm = [{"name": "request_duration_p95_seconds", "values": series(r, 30, 0.180, 0.02), "direction": "increase", "critical": True},
          {"name": "error_ratio", "values": [0.0] * 30, "direction": "increase", "critical": True}]
    cm = [{"name": "request_duration_p95_seconds", "values": series(r, 30, 0.390, 0.04), "direction": "increase", "critical": True},
          {"name": "error_ratio", "values": [0.0] * 30, "direction": "increase", "critical": True}]
    write("metrics-p95-doubling-no-errors", s, c, "abort",
          "p95 latency metric 180ms -> 390ms; no errors anywhere (error ratio 0 on both sides).",
          stable_metrics=sm, canary_metrics=cm)


# ---------- zerolog console with ANSI colours ----------
def zl_requests(r, clk, n, ansi=True, err=0.0):
    out = []
    for _ in range(n):
        t = clk.tick()
        if r.random() < err:
            out.append(zerolog_console(t, "ERR", "inventory lookup failed", ansi, error="\"redis: connection pool timeout\"", sku="SKU-%d" % r.randint(100, 999)))
            out.append(zerolog_console(t, "INF", "request served", ansi, method="GET", path="/stock", status=500, dur="%.1fms" % lognormal(r, 3)))
        else:
            out.append(zerolog_console(t, "INF", "request served", ansi, method="GET", path=r.choice(["/stock", "/stock", "/healthz"]), status=200, dur="%.1fms" % lognormal(r, 3)))
    return out


@case
def zerolog_ansi_healthy():
    r = random.Random(231)
    s = zl_requests(r, Clock(r), 800)
    c = zl_requests(r, Clock(r), 200)
    write("zerolog-ansi-healthy", s, c, "promote",
          "zerolog ConsoleWriter output with ANSI colour escapes (INF/WRN/ERR three-letter levels); identical behaviour.")


@case
def zerolog_ansi_errors():
    r = random.Random(232)
    s = zl_requests(r, Clock(r), 800)
    c = zl_requests(r, Clock(r), 200, err=0.08)
    write("zerolog-ansi-errors", s, c, "abort",
          "zerolog console with ANSI colours: canary logs ERR 'inventory lookup failed' (redis pool timeout) and status=500 on 8% of requests.")


@case
def ansi_colour_enabled_benign():
    r = random.Random(233)
    s = zl_requests(r, Clock(r), 800, ansi=False)
    c = zl_requests(r, Clock(r), 200, ansi=True)
    write("ansi-colour-enabled-benign", s, c, "promote",
          "A logger upgrade turned on colour: canary lines carry ANSI escape codes, stable's do not; same events.")


# ---------- klog ----------
def klog_lines(r, clk, n, err=0.0):
    out = []
    for _ in range(n):
        t = clk.tick()
        if r.random() < err:
            out.append(klog(t, "E", 1, "reconciler.go:211", 'Reconciler error err="failed to patch status: Operation cannot be fulfilled on widgets.acme.io \\"w-%d\\": the object has been modified" controller="widget" namespace="prod"' % r.randint(1, 400)))
        else:
            out.append(klog(t, "I", 1, "reconciler.go:142", '"Reconciled" controller="widget" namespace="prod" name="w-%d" duration="%.1fms"' % (r.randint(1, 400), lognormal(r, 4))))
    return out


@case
def klog_healthy():
    r = random.Random(241)
    s = klog_lines(r, Clock(r), 800)
    c = klog_lines(r, Clock(r), 200)
    write("klog-healthy", s, c, "promote", "klog (I0615 hh:mm:ss.micro pid file:line]) controller logs; only names and durations vary.")


@case
def klog_new_errors():
    r = random.Random(242)
    s = klog_lines(r, Clock(r), 800)
    c = klog_lines(r, Clock(r), 200, err=0.15)
    write("klog-new-errors", s, c, "abort", "klog: canary emits E-severity 'Reconciler error ... object has been modified' on 15% of reconciles.")


# ---------- GCP structured logging ----------
def gcp_lines(r, clk, n, err=0.0):
    out = []
    for _ in range(n):
        t = clk.tick()
        if r.random() < err:
            out.append(gcp(t, "ERROR", "charge failed: stripe: card_error: rate limited by issuer", trace=hexs(r, 32), orderId=r.randint(1, 99999)))
        else:
            out.append(gcp(t, "INFO", "charge captured", trace=hexs(r, 32), orderId=r.randint(1, 99999), amountCents=r.randint(100, 99999)))
    return out


@case
def gcp_severity_errors():
    r = random.Random(251)
    s = gcp_lines(r, Clock(r), 800)
    c = gcp_lines(r, Clock(r), 200, err=0.1)
    write("gcp-severity-errors", s, c, "abort", "GCP structured logging JSON ('severity' + 'message', nested timestamp); canary: severity ERROR 'charge failed' on 10%.")


# ---------- log15 ----------
@case
def log15_eror():
    r = random.Random(261)
    clk = Clock(r)
    s = [log15(clk.tick(), "info", "Imported new chain segment", blocks=1, txs=r.randint(10, 300), elapsed="%.3fms" % lognormal(r, 40)) for _ in range(800)]
    clk = Clock(r)
    c = []
    for _ in range(200):
        if r.random() < 0.1:
            c.append(log15(clk.tick(), "eror", "Snapshot extension registration failed", peer=hexs(r, 16), err="peer connected on snap without compatible eth support"))
        c.append(log15(clk.tick(), "info", "Imported new chain segment", blocks=1, txs=r.randint(10, 300), elapsed="%.3fms" % lognormal(r, 40)))
    write("log15-eror", s, c, "abort", "log15 logfmt where the error level is spelled 'eror' (go-ethereum style); new error on 10% in canary only.")


# ---------- Python logging ----------
def py_requests(r, clk, n, warn=0.0):
    out = []
    for _ in range(n):
        t = clk.tick()
        if r.random() < warn:
            out.append(pylog(t, "WARNING", "catalog.cache", "cache miss storm for key product:%d; falling back to database" % r.randint(1, 9999)))
        out.append(pylog(t, "INFO", "uvicorn.access", '%s:%d - "GET /catalog/%d HTTP/1.1" 200' % (ip(r), r.randint(30000, 65000), r.randint(1, 9999))))
    return out


@case
def python_warn_flood():
    r = random.Random(271)
    s = py_requests(r, Clock(r), 800)
    c = py_requests(r, Clock(r), 200, warn=0.45)
    write("python-warn-flood", s, c, "abort",
          "Python logging (comma-millisecond timestamps, uvicorn access lines): canary adds a WARNING 'cache miss storm' on 45% of requests; all 200s.")


@case
def python_new_debug_info_lines():
    r = random.Random(272)
    s = py_requests(r, Clock(r), 800)
    clk, c = Clock(r), []
    for rec in py_requests(r, clk, 200):
        c.append(rec)
        if r.random() < 0.3:
            c.append(pylog(clk.tick(), "DEBUG", "catalog.pricing", "price rule applied rule=%s cents=%d" % (r.choice(["summer", "member", "none"]), r.randint(100, 9999))))
    write("python-new-debug-lines", s, c, "promote",
          "Canary logs a new DEBUG line on 30% of requests (more verbose build); no warnings, no errors, all 200s.")


# ---------- Go crash once ----------
@case
def go_panic_once_restart():
    r = random.Random(281)
    def zl(t, msg, **kv):
        d = {"level": "info", "ts": round(t.timestamp(), 3), "caller": "cart/main.go:44", "msg": msg}
        d.update(kv)
        return json.dumps(d, separators=(",", ":"))
    cs, cc = Clock(r), Clock(r)
    s = [zl(cs.tick(), "starting cart service", version="1.9.3")] + [zl(cs.tick(), "item added", cart=hexs(r, 10), sku=r.randint(100, 999)) for _ in range(800)]
    c = [zl(cc.tick(), "starting cart service", version="1.9.4")] + [zl(cc.tick(), "item added", cart=hexs(r, 10), sku=r.randint(100, 999)) for _ in range(110)]
    c += [ZAP_PANIC.format(), zl(cc.tick(), "starting cart service", version="1.9.4")]
    c += [zl(cc.tick(), "item added", cart=hexs(r, 10), sku=r.randint(100, 999)) for _ in range(100)]
    write("go-panic-once-restart", s, c, "abort",
          "zap JSON app; the canary crashes once with an unrecovered nil-pointer panic in a background goroutine and restarts.")


# ---------- kubectl --prefix, exception in one pod ----------
@case
def exception_one_pod_of_three():
    r = random.Random(291)
    def pod_lines(pod, n, exc=0.0):
        clk, out = Clock(r), []
        for _ in range(n):
            t = clk.tick()
            ts = t.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (t.microsecond // 1000)
            if r.random() < exc:
                out.append((t, "[pod/%s/app] %s ERROR 1 --- [nio-8080-exec-%d] c.e.checkout.CheckoutController   : checkout failed" % (pod, ts, r.randint(1, 9))))
                out.append((t, "[pod/%s/app] java.lang.IllegalStateException: Cart %s is locked by another session" % (pod, hexs(r, 8))))
                out.append((t, "[pod/%s/app] \tat com.example.checkout.CartLock.acquire(CartLock.java:57)" % pod))
                out.append((t, "[pod/%s/app] \tat com.example.checkout.CheckoutService.placeOrder(CheckoutService.java:88)" % pod))
            else:
                out.append((t, "[pod/%s/app] %s  INFO 1 --- [nio-8080-exec-%d] c.e.checkout.CheckoutController   : order placed id=%d total=%d" % (pod, ts, r.randint(1, 9), r.randint(1, 99999), r.randint(100, 9999))))
        return out
    def merge(*pods):
        allr = sorted(sum(pods, []), key=lambda x: x[0])
        return [x[1] for x in allr]
    s = merge(pod_lines("checkout-7c9d8-a1b2c", 300), pod_lines("checkout-7c9d8-d3e4f", 300), pod_lines("checkout-7c9d8-g5h6i", 300))
    c = merge(pod_lines("checkout-5f6a1-j7k8l", 80), pod_lines("checkout-5f6a1-m9n0p", 80, exc=0.12), pod_lines("checkout-5f6a1-q1r2s", 80))
    write("exception-one-pod-of-three", s, c, "abort",
          "kubectl logs --prefix of 3 canary pods; one pod throws a new IllegalStateException (with stack) on 12% of its requests.")


# ---------- Spring Boot ECS JSON: Hikari pool exhaustion; dependency upgrade ----------
def ecs_requests(r, clk, n, hikari=0.0, version="6.4.1.Final"):
    out = [ecs(clk.tick(), "INFO", "org.hibernate.Version", "HHH000412: Hibernate ORM core version %s" % version, thread="main"),
           ecs(clk.tick(), "INFO", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed.", thread="main"),
           ecs(clk.tick(), "INFO", "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat started on port 8080 (http) with context path ''", thread="main")]
    for _ in range(n):
        t = clk.tick()
        th = "http-nio-8080-exec-%d" % r.randint(1, 20)
        if r.random() < hikari:
            out.append(ecs(t, "ERROR", "o.a.c.c.C.[.[.[/].[dispatcherServlet]",
                           "Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: org.springframework.transaction.CannotCreateTransactionException: Could not open JDBC Connection for transaction] with root cause",
                           thread=th, **{"error.type": "java.sql.SQLTransientConnectionException",
                                         "error.message": "HikariPool-1 - Connection is not available, request timed out after 30004ms (total=20, active=20, idle=0, waiting=%d)" % r.randint(3, 60),
                                         "error.stack_trace": HIKARI_TRACE.format(w=r.randint(3, 60), line=r.choice([71, 71, 94]))}))
        else:
            out.append(ecs(t, "INFO", "c.e.checkout.CheckoutController", "order placed", thread=th, **{"order.id": r.randint(1, 99999), "trace.id": hexs(r, 32)}))
    return out


@case
def spring_ecs_hikari_exhaustion():
    r = random.Random(301)
    s = ecs_requests(r, Clock(r), 800)
    c = ecs_requests(r, Clock(r), 200, hikari=0.08)
    write("spring-ecs-hikari-exhaustion", s, c, "abort",
          "Spring Boot ECS JSON (log.level, error.stack_trace inside the JSON): Hikari pool exhausted on 8% of canary requests.")


@case
def spring_ecs_dependency_upgrade():
    r = random.Random(302)
    s = ecs_requests(r, Clock(r), 800)
    clk = Clock(r)
    c = ecs_requests(r, clk, 200, version="6.5.2.Final")
    c.insert(1, ecs(clk.t, "WARN", "o.s.b.a.o.j.JpaBaseConfiguration$JpaWebConfiguration",
                    "spring.jpa.open-in-view is enabled by default. Therefore, database queries may be performed during view rendering. Explicitly configure spring.jpa.open-in-view to disable this warning", thread="main"))
    write("spring-ecs-dependency-upgrade", s, c, "promote",
          "Spring Boot ECS JSON; canary upgraded Hibernate (version line differs) and logs one well-known deprecation WARN at startup; requests identical.")


# ---------- multi-line (pretty-printed) JSON ----------
def pretty(r, clk, n, err=0.0):
    out = []
    for _ in range(n):
        t = clk.tick()
        if r.random() < err:
            rec = {"level": "error", "time": t.isoformat(), "msg": "payment provider rejected request",
                   "err": {"type": "AxiosError", "message": "Request failed with status code 500", "code": "ERR_BAD_RESPONSE",
                           "stack": "AxiosError: Request failed with status code 500\n    at settle (/app/node_modules/axios/lib/core/settle.js:19:12)\n    at IncomingMessage.handleStreamEnd (/app/node_modules/axios/lib/adapters/http.js:599:11)"},
                   "orderId": r.randint(1, 99999)}
        else:
            rec = {"level": "info", "time": t.isoformat(), "msg": "payment accepted", "orderId": r.randint(1, 99999),
                   "provider": {"name": "adyen", "latencyMs": int(lognormal(r, 120))}}
        out.append(json.dumps(rec, indent=2))
    return out


@case
def multiline_json_healthy():
    r = random.Random(311)
    s = pretty(r, Clock(r), 600)
    c = pretty(r, Clock(r), 150)
    write("multiline-json-healthy", s, c, "promote", "Pretty-printed (multi-line) JSON records with nested objects; identical behaviour on both sides.")


@case
def multiline_json_errors():
    r = random.Random(312)
    s = pretty(r, Clock(r), 600)
    c = pretty(r, Clock(r), 150, err=0.1)
    write("multiline-json-errors", s, c, "abort", "Pretty-printed multi-line JSON; canary: level error 'payment provider rejected request' on 10% of payments.")


# ---------- too little data ----------
@case
def thin_canary_inconclusive():
    r = random.Random(321)
    s = gen(900, apache, r, Clock(r))
    c = gen(7, apache, r, Clock(r))
    write("thin-canary-inconclusive", s, c, "inconclusive",
          "The canary served 7 requests in the window: too little to say anything either way.")


@case
def thin_canary_with_one_error():
    r = random.Random(322)
    s = gen(900, traefik, r, Clock(r), p5=0.01)
    c = gen(9, traefik, r, Clock(r))
    c[4] = traefik(r, Clock(r), p5=1.0)
    write("thin-canary-one-5xx", s, c, "inconclusive",
          "9 canary requests, one 502 (stable has 1% 5xx): one failure in nine is not evidence of a regression nor of health.")


import gen_batch2  # noqa: E402  the second blind batch
gen_batch2.register(case, write)


def main():
    global OUT
    if len(sys.argv) == 3 and sys.argv[1] == "--into":
        OUT = os.path.abspath(sys.argv[2])
    for fn in CASES:
        fn()
    print("%d cases" % len(CASES))


if __name__ == "__main__":
    main()
