"""The stats page as a source (`"stats": "http://user:pass@HOST:PORT/stats"`,
read as CSV with basic auth), against a real HAProxy `listen stats` with
`stats auth`, side by side with a second hapwatch on the stats socket.

* agreement: backends app (3 servers), api (2) and bk (1 active, 1
  backup); services with `min`, `min_percent`, a backup-only backend and
  `"*"`; an agent listener on each (so both read server rows: the agent
  weight needs capacity). Through a sequence of backend kills and revivals,
  once HAProxy's own view has settled and both hapwatch have polled after
  it, both give the same state, verdict, reason and weight for every
  service, and the same nbsrv, servers, capacity and ok for every
  condition; and both agree with HAProxy's own nbsrv() for each backend
  (all read while HAProxy's view holds still: on a loaded machine a
  check can fail on a live server for a moment; then the test looks
  again).
* the same with services that need no server rows (no agent listener, no
  min_percent, no "*"): the socket hapwatch then asks for backend rows
  only, while the page always has them all.
* wrong password: HAProxy answers 401; that is a poll error (counted,
  logged with the status); the last observation stands for `grace`, then
  every backend condition fails with `stats unavailable`. The right
  password again: up again.
"""
import time

import netns_hooks as U
import harness as H
from harness import wait_for

USER, PASS = "hwuser", "s3cret-pass"


class StatsHttpTest(H.Case):

    def hap_body(self, password=PASS):
        return (H.hap_backend("app", [self.ports[n] for n in
                                      ("w1", "w2", "w3")]) +
                H.hap_backend("api", [self.ports[n] for n in ("a1", "a2")]) +
                H.hap_backend("bk", [self.ports["k1"]],
                              backups=[self.ports["kb"]]) +
                "listen stats\n"
                "    bind 127.0.0.1:%d\n"
                "    stats enable\n"
                "    stats uri /stats\n"
                "    stats auth %s:%s\n" % (self.stats_port, USER, password))

    def start_world(self, password=PASS, grace="10s", both=True,
                    rows=True):
        env = self.env
        self.b = self.backends()
        self.ports = {}
        for n in ("w1", "w2", "w3", "a1", "a2", "k1", "kb"):
            self.ports[n] = self.b.add(n)
        self.stats_port = env.port()
        self.hap = self.haproxy(self.hap_body(), nbsrv=("app", "api",
                                                        "bk")).start()
        services = {
            "web": {"require": [{"backend": "app", "min": 2},
                                {"backend": "api", "min_percent": 50}]},
            "backup": {"require": [{"backend": "bk"}]},
            "every": {"require": [{"backend": "*"}]},
            "plain": {"require": [{"backend": "app"}]},
        }
        url = "http://%s:%s@127.0.0.1:%d/stats" % (USER, password,
                                                   self.stats_port)

        agents = ("web", "backup", "every")
        if not rows:
            # Nothing needs server rows: the socket hapwatch asks for
            # backend rows only ("show stat app 2 -1"), the page has all.
            services = {"plain": {"require": [{"backend": "app"}]},
                        "backup": {"require": [{"backend": "bk"}]},
                        "two": {"require": [{"backend": "api",
                                             "min": 2}]}}
            agents = ()

        def conf(stats):
            return {"haproxy": {"stats": stats, "interval": "100ms",
                                "timeout": "1s", "settle": "0s",
                                "grace": grace},
                    "services": services,
                    "listen": [{"agent": "127.0.0.1:%d" % env.port(),
                                "service": s} for s in agents]}
        self.hw_http = self.hapwatch(conf(url), name="hapwatch-http").start()
        self.hw_sock = self.hapwatch(conf(self.hap.stats_url),
                                     name="hapwatch-sock").start() \
            if both else None

    # ---- agreement ----

    def haproxy_settled(self, down):
        """Wait until HAProxy's checks agree: servers in `down` DOWN,
        every other one UP."""
        names = {"app": ("s1", "s2", "s3"), "api": ("s1", "s2"),
                 "bk": ("s1", "b1")}
        ours = {"app": ("w1", "w2", "w3"), "api": ("a1", "a2"),
                "bk": ("k1", "kb")}

        def settled():
            rows = {(r["pxname"], r["svname"]): r["status"]
                    for r in self.hap.show_stat()}
            for be in names:
                for sv, n in zip(names[be], ours[be]):
                    want = "DOWN" if n in down else "UP"
                    if rows.get((be, sv)) != want:
                        return None
            return rows
        wait_for(settled, H.T_STATE, "HAProxy to see %s down" % sorted(down))

    def view(self, hw, rows):
        """What must agree. Without server rows on the socket, servers,
        capacity and the weight derived from them are known to the page
        only (more rows, same price): not compared then."""
        st = hw.status()
        out = {}
        ckeys = ("backend", "nbsrv", "servers", "capacity", "ok") if rows \
            else ("backend", "nbsrv", "ok")
        for name, s in sorted(st["services"].items()):
            conds = [{k: c.get(k) for k in ckeys} for c in s["conditions"]]
            out[name] = {"state": s["state"], "verdict": s["verdict"],
                         "reason": s["reason"], "conditions": conds}
            if rows:
                out[name]["weight"] = s["weight"]
        return out

    def hap_state(self):
        """Every server's status and count of UP->DOWN transitions."""
        return {(r["pxname"], r["svname"]): (r["status"], r["chkdown"])
                for r in self.hap.show_stat() if r["svname"] not in (
                    "FRONTEND", "BACKEND")}

    def stable_views(self, down, rows):
        """Both hapwatch's views and HAProxy's nbsrv() of each backend,
        taken while HAProxy's view held still (else None: look again).
        On a loaded machine a check (inter 100ms, fall 1) can fail on a
        live server for a moment, and a view taken then would be compared
        with an oracle read after."""
        self.haproxy_settled(down)
        before = self.hap_state()
        self.hw_http.wait_fresh_poll()
        self.hw_sock.wait_fresh_poll()
        vh = self.view(self.hw_http, rows)
        vs = self.view(self.hw_sock, rows)
        oracles = {be: self.hap.nbsrv(be) for be in ("app", "api", "bk")}
        if self.hap_state() != before:
            return None
        return vh, vs, oracles

    STEPS = [set(), {"w1"}, {"w1", "w2"}, {"w1", "w2", "a1"},
             {"w1", "w2", "a1", "a2"}, {"a1", "a2", "k1"},
             {"a1", "a2", "k1", "kb"}, {"w1", "w2", "w3", "k1"}, set()]

    def test_same_as_socket(self):
        self.start_world()
        self.compare(self.STEPS, rows=True)

    def test_same_as_socket_backend_rows_only(self):
        self.start_world(rows=False)
        self.compare(self.STEPS, rows=False)

    def compare(self, steps, rows):
        down = set()
        trace = []
        for i, want in enumerate(steps):
            self.b.stop(*sorted(want - down))
            self.b.start(*sorted(down - want))
            down = set(want)
            vh, vs, oracles = wait_for(
                lambda: self.stable_views(down, rows), H.T_STATE,
                "HAProxy to hold still through both hapwatch's polls")
            with self.subTest(step=i, down=sorted(down)):
                self.assertEqual(vh, vs, "stats page vs socket, %s down" %
                                 sorted(down))
                for be in ("app", "api", "bk"):
                    oracle = oracles[be]
                    got = [c["nbsrv"] for s in vh.values()
                           for c in s["conditions"] if c["backend"] == be]
                    self.assertTrue(got)
                    self.assertEqual(set(got), {oracle},
                                     "nbsrv(%s) vs HAProxy's" % be)
            trace.append("%s: %s" % (",".join(sorted(down)) or "none",
                                     "; ".join("%s=%s (%s)" % (
                                         n, v["state"], v["reason"])
                                         for n, v in vh.items())))
        for t in trace:
            H.log(t)
        st = self.hw_http.status()["haproxy"]
        self.assertEqual(st["errors"], 0, st)
        self.assertTrue(st["up"])
        self.hw_http.stop()
        self.hw_sock.stop()

    # ---- wrong password ----

    def test_wrong_password(self):
        # From the start: no observation at all, so at once.
        self.start_world(password="wrong", grace="1s", both=False)
        hw = self.hw_http
        # (down from the start, "starting" until the first poll answers)
        svc = wait_for(lambda: (lambda s: s if s["reason"] != "starting"
                                else None)(hw.service("web")), H.T_STATE,
                       "the first poll's verdict")
        self.assertEqual((svc["state"], svc["reason"]),
                         ("down", "stats unavailable"))
        st = wait_for(lambda: (lambda s: s if s["errors"] >= 2 else None)(
            hw.status()["haproxy"]), H.T_STATE, "poll errors counted")
        self.assertFalse(st["up"])
        self.assertIn("HTTP 401", st["last_error"] or "")
        H.log("wrong password: %s" % st["last_error"])
        self.assertTrue(U.log_lines(hw.proc, r"warning: stats: .*HTTP 401"))
        hw.stop()

    def test_password_changed_then_fixed(self):
        self.start_world(grace="1s", both=False)
        hw = self.hw_http
        hw.wait_state("web", "up")
        # HAProxy's password changes under hapwatch (a reload).
        t_ok = time.monotonic()
        hw.wait_fresh_poll()
        self.hap.reload(self.hap_body(password="rotated"))
        t_reload = time.monotonic()
        svc = hw.wait_state("web", "down")
        t_down = time.monotonic()
        self.assertEqual(svc["reason"], "stats unavailable")
        for name in ("backup", "every", "plain"):
            self.assertEqual(hw.service(name)["reason"], "stats unavailable")
        H.log("401s from %.2fs; stats unavailable %.2fs after the reload "
              "(grace 1s)" % (t_reload - t_ok, t_down - t_reload))
        # Not before grace, counted from the last good poll (>= t_ok).
        self.assertGreaterEqual(t_down - t_ok, 1.0)
        # Polls still fail every 100ms, so an error may be counted
        # between any two reads: /metrics is read between two /status
        # reads and must lie between them.
        st = hw.status()["haproxy"]
        errs = sum(H.metric_series(hw.metrics(),
                                   "hapwatch_stats_errors_total").values())
        st2 = hw.status()["haproxy"]
        self.assertGreater(st["errors"], 0)
        self.assertIn("HTTP 401", st["last_error"] or "")
        self.assertTrue(st["errors"] <= errs <= st2["errors"],
                        "/metrics counts %s errors, not between /status's "
                        "%d and %d" % (errs, st["errors"], st2["errors"]))
        # The password back: up again.
        self.hap.reload(self.hap_body(password=PASS))
        hw.wait_state("web", "up")
        # Once the old process (the 401s) is gone, with whatever
        # connection it still served, no error is counted any more: after
        # a poll sent since then, both must give the same count.
        old = self.hap.procs[-2]
        wait_for(lambda: not old.alive(), H.T_STATE,
                 "the old HAProxy process (pid %d) to exit" % old.pid)
        hw.wait_fresh_poll()
        st = hw.status()["haproxy"]
        errs = sum(H.metric_series(hw.metrics(),
                                   "hapwatch_stats_errors_total").values())
        self.assertEqual(errs, st["errors"])
        self.assertEqual(hw.status()["haproxy"]["errors"], st["errors"],
                         "errors still counted after the password was fixed")
        hw.stop()


if __name__ == "__main__":
    H.main()
