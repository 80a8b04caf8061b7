"""The shipped Grafana dashboard (conf/grafana/hapwatch.json) and rules
(conf/prometheus/hapwatch.rules.yml) name only metrics that a live
hapwatch exposes.

A real HAProxy in master-worker mode (-W -S, as Debian runs it) with
backend `app` (2 servers), and hapwatch with everything that makes a
metric family appear: a backend condition (nbsrv, backend gauges), an
exec check (hapwatch_check_up), an agent listener (server counts), a
health listener, the master CLI (hapwatch_master_errors_total), a webhook
notify (a transition is posted to a local receiver), and the admin
listener scraped here.

* Every metric name in every `expr` of the dashboard (PromQL functions,
  keywords, label names, durations and Grafana variables left out;
  `_bucket`, `_sum`, `_count` of a histogram count as the histogram), and
  in its variables' queries, is a family of the live /metrics with at
  least one sample. The same for every metric the rules read (except
  Prometheus's own `up` and the rules' own recorded series).
* The service states /metrics shows are states the rules and the
  dashboard know.
* Every expr of the dashboard parses (promtool check rules on a rules
  file made of them, the Grafana variables replaced).
* The dashboard's frame: schemaVersion 39, the DS_PROMETHEUS input and
  variable used by every panel and target, `instance` and `service`
  variables, unique panel ids, panels that do not overlap, and the panels
  the contract names (states over time, capacity, probes by code, agent
  replies by state, poll duration quantiles, reloads, drains let go,
  connection errors).
"""
import json
import os

import fleet_util as F
import netns_hooks as FO
import harness as H
import operate as U
from harness import wait_for
from test_master import MasterWorker


class ExtractorTest(H.Case):
    """fleet_util.metric_names itself, on the PromQL shapes that matter."""

    def test_metric_names(self):
        cases = {
            'rate(foo_total{a="x}", b=~"$job"}[$__rate_interval])':
                {"foo_total"},
            'sum by (le, instance) (rate(h_bucket{job=~"$job"}[5m]))':
                {"h_bucket"},
            'histogram_quantile(0.99, sum without (pod) (rate(h_bucket[1m])))':
                {"h_bucket"},
            'a / on (job, instance) group_left (version) b offset 5m':
                {"a", "b"},
            'x == 1 unless on (job) y{s="down"} and z > bool 1e-9':
                {"x", "y", "z"},
            'count(m{s="up"} == 1) or vector(0)': {"m"},
            'max by (i) (m{s="up"} * 1 or m{s="down"} * 5)': {"m"},
            'sum(rate(c[5m] @ 1609746000)) # a comment naming d': {"c"},
            'rec:name:sum{job="a"} - ignoring (code) inf': {"rec:name:sum"},
        }
        for expr, want in cases.items():
            self.assertEqual(F.metric_names(expr), want, expr)
        self.assertEqual(F.variable_metric_names(
            'label_values(hapwatch_service_state{job=~"$job"}, service)'),
            {"hapwatch_service_state"})
        self.assertEqual(F.variable_metric_names("label_values(job)"), set())


class DashboardTest(H.Case):

    def start_world(self):
        env = self.env
        self.rx = FO.Receiver(port=env.port()).start()
        self.addCleanup(self.rx.stop)
        self.b = self.backends()
        ports = self.b.add_many("s", 2)
        self.hap = MasterWorker(env, H.hap_backend("app", ports)).start()
        self.health = env.port()
        self.agent = env.port()
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url,
                        "master": "unix:" + self.hap.master_sock,
                        "interval": "100ms", "timeout": "1s",
                        "settle": "0s"},
            "checks": {"local": {"exec": ["/bin/true"],
                                 "interval": "200ms"}},
            "services": {"web": {"require": [{"backend": "app"}]},
                         "local": {"require": [{"check": "local"}]}},
            "listen": [
                {"http": "127.0.0.1:%d" % self.health,
                 "paths": {"/health": "web"}},
                {"agent": "127.0.0.1:%d" % self.agent, "service": "web"}],
            "notify": [{"webhook": self.rx.url + "/hook",
                        "services": ["web"], "timeout": "2s"}]}).start()
        self.hw.wait_state("web", "up")
        self.hw.wait_state("local", "up")
        wait_for(lambda: self.hw.status()["haproxy"]["master"]["up"],
                 H.T_STATE, "the master CLI read")
        # A transition, posted to the webhook; answers of every kind.
        self.b.stop("s1", "s2")
        self.hw.wait_state("web", "down")
        self.b.start("s1", "s2")
        self.hw.wait_state("web", "up")
        wait_for(lambda: len(self.rx.delivered()) >= 2, H.T_STATE,
                 "the webhook to get both transitions")
        self.assertEqual(H.get(self.health, "/health")[0], 200)
        self.assertRegex(H.agent(self.agent), rb"^up ")

    def scrape(self):
        st, _, body = H.http("GET", self.hw.admin_port, "/metrics")
        self.assertEqual(st, 200)
        return body.decode()

    def test_every_named_metric_is_exposed(self):
        self.start_world()

        def complete():
            fams = F.families(self.scrape())
            need = ("hapwatch_condition_nbsrv", "hapwatch_backend_servers",
                    "hapwatch_check_up", "hapwatch_master_errors_total")
            return fams if all(fams.get(n, ("", 0))[1] > 0 for n in need) \
                else None
        fams = wait_for(complete, H.T_STATE, "every metric family to have "
                        "samples")
        H.log("/metrics families: %s" % ", ".join(
            "%s (%s, %d)" % (n, t, c) for n, (t, c) in sorted(fams.items())))

        dash = F.dashboard()
        named = {}			# metric name -> where it is named
        for where, expr in F.dashboard_exprs(dash):
            names = F.metric_names(expr)
            self.assertTrue(names, "%s: no metric in %r" % (where, expr))
            for n in names:
                named.setdefault(n, []).append("dashboard " + where)
        for var, q in F.dashboard_variable_queries(dash):
            for n in F.variable_metric_names(q):
                named.setdefault(n, []).append("dashboard variable " + var)
        dash_names = set(named)
        rules = F.rules()
        recorded = {r["record"] for r in rules if "record" in r}
        rule_names = set()
        for r in rules:
            for n in F.metric_names(r["expr"]):
                if n in F.PROMETHEUS_OWN or n in recorded:
                    continue
                rule_names.add(n)
                named.setdefault(n, []).append("rule %s" % (
                    r.get("alert") or r.get("record")))
        self.assertIn("hapwatch_service_state", rule_names)
        H.log("metrics named by the dashboard (%d): %s" % (
            len(dash_names), ", ".join(sorted(dash_names))))
        H.log("metrics read by the rules (%d): %s" % (
            len(rule_names), ", ".join(sorted(rule_names))))

        missing = []
        for n, where in sorted(named.items()):
            fam = F.family_of(n, fams)
            if fam is None or fams[fam][1] == 0:
                missing.append("%s (in %s)" % (n, "; ".join(where)))
        self.assertEqual(missing, [], "named but not exposed with a sample")

        # The dashboard covers what the contract names.
        for n in ("hapwatch_service_state", "hapwatch_condition_nbsrv",
                  "hapwatch_backend_active_servers",
                  "hapwatch_http_requests_total",
                  "hapwatch_agent_replies_total",
                  "hapwatch_stats_poll_duration_seconds_bucket",
                  "hapwatch_haproxy_reloads_total",
                  "hapwatch_haproxy_reload_failures_total",
                  "hapwatch_config_reloads_total",
                  "hapwatch_service_drain_let_go",
                  "hapwatch_connection_errors_total"):
            self.assertIn(n, dash_names, n)

        # Every state /metrics shows is one the rules and dashboard know.
        m = H.parse_metrics(self.scrape())
        states = {dict(k)["state"] for k in
                  H.metric_series(m, "hapwatch_service_state")}
        self.assertTrue(states)
        self.assertEqual(states - F.KNOWN_STATES, set(),
                         "states the rules do not know")
        self.hw.stop()

    def test_every_expr_parses(self):
        dash = F.dashboard()
        exprs = [e for _, e in F.dashboard_exprs(dash)]
        exprs += [q for _, q in F.dashboard_variable_queries(dash)
                  if not q.startswith("label_values(")]
        for _, q in F.dashboard_variable_queries(dash):
            if q.startswith("label_values("):
                exprs.append(q[len("label_values("):].rsplit(",", 1)[0])
        subst = {"$__rate_interval": "1m", "$__interval": "1m",
                 "$__range": "1h", "$job": ".*", "$instance": ".*",
                 "$service": ".*"}
        lines = ["groups:", "  - name: dashboard", "    rules:"]
        for i, e in enumerate(exprs):
            for k, v in subst.items():
                e = e.replace(k, v)
            self.assertNotIn("$", e, "a Grafana variable left: %r" % e)
            lines.append("      - record: dashboard:expr_%d" % i)
            lines.append("        expr: %s" % json.dumps(e))
        path = self.env.path("dashboard.rules.yml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        out, n = F.promtool_check_rules(path)
        H.log("promtool check rules on the dashboard's %d exprs: %s" % (
            len(exprs), out.strip()))
        self.assertEqual(n, len(exprs))

    def test_frame(self):
        dash = F.dashboard()
        self.assertEqual(dash["schemaVersion"], 39)
        self.assertEqual(dash["uid"], "hapwatch")
        self.assertEqual([i["name"] for i in dash["__inputs"]],
                         ["DS_PROMETHEUS"])
        self.assertEqual(dash["__inputs"][0]["pluginId"], "prometheus")
        vars_ = {v["name"]: v for v in dash["templating"]["list"]}
        self.assertEqual(vars_["DS_PROMETHEUS"]["type"], "datasource")
        self.assertEqual(vars_["DS_PROMETHEUS"]["query"], "prometheus")
        for v in ("instance", "service"):
            self.assertEqual(vars_[v]["type"], "query", v)
            self.assertEqual(vars_[v]["datasource"]["uid"], "${DS_PROMETHEUS}")
        ds = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        ids = []
        boxes = []
        kinds = {}

        def walk(panels):
            for p in panels:
                ids.append(p["id"])
                g = p["gridPos"]
                self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
                boxes.append((p["title"], g))
                kinds.setdefault(p["type"], []).append(p)
                if p["type"] != "row":
                    self.assertEqual(p["datasource"], ds, p["title"])
                    self.assertTrue(p["targets"], p["title"])
                    for t in p["targets"]:
                        self.assertEqual(t["datasource"], ds, p["title"])
                        for sel in ('job=~"$job"', 'instance=~"$instance"'):
                            self.assertIn(sel, t["expr"], p["title"])
                walk(p.get("panels", []))
        walk(dash["panels"])
        self.assertEqual(len(ids), len(set(ids)), "panel ids not unique")
        for i, (ta, a) in enumerate(boxes):
            for tb, b in boxes[i + 1:]:
                overlap = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + \
                    a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < \
                    a["y"] + a["h"]
                self.assertFalse(overlap, "%s overlaps %s" % (ta, tb))
        timelines = [t["expr"] for p in kinds["state-timeline"]
                     for t in p["targets"]]
        self.assertTrue(any("hapwatch_service_state" in e for e in timelines))
        self.assertTrue(any("hapwatch_service_drain_let_go" in e
                            for e in timelines))
        exprs = [e for _, e in F.dashboard_exprs(dash)]
        self.assertTrue(any("histogram_quantile" in e and
                            "hapwatch_stats_poll_duration_seconds_bucket" in e
                            for e in exprs))
        self.assertTrue(any("by (code)" in e and
                            "hapwatch_http_requests_total" in e for e in exprs))
        self.assertTrue(any("by (state)" in e and
                            "hapwatch_agent_replies_total" in e for e in exprs))
        self.assertTrue(os.path.getsize(F.DASHBOARD) > 0)


if __name__ == "__main__":
    H.main()
