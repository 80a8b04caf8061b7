"""The real alert path: hapwatch -> Prometheus (the shipped rules) ->
Alertmanager -> a webhook receiver.

A real HAProxy with backend `app` (2 servers, test-owned processes), and
hapwatch with service `web` requiring it. A real Prometheus (Debian's,
run here with its own storage in the test's temp dir, scrape and
evaluation every 1s) scrapes hapwatch's /metrics over a loopback TCP admin
listener that has a bearer token (`authorization: {credentials: ...}` in
its scrape config), evaluates conf/prometheus/hapwatch.rules.yml of the
tree under test, and sends to a real Alertmanager (Debian's, clustering
off, group_wait/group_interval 1s, send_resolved), which posts to a
receiver in this process.

* Backends up: the target is up with the token (and /metrics without it
  is 401), the rules are evaluated, nothing fires, nothing is received.
  Every query of the Grafana dashboard runs on this Prometheus.
* Backends killed: the receiver gets a `firing` HapwatchServiceDown
  naming the service, within 1m of hapwatch saying down (the rule's `for`
  is 30s: not before that).
* Backends back: the receiver gets its `resolved`.
* `hapwatch ctl drain web`, then the backends killed again: hapwatch's
  state is drain (its verdict down); once Prometheus has evaluated the
  rule later than that + the rule's `for` + two scrape intervals, the rule
  is inactive, ALERTS never had it pending or firing since the drain, and
  the receiver got nothing new.

Every payload the receiver got is printed (and kept in alerts.json in the
test's dir). Prometheus or Alertmanager missing is a failure, not a skip.
"""
import calendar
import json
import re
import time

import fleet_util as F
import netns_hooks as FO
import harness as H
import operate as U
from harness import wait_for

TOKEN = "s3cret-scrape-token"
SCRAPE = 1.0			# scrape and evaluation interval, seconds
ALERT = "HapwatchServiceDown"
T_FIRE = 120.0			# deadlines: the rule's `for` is 30s
T_RESOLVE = 60.0


def rfc3339(s):
    """Prometheus's timestamps (RFC 3339, nanoseconds, any offset) ->
    seconds since the epoch."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$",
                 s)
    if not m:
        raise ValueError("not an RFC 3339 time: %r" % s)
    t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    if m.group(2):
        t += float("0" + m.group(2)[:10])
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        t -= sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
    return t


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class AlertPathTest(H.Case):

    def start_world(self):
        env = self.env
        prometheus = F.daemon("prometheus")
        alertmanager = F.daemon("alertmanager")
        self.rx = FO.Receiver(port=env.port(),
                              jsonl=env.path("receiver.jsonl")).start()
        self.addCleanup(self.rx.stop)

        self.b = self.backends()
        self.hap = self.haproxy(H.hap_backend(
            "app", self.b.add_many("s", 2))).start()
        self.scrape_port = env.port()
        self.health = env.port()
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [
                # The harness's and ctl's (no token), then Prometheus's.
                {"http": "127.0.0.1:%d" % env.port(), "admin": True},
                {"http": "127.0.0.1:%d" % self.scrape_port, "admin": True,
                 "token": TOKEN},
                {"http": "127.0.0.1:%d" % self.health,
                 "paths": {"/health": "web"}}]}).start()
        self.hw.wait_state("web", "up")
        self.admin = "http://127.0.0.1:%d" % self.hw.admin_port

        # Alertmanager: every alert at once to the receiver, resolved too.
        self.am_port = env.port()
        am_cfg = write(env.path("alertmanager.yml"), """\
route:
  receiver: test
  group_by: [alertname, instance, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %s/alerts
        send_resolved: true
""" % self.rx.url)
        self.am = env.spawn("alertmanager", [
            alertmanager, "--config.file=" + am_cfg,
            "--storage.path=" + env.path("am-data"),
            "--web.listen-address=127.0.0.1:%d" % self.am_port,
            "--cluster.listen-address=", "--log.level=info"])
        self.wait_ready(self.am, self.am_port, "Alertmanager")

        # Prometheus: the shipped rules, the token, 1s everything.
        self.prom_port = env.port()
        prom_cfg = write(env.path("prometheus.yml"), """\
global:
  scrape_interval: %(i)ds
  scrape_timeout: %(i)ds
  evaluation_interval: %(i)ds
rule_files:
  - %(rules)s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:%(am)d']
scrape_configs:
  - job_name: hapwatch
    authorization:
      type: Bearer
      credentials: %(token)s
    static_configs:
      - targets: ['127.0.0.1:%(scrape)d']
""" % {"i": SCRAPE, "rules": F.RULES, "am": self.am_port, "token": TOKEN,
       "scrape": self.scrape_port})
        r = U.run([U.tool("promtool"), "check", "config", prom_cfg])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.prom = env.spawn("prometheus", [
            prometheus, "--config.file=" + prom_cfg,
            "--storage.tsdb.path=" + env.path("prom-data"),
            "--web.listen-address=127.0.0.1:%d" % self.prom_port,
            "--log.level=info"])
        self.wait_ready(self.prom, self.prom_port, "Prometheus")

    def wait_ready(self, proc, port, what):
        def ready():
            proc.check_alive()
            return H.http("GET", port, "/-/ready")[0] == 200
        wait_for(ready, H.T_START, "%s to be ready on :%d" % (what, port))

    # ---- Prometheus's view ----

    def query(self, expr):
        return F.prom_query(self.prom_port, expr)

    def rule(self, name=ALERT):
        """The alerting rule's entry in /api/v1/rules."""
        self.prom.check_alive()
        doc = F.api_get(self.prom_port, "/api/v1/rules")
        for g in doc["data"]["groups"]:
            for r in g["rules"]:
                if r["name"] == name:
                    return r
        raise AssertionError("no rule %s in /api/v1/rules" % name)

    def evaluated_after(self, t):
        """The rule once Prometheus has evaluated it later than t."""
        r = self.rule()
        return r if rfc3339(r["lastEvaluation"]) > t else None

    def scraped_state(self, state):
        """True once Prometheus has scraped web in `state`."""
        self.prom.check_alive()
        self.am.check_alive()
        return bool(self.query('hapwatch_service_state{job="hapwatch",'
                               'service="web",state="%s"} == 1' % state))

    # ---- the receiver ----

    def payloads(self):
        return [r["json"] for r in self.rx.received()
                if r["path"] == "/alerts"]

    def wait_payload(self, status, after, timeout):
        """The first payload from index `after` with an alert ALERT for
        service web in `status`, and its record."""
        def got():
            self.prom.check_alive()
            self.am.check_alive()
            for rec in self.rx.received()[after:]:
                p = rec["json"] or {}
                for a in p.get("alerts", []):
                    if a["labels"].get("alertname") == ALERT and \
                            a["labels"].get("service") == "web" and \
                            a["status"] == status:
                        return rec, p, a
            return None
        return wait_for(got, timeout, "the receiver to get %s %s" % (
            status, ALERT), interval=0.1)

    def log_payloads(self):
        ps = self.payloads()
        with open(self.env.path("alerts.json"), "w") as f:
            json.dump(ps, f, indent=2)
        for i, p in enumerate(ps, 1):
            H.log("alert payload %d of %d:\n%s" % (i, len(ps),
                                                  json.dumps(p, indent=2)))

    def web_seen(self, state):
        """Wait for hapwatch's /status to say web is `state`; the time."""
        self.hw.wait_state("web", state)
        return time.time()

    # ---- the test ----

    def test_down_fires_resolves_and_a_drain_does_not(self):
        t_start = time.monotonic()
        self.start_world()
        self.addCleanup(self.log_payloads)

        # Scraped with the token; without it, 401.
        def target_up():
            ts = F.api_get(self.prom_port, "/api/v1/targets")["data"]
            act = [t for t in ts["activeTargets"]
                   if t["labels"].get("job") == "hapwatch"]
            return act if act and act[0]["health"] == "up" else None
        tgt = wait_for(target_up, H.T_START, "Prometheus to scrape hapwatch")
        H.log("target: %s health=%s lastError=%r" % (
            tgt[0]["scrapeUrl"], tgt[0]["health"], tgt[0]["lastError"]))
        st, _, _ = H.http("GET", self.scrape_port, "/metrics")
        self.assertEqual(st, 401, "/metrics without the token")
        st, _, _ = H.http("GET", self.scrape_port, "/metrics", headers={
            "Authorization": "Bearer " + TOKEN})
        self.assertEqual(st, 200)
        # Only the request above was refused, never Prometheus's scrapes.
        wait_for(lambda: self.query('hapwatch_connection_errors_total'
                                    '{reason="auth"} == 1'), H.T_STATE,
                 "Prometheus to scrape the one refused request")
        self.assertEqual(H.metric(self.hw.metrics(),
                                  "hapwatch_connection_errors_total",
                                  reason="auth"), 1.0)

        # Backends up: the rule evaluated on "up" data, nothing fires.
        wait_for(lambda: self.scraped_state("up"), H.T_STATE,
                 "Prometheus to scrape web up")
        t0 = time.time()
        r = wait_for(lambda: self.evaluated_after(t0 + SCRAPE), H.T_STATE,
                     "the rules evaluated on web up")
        self.assertEqual((r["state"], r["health"]), ("inactive", "ok"), r)
        self.assertEqual(r["duration"], 30, "the shipped rule's `for`")
        firing = F.api_get(self.prom_port, "/api/v1/alerts")["data"]["alerts"]
        self.assertEqual(firing, [])
        self.assertEqual(self.payloads(), [])

        # Every dashboard query runs on this Prometheus.
        empty = []
        for where, expr in F.dashboard_exprs(F.dashboard()):
            for k, v in (("$__rate_interval", "1m"), ("$job", ".*"),
                         ("$instance", ".*"), ("$service", ".*")):
                expr = expr.replace(k, v)
            if not self.query(expr):
                empty.append(where)
        H.log("dashboard queries without data yet (%d): %s" % (
            len(empty), ", ".join(empty)))
        self.assertNotIn("/Service states[A]", empty)

        # Backends killed: firing, within 1m of hapwatch saying down.
        self.b.stop("s1", "s2")
        t_down = self.web_seen("down")
        rec, p, a = self.wait_payload("firing", 0, T_FIRE)
        fired = rec["time"] - t_down
        H.log("%s firing received %.1fs after hapwatch said down" % (
            ALERT, fired))
        self.assertEqual(p["status"], "firing")
        self.assertEqual(a["labels"], {
            "alertname": ALERT, "job": "hapwatch",
            "instance": "127.0.0.1:%d" % self.scrape_port,
            "service": "web", "state": "down", "severity": "page"})
        self.assertEqual(a["annotations"]["summary"],
                         "web is down on 127.0.0.1:%d" % self.scrape_port)
        self.assertIn("Service web on 127.0.0.1:%d" % self.scrape_port,
                      a["annotations"]["description"])
        self.assertGreaterEqual(fired, 30 - 1, "fired before its `for`")
        self.assertLess(fired, 60, "not within 1m")

        # Backends back: resolved.
        n_fire = len(self.rx.received())
        self.b.start("s1", "s2")
        t_up = self.web_seen("up")
        rec, p, a = self.wait_payload("resolved", n_fire, T_RESOLVE)
        H.log("%s resolved received %.1fs after hapwatch said up" % (
            ALERT, rec["time"] - t_up))
        self.assertEqual(a["labels"]["service"], "web")
        self.assertEqual(a["labels"]["instance"],
                         "127.0.0.1:%d" % self.scrape_port)
        wait_for(lambda: self.rule()["state"] == "inactive", H.T_STATE,
                 "the rule inactive again")

        # A drain, and the backends killed under it: never down.
        n_before = len(self.rx.received())
        rc, out, err = U.ctl(self.admin, "drain", "web")
        self.assertEqual((rc, err), (0, ""), out)
        t_drain = self.web_seen("drain")
        self.b.stop("s1", "s2")
        wait_for(lambda: self.hw.service("web")["verdict"] == "down",
                 H.T_STATE, "web's verdict down under the drain")
        t_verdict = time.time()
        self.assertEqual(self.hw.service("web")["state"], "drain")
        wait_for(lambda: self.scraped_state("drain"), H.T_STATE,
                 "Prometheus to scrape web drained")
        horizon = t_verdict + r["duration"] + 2 * SCRAPE
        r2 = wait_for(lambda: self.evaluated_after(horizon),
                      r["duration"] + T_FIRE,
                      "an evaluation %.0fs after the verdict" % (
                          horizon - t_verdict))
        H.log("rule %s evaluated at %s (%.1fs after the drain, %.1fs "
              "after the verdict down): state %s" % (
                  ALERT, r2["lastEvaluation"],
                  rfc3339(r2["lastEvaluation"]) - t_drain,
                  rfc3339(r2["lastEvaluation"]) - t_verdict, r2["state"]))
        self.assertEqual(r2["state"], "inactive", r2)
        self.assertEqual(r2["alerts"], [])
        self.assertEqual(self.hw.service("web")["state"], "drain")
        self.assertTrue(self.scraped_state("drain"))
        self.assertFalse(self.scraped_state("down"))
        # Not even pending at any evaluation since the drain.
        window = int(time.time() - t_drain)
        self.assertEqual(self.query(
            'ALERTS{alertname="%s"}[%ds]' % (ALERT, window)), [],
            "%s pending or firing since the drain" % ALERT)
        self.assertEqual(self.rx.received()[n_before:], [],
                         "the receiver got something after the drain")
        self.assertEqual(len(self.payloads()), n_before)
        H.log("alert path: %.1fs in all" % (time.monotonic() - t_start))
        self.hw.stop()


if __name__ == "__main__":
    H.main()
