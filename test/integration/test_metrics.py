"""/metrics: valid Prometheus text (promtool check metrics, no lint
problem) whose values agree with /status and with HAProxy.

HAProxy has backends app (3 servers, one of them killed) and api (2
servers). hapwatch has services web (app), api (api, min_percent 50),
ghost (a backend that does not exist) and drained (app, drained by the
operator); an agent listener (so capacity, and server counts, are
polled), TCP listeners for web (open) and ghost (closed), and an admin
listener. Each series the contract names is compared with /status taken
just before and just after (and equal to each other), and the backend
gauges with HAProxy's own show stat.
"""
import json

import harness as H
import operate as U
from harness import agent, http, wait_for

STATES = ("up", "down", "drain", "maint", "degraded")


class MetricsTest(H.Case):

    def start_world(self):
        env = self.env
        self.b = self.backends()
        app = self.b.add_many("a", 3)
        api = self.b.add_many("p", 2)
        self.hap = self.haproxy(H.hap_backend("app", app) +
                                H.hap_backend("api", api)).start()
        self.ag = env.port()
        self.tcp_web = env.port()
        self.tcp_ghost = env.port()
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s", "grace": "500ms"},
            "services": {
                "web": {"require": [{"backend": "app"}]},
                "api": {"require": [{"backend": "api", "min_percent": 50}]},
                "ghost": {"require": [{"backend": "no_such_be"}]},
                "drained": {"require": [{"backend": "app", "min": 2}]},
            },
            "listen": [
                {"agent": "127.0.0.1:%d" % self.ag},
                {"tcp": "127.0.0.1:%d" % self.tcp_web, "service": "web"},
                {"tcp": "127.0.0.1:%d" % self.tcp_ghost, "service": "ghost"},
            ]}).start()
        self.b.stop("a3")
        wait_for(lambda: self.hw.service("web")["weight"] == 66, H.T_STATE,
                 "web's capacity to be 66 (a3 down)")
        st, _, body = http("POST", self.hw.admin_port,
                           "/services/drained/drain")
        self.assertEqual(st, 200, body)
        self.hw.wait_state("drained", "drain")

    def scrape(self):
        """A consistent (status, metrics text): /status equal before and
        after /metrics, once the clocks and counters that move with every
        poll, and the ages counted from now, are left out (a prober's
        last_ms_ago differs between two reads a millisecond apart: a slow
        build, ASan's, never saw two equal)."""
        def stable(doc):
            d = json.loads(json.dumps(doc))
            for k in ("last_poll", "last_success", "polls", "uptime_sec",
                      "settling_ms"):
                d["haproxy"].pop(k, None)
            for l in d["listeners"]:
                l.pop("connections", None)
            for p in d.get("probers", []):
                p.pop("last_ms_ago", None)
            return d

        def once():
            a = self.hw.status()
            st, hdrs, body = http("GET", self.hw.admin_port, "/metrics")
            b = self.hw.status()
            if st != 200 or stable(a) != stable(b):
                return None
            return a, hdrs, body.decode()
        return wait_for(once, H.T_STATE, "a /metrics scrape between two "
                        "equal /status")

    def test_metrics_match_status(self):
        self.start_world()
        # Agent replies are counted by state.
        for _ in range(3):
            self.assertEqual(agent(self.ag, b"drained\n"), b"up 0% #drain\n")
        self.assertEqual(agent(self.ag, b"web\n"), b"up 66%\n")

        # The operator's view of the same state.
        rc, out, err = U.ctl("http://127.0.0.1:%d" % self.hw.admin_port,
                             "status")
        self.assertEqual((rc, err), (0, ""))
        H.log("hapwatch ctl status:\n" + out)
        rows = {l.split()[0]: l.split()[1:4] for l in out.splitlines()[1:5]}
        self.assertEqual(rows, {"web": ["up", "up", "-"],
                                "api": ["up", "up", "-"],
                                "ghost": ["down", "down", "-"],
                                "drained": ["drain", "up", "drain"]})

        status, hdrs, text = self.scrape()
        H.log("/metrics:\n" + text)
        self.assertEqual(hdrs["content-type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        rc, out = U.promtool_check(text)
        self.assertEqual((rc, out), (0, ""), "promtool check metrics")
        m = U.parse_metrics(text)

        svcs = status["services"]
        self.assertEqual(set(svcs), {"web", "api", "ghost", "drained"})
        self.assertEqual({n: s["state"] for n, s in svcs.items()},
                         {"web": "up", "api": "up", "ghost": "down",
                          "drained": "drain"})
        for name, s in svcs.items():
            self.assertEqual(U.metric(m, "hapwatch_service_up", service=name),
                             1.0 if s["state"] == "up" else 0.0, name)
            for st in STATES:
                self.assertEqual(
                    U.metric(m, "hapwatch_service_state", service=name,
                             state=st),
                    1.0 if s["state"] == st else 0.0, (name, st))
            self.assertEqual(
                U.metric(m, "hapwatch_service_transitions_total",
                         service=name), s["transitions"], name)
        self.assertEqual(len(U.metric_series(m, "hapwatch_service_state")),
                         len(STATES) * len(svcs))

        # nbsrv per condition: one series per backend condition that HAProxy
        # knows, none for the missing backend.
        want = {}
        for name, s in svcs.items():
            for c in s["conditions"]:
                if "backend" in c and c["nbsrv"] is not None:
                    want[frozenset({("service", name),
                                    ("proxy", c["backend"])})] = c["nbsrv"]
        self.assertEqual(U.metric_series(m, "hapwatch_condition_nbsrv"), want)
        self.assertEqual(want[frozenset({("service", "web"),
                                         ("proxy", "app")})], 2)
        self.assertEqual(want[frozenset({("service", "api"),
                                         ("proxy", "api")})], 2)

        # Backends: HAProxy's own act/bck, and the configured servers.
        rows = {r["pxname"]: r for r in self.hap.show_stat()
                if r["svname"] == "BACKEND"}
        for be in ("app", "api"):
            self.assertEqual(U.metric(m, "hapwatch_backend_active_servers",
                                      proxy=be), float(rows[be]["act"]), be)
            self.assertEqual(U.metric(m, "hapwatch_backend_backup_servers",
                                      proxy=be), float(rows[be]["bck"]), be)
        self.assertEqual(U.metric(m, "hapwatch_backend_servers", proxy="app"),
                         svcs["web"]["conditions"][0]["servers"])
        self.assertEqual(U.metric(m, "hapwatch_backend_servers", proxy="app"),
                         3.0)

        # Stats and listeners.
        self.assertIs(status["haproxy"]["up"], True)
        self.assertEqual(U.metric(m, "hapwatch_stats_up"), 1.0)
        lst = {frozenset({("listener", l["address"]), ("kind", l["kind"])}):
               1.0 if l["open"] else 0.0 for l in status["listeners"]}
        self.assertEqual(U.metric_series(m, "hapwatch_listener_open"), lst)
        self.assertEqual(U.metric(m, "hapwatch_listener_open",
                                  listener="127.0.0.1:%d" % self.tcp_ghost,
                                  kind="tcp"), 0.0)
        self.assertEqual(U.metric(m, "hapwatch_listener_open",
                                  listener="127.0.0.1:%d" % self.tcp_web,
                                  kind="tcp"), 1.0)

        # Counters that this test drove.
        self.assertGreaterEqual(U.metric(m, "hapwatch_agent_replies_total",
                                         state="drain"), 3.0)
        self.assertGreaterEqual(U.metric(m, "hapwatch_agent_replies_total",
                                         state="up"), 1.0)
        self.assertGreaterEqual(U.metric(m, "hapwatch_http_requests_total",
                                         code="200"), 1.0)
        self.assertEqual(U.metric(m, "hapwatch_build_info",
                                  version=status["version"]), 1.0)
        for reason in ("proxy", "accept", "auth", "timeout"):
            U.metric(m, "hapwatch_connection_errors_total", reason=reason)

        # The poll histogram: cumulative buckets up to +Inf == count.
        buckets = sorted(
            ((float(dict(k)["le"]), v) for k, v in
             U.metric_series(m, "hapwatch_stats_poll_duration_seconds_bucket")
             .items()), key=lambda x: x[0])
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), "buckets not cumulative")
        self.assertEqual(buckets[-1][0], float("inf"))
        self.assertEqual(buckets[-1][1], U.metric(
            m, "hapwatch_stats_poll_duration_seconds_count"))
        self.assertGreaterEqual(buckets[-1][1], 1.0)

        # HAProxy gone: once grace is over, stats_up and the error counters
        # follow /status, and every service with a backend is down.
        self.hap.kill()
        wait_for(lambda: self.hw.status()["haproxy"]["up"] is False,
                 H.T_STATE, "/status to show the stats unavailable")
        status, _, text = self.scrape()
        self.assertEqual(U.promtool_check(text), (0, ""))
        m = U.parse_metrics(text)
        self.assertEqual(U.metric(m, "hapwatch_stats_up"), 0.0)
        errs = status["haproxy"]["errors_by_reason"]
        self.assertGreater(sum(errs.values()), 0)
        self.assertEqual(
            {dict(k)["reason"]: v for k, v in
             U.metric_series(m, "hapwatch_stats_errors_total").items()},
            {k: float(v) for k, v in errs.items()})
        for name, s in status["services"].items():
            self.assertEqual(U.metric(m, "hapwatch_service_up", service=name),
                             0.0, name)
        self.assertEqual(status["services"]["web"]["reason"],
                         "stats unavailable")
        self.hw.stop()


if __name__ == "__main__":
    H.main()
