"""A drain that knows when the load balancer has let go.

The load balancer is a real upstream HAProxy: it health-checks this node's
hapwatch (option httpchk, inter 500ms fall 2) on one server and weights
another with agent-check (the agent-check tier), both sending client
traffic on to this node's HAProxy frontend, while a client keeps sending
requests through it.

* `ctl drain --wait` returns 0 once the prober has been refused twice, the
  agent has told the upstream to drain, and the frontend has been quiet;
  from then on not one request reaches the node's frontend (its req_tot
  and stot stand still, and so do the node's backend's); it returns within
  fall x inter + quiet, plus a second.
* The same with the upstream checking through a PROXY v2 header
  (check-send-proxy, a v2 LOCAL: the connection's own address counts).
* A prober that stops probing in the middle lets go after 3 of its own
  intervals; nothing watched lets go at once, and says so.
* The timeout: exit 1, naming what is still pending; the drain stays.
* `--for` lifts itself; `ready --if-by` lifts only an override of that
  one's making.
* Overrides survive SIGTERM and a start, SIGKILL and a start, and a SIGHUP;
  an unreadable overrides file is kept aside and every service drained.
"""
import json
import os
import socket
import threading
import time

import harness as H
import operate as U
from harness import wait_for

HEALTH = "/health"
FALL, INTER, QUIET = 2, 0.5, 2.0


def node_body(fe_port, app_ports):
    return H.hap_backend("app", app_ports) + H.hap_frontend("fe_main",
                                                             fe_port, "app")


def upstream_body(lb_port, node_fe, health_port, agent_port, proxy=False,
                  other=None):
    """The load balancer: n_http is health-checked on hapwatch's path,
    n_agent weighted by hapwatch's agent port; both send to the node."""
    pp = " check-send-proxy" if proxy else ""
    return """
frontend fe_lb
    bind 127.0.0.1:%(lb)d
    default_backend nodes

backend nodes
    option httpchk GET %(path)s
    server n_http 127.0.0.1:%(fe)d check port %(hp)d inter %(inter)dms fall %(fall)d rise 1%(pp)s
    server n_agent 127.0.0.1:%(fe)d agent-check agent-port %(ap)d agent-inter %(inter)dms
""" % {"lb": lb_port, "path": HEALTH, "fe": node_fe, "hp": health_port,
       "ap": agent_port, "inter": INTER * 1000, "fall": FALL, "pp": pp} + (
    "" if other is None else
    "    server other 127.0.0.1:%d check inter %dms\n" % (other,
                                                         INTER * 1000))


class Traffic:
    """A client sending requests through the load balancer, a new
    connection each, as fast as it gets answers."""

    def __init__(self, port):
        self.port = port
        self.answers = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                st, _ = H.get(self.port, "/")
            except Exception:  # noqa: BLE001 - counted as "none"
                st = None
            self.answers[st] = self.answers.get(st, 0) + 1
            self._stop.wait(0.01)

    def start(self):
        self._t.start()
        return self

    def stop(self):
        self._stop.set()
        self._t.join(30)


class DrainTest(H.Case):

    def start_node(self, svc_extra=None, listen_extra=(), frontends=True,
                   proxy=False):
        env = self.env
        self.b = self.backends()
        self.fe_port = env.port()
        self.node = self.haproxy(node_body(self.fe_port,
                                           self.b.add_many("s", 1)),
                                 name="node").start()
        self.health, self.agent = env.port(), env.port()
        self.sock = env.path("admin.sock")
        web = {"require": [{"backend": "app"}],
               "let_go": {"failures": FALL, "quiet": "%dms" % (QUIET * 1000)}}
        web.update(svc_extra or {})
        conf = {
            "haproxy": {"stats": self.node.stats_url, "interval": "100ms",
                        "settle": "0s"},
            "services": {"web": web},
            "listen": [{"http": "127.0.0.1:%d" % env.port(), "admin": True},
                       {"http": "127.0.0.1:%d" % self.health,
                        "paths": {HEALTH: "web"}, "accept_proxy": proxy},
                       {"agent": "127.0.0.1:%d" % self.agent,
                        "service": "web"},
                       {"http": "unix:" + self.sock, "admin": True}] +
            list(listen_extra)}
        if frontends:
            conf["frontends"] = {"fe_main": "web"}
        self.hw = self.hapwatch(conf).start()
        self.hw.wait_state("web", "up")

    def start_upstream(self, proxy=False, other=None):
        self.lb_port = self.env.port()
        self.lb = self.haproxy(upstream_body(
            self.lb_port, self.fe_port, self.health, self.agent, proxy,
            other), name="upstream").start()

        def both_up():
            rows = {r["svname"]: r for r in self.lb.show_stat("nodes 4 -1")}
            # (A server with only an agent-check shows "no check".)
            return all(rows[s]["status"] in ("UP", "no check") and
                       int(rows[s]["weight"]) > 0
                       for s in ("n_http", "n_agent"))
        wait_for(both_up, H.T_STATE, "both upstream servers UP, weighted")

    def fe_totals(self):
        r = self.node.row("fe_main", "FRONTEND")
        be = self.node.row("app", "BACKEND")
        return int(r["req_tot"]), int(r["stot"]), int(be["stot"])

    def drain_wait(self, *extra, timeout=60):
        t0 = time.monotonic()
        rc, out, err = U.ctl(self.sock, "drain", "--wait", *extra, "web",
                             timeout=timeout)
        return rc, out, err, time.monotonic() - t0

    def let_go_behind_upstream(self, proxy):
        self.start_node(proxy=proxy)
        self.start_upstream(proxy=proxy)
        traffic = Traffic(self.lb_port).start()
        try:
            # Traffic reaches the node through both upstream servers.
            n0 = self.fe_totals()
            wait_for(lambda: self.fe_totals()[0] >= n0[0] + 20, H.T_STATE,
                     "traffic through the load balancer")
            # The load balancer has probed a few times, as it has before
            # any real drain.
            wait_for(lambda: (lambda ps: len(ps) == 2 and all(
                p["probes"] >= 3 for p in ps))(self.hw.status()["probers"]),
                H.T_STATE, "the upstream's checks and agent-checks seen")
            rc, out, err, took = self.drain_wait()
            after = self.fe_totals()
            H.log("drain --wait returned %d after %.2fs: %r" % (
                rc, took, out.strip()))
            self.assertEqual((rc, err), (0, ""), out)
            self.assertRegex(out, r"web: let go: all 3 watched have let go")
            # From the moment it returned, nothing reaches the node.
            t_end = time.monotonic() + 2 * INTER * FALL + 1
            while time.monotonic() < t_end:
                self.assertEqual(self.fe_totals(), after,
                                 "a request reached the node after let-go")
                time.sleep(0.05)
            bound = FALL * INTER + QUIET + 1
            self.assertLessEqual(took, bound * H.SCALE, "drain --wait took "
                                 "%.2fs, more than fall x inter + quiet + "
                                 "1s = %.1fs" % (took, bound))
        finally:
            traffic.stop()
        H.log("client answers during the drain: %r" % traffic.answers)
        self.assertIn(200, traffic.answers)
        d = self.hw.service("web")["drain"]
        self.assertTrue(d["let_go"])
        self.assertEqual(d["pending"], [])
        kinds = sorted((i["kind"], i.get("source", i.get("frontend")))
                       for i in d["done"])
        self.assertEqual(kinds, [("agent", "127.0.0.1"),
                                 ("frontend", "fe_main"),
                                 ("http", "127.0.0.1")])
        m = self.hw.metrics()
        self.assertEqual(H.metric(m, "hapwatch_service_drain_let_go",
                                  service="web"), 1.0)
        self.hw.stop()

    def test_let_go_behind_an_upstream_haproxy(self):
        self.let_go_behind_upstream(proxy=False)

    def test_let_go_behind_a_proxy_v2_prober(self):
        self.let_go_behind_upstream(proxy=True)

    def test_drain_restart_ready_loses_nothing(self):
        """What an operator runs for a deploy: `ctl drain --wait &&
        (restart HAProxy) && ctl ready`, while the load balancer, which
        has another node to send to, carries client traffic: not one
        request fails, and the node takes traffic again after."""
        self.start_node()
        other = self.b.add("other")
        self.start_upstream(other=other)
        traffic = Traffic(self.lb_port).start()
        try:
            n0 = self.fe_totals()
            wait_for(lambda: self.fe_totals()[0] >= n0[0] + 20, H.T_STATE,
                     "traffic through the load balancer to the node")
            wait_for(lambda: len(self.hw.status()["probers"]) == 2,
                     H.T_STATE, "the upstream's checks seen")
            rc, out, _, took = self.drain_wait()
            self.assertEqual(rc, 0, out)
            H.log("drain --wait: %.2fs" % took)
            old = self.node.pid()
            self.node.stop()
            self.node.start()
            self.assertNotEqual(self.node.pid(), old)
            self.assertEqual(U.ctl(self.sock, "ready", "web")[0], 0)
            n1 = self.fe_totals()
            wait_for(lambda: self.fe_totals()[0] >= n1[0] + 20, H.T_STATE,
                     "traffic to the node again after ready")
        finally:
            traffic.stop()
        H.log("client answers: %r" % traffic.answers)
        self.assertEqual(list(traffic.answers), [200], traffic.answers)
        self.assertGreater(traffic.answers[200], 100)
        self.hw.stop()

    def test_prober_that_stops_and_nothing_watched(self):
        # No frontend watched, no upstream: a prober of our own, from
        # 127.0.0.2, every 300ms; it stops once the drain has begun.
        self.start_node(frontends=False)
        stop = threading.Event()

        def probe():
            while not stop.is_set():
                s = socket.socket()
                try:
                    s.bind(("127.0.0.2", 0))
                    s.connect(("127.0.0.1", self.health))
                    s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
                    s.recv(1000)
                except OSError:
                    pass
                finally:
                    s.close()
                stop.wait(0.3)
        t = threading.Thread(target=probe, daemon=True)
        t.start()
        wait_for(lambda: [p for p in self.hw.status()["probers"]
                          if p["source"] == "127.0.0.2" and p["probes"] >= 3],
                 H.T_STATE, "the prober seen probing")
        rc, out, _ = U.ctl(self.sock, "drain", "web")
        self.assertEqual(rc, 0, out)
        stop.set()
        t.join(10)
        d = wait_for(lambda: (lambda d: d if d["let_go"] else None)(
            self.hw.service("web")["drain"]), H.T_STATE, "let go")
        self.assertEqual(len(d["done"]), 1, d)
        self.assertEqual(d["done"][0]["source"], "127.0.0.2")
        self.assertRegex(d["done"][0]["progress"],
                         r"^(gone: no probe for \d+s|refused \d+ in a row)")
        U.ctl(self.sock, "ready", "web")

        # Nothing watched: let go at once, and said so (a fresh start has
        # seen no prober yet).
        self.hw.stop()
        self.hw.start()
        self.hw.wait_state("web", "up")
        rc, out, err, took = self.drain_wait()
        self.assertEqual(rc, 0, (out, err))
        self.assertIn("nothing to watch", out)
        self.hw.stop()

    def test_timeout_names_what_is_pending(self):
        # The frontend never goes quiet: a client keeps sending to it.
        self.start_node()
        traffic = Traffic(self.fe_port).start()
        try:
            rc, out, err, took = self.drain_wait("--timeout", "2s")
        finally:
            traffic.stop()
        self.assertEqual(rc, 1, (out, err))
        self.assertRegex(err, r"not let go after 2s: web: waiting for 1 of 1:"
                         r" frontend fe_main \(quiet \d+s of 2s")
        # The drain stays: the operator asked for it.
        self.assertEqual(self.hw.service("web")["state"], "drain")
        self.hw.stop()

    def test_for_and_if_by(self):
        self.start_node(frontends=False)
        rc, out, _ = U.ctl(self.sock, "drain", "--for", "2s", "web")
        t0 = time.monotonic()
        self.assertEqual((rc, out), (0, "web drain\n"))
        s = self.hw.service("web")
        self.assertEqual(s["state"], "drain")
        self.assertIsNotNone(s["drain"]["until"])
        wait_for(lambda: self.hw.service("web")["state"] == "up", H.T_STATE,
                 "the drain to lift itself")
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.assertTrue(U.log_has(self.hw.proc, r"the drain by operator has "
                                  r"run its time"))

        # HAProxy's unit drains before it stops, then lifts only its own.
        self.assertEqual(U.ctl(self.sock, "drain", "--by", "alice", "web")[0],
                         0)
        self.assertEqual(U.ctl(self.sock, "drain", "--by",
                               "haproxy.service", "web")[0], 0)
        self.assertEqual(self.hw.service("web")["override_by"]["by"], "alice")
        rc, out, _ = U.ctl(self.sock, "ready", "--if-by", "haproxy.service",
                           "web")
        self.assertEqual(rc, 1, out)
        self.assertIn("web: drain by alice, not haproxy.service: left as is",
                      out)
        self.assertEqual(self.hw.service("web")["state"], "drain")
        U.ctl(self.sock, "ready", "web")
        self.assertEqual(U.ctl(self.sock, "drain", "--by", "haproxy.service",
                               "web")[0], 0)
        self.assertEqual(U.ctl(self.sock, "ready", "--if-by",
                               "haproxy.service", "web")[:2],
                         (0, "web ready\n"))
        self.hw.wait_state("web", "up")
        # The ready is haproxy.service's doing, and the history says so.
        st, _, body = U.unix_http(self.sock, "GET", "/events")
        ready = [e for e in json.loads(body) if e["event"] == "override" and
                 e["to"] == "ready"][-1]
        self.assertEqual(ready["by"], "haproxy.service")
        self.assertTrue(U.log_has(self.hw.proc,
                                  "web: ready by haproxy.service via "))
        # Usage errors: 2.
        for args in (("drain", "--for", "soon", "web"),
                     ("ready", "--for", "1m", "web"),
                     ("maint", "--wait", "web"),
                     ("drain", "--if-by", "x", "web")):
            self.assertEqual(U.ctl(self.sock, *args)[0], 2, args)
        self.hw.stop()

    def overrides_file(self):
        return os.path.join(os.environ["STATE_DIRECTORY"], "overrides.json")

    def test_overrides_survive_restarts(self):
        self.start_node(frontends=False)
        U.ctl(self.sock, "drain", "--by", "deploy", "web")
        wait_for(lambda: json.load(open(self.overrides_file()))["overrides"]
                 .get("web", {}).get("override") == "drain", H.T_STATE,
                 "the drain saved")
        for how in ("SIGTERM", "SIGKILL", "SIGHUP"):
            if how == "SIGTERM":
                self.hw.stop()
            elif how == "SIGKILL":
                self.hw.proc.kill()
            else:
                n = self.hw.status()["config"]["reloads"]
                self.hw.proc.signal(1)
                wait_for(lambda: self.hw.status()["config"]["reloads"] > n,
                         H.T_STATE, "the reload")
            if how != "SIGHUP":
                self.hw.start()
            s = self.hw.service("web")
            self.assertEqual((s["state"], s["override_by"]["by"]),
                             ("drain", "deploy"), how)
            self.assertEqual(H.get(self.health, HEALTH),
                             (503, "drain drained by deploy\n"), how)
        U.ctl(self.sock, "ready", "web")
        self.hw.stop()
        self.hw.start()
        self.hw.wait_state("web", "up")
        self.hw.stop()

    def test_restored_drain_does_not_let_go_blind(self):
        """A drain kept across a restart: one that had let go stays so (no
        second let_go event, no hook run twice); one that had not knows no
        prober after the start, so it watches those that come, and does not
        let go before its window after the start is over."""
        self.start_node(frontends=False)
        prober = H.Prober(self.health, HEALTH, interval=0.1).start()
        self.addCleanup(prober.stop)
        wait_for(lambda: any(p["probes"] >= 2 for p in
                             self.hw.status()["probers"]),
                 H.T_STATE, "the prober to be known")
        rc, out, _ = U.ctl(self.sock, "drain", "--wait", "--timeout", "20s",
                           "web")
        self.assertEqual(rc, 0, out)
        with open(self.overrides_file()) as f:
            saved = json.load(f)["overrides"]["web"]
        self.assertIsNotNone(saved["let_go"])
        self.hw.stop()
        self.hw.start()
        d = self.hw.service("web")["drain"]
        self.assertEqual((d["let_go"], d["summary"]),
                         (True, "let go before the restart"))
        self.hw.wait_fresh_poll()
        st, _, body = U.unix_http(self.sock, "GET", "/events")
        self.assertEqual([e["event"] for e in json.loads(body)
                          if e["event"] == "let_go"], [])

        # The file says: drained, not let go. The prober goes on.
        self.hw.stop()
        saved["let_go"] = None
        U.write_json(self.overrides_file(), {"version": 1,
                                             "overrides": {"web": saved}})
        self.hw.start()

        def prober_done():
            d = self.hw.service("web")["drain"]
            return d if any(i["kind"] == "http" for i in d["done"]) else None
        d = wait_for(prober_done, H.T_STATE,
                     "the prober that came after the start to let go")
        self.assertFalse(d["let_go"], d)
        self.assertEqual([i["kind"] for i in d["pending"]], ["restart"], d)
        self.assertRegex(d["pending"][0]["progress"],
                         r"^watching who probes: \d+s of 300s$")
        self.assertRegex(d["summary"], r"^waiting for 1 of 2: restart ")
        self.hw.stop()

    def test_unreadable_overrides_file(self):
        os.makedirs(os.environ["STATE_DIRECTORY"], exist_ok=True)
        with open(self.overrides_file(), "w") as f:
            f.write("{ not json")
        env = self.env
        b = self.backends()
        hap = self.haproxy(H.hap_backend("app", b.add_many("s", 1))).start()
        health = env.port()
        hw = self.hapwatch({
            "haproxy": {"stats": hap.stats_url, "interval": "100ms",
                        "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}]},
                         "api": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % health,
                        "paths": {HEALTH: "web"}}]}).start()
        st = hw.status()
        for name in ("web", "api"):
            self.assertEqual(st["services"][name]["state"], "drain", name)
        of = st["overrides_file"]
        self.assertEqual(of["kept_aside"], self.overrides_file() + ".bad")
        self.assertIn("not a version 1 overrides file", of["error"])
        with open(self.overrides_file() + ".bad") as f:
            self.assertEqual(f.read(), "{ not json")
        self.assertTrue(U.log_has(hw.proc, r"^(hapwatch: error: |<3>)"
                                  r"overrides: .*kept aside"))
        self.assertEqual(H.get(health, HEALTH)[0], 503)
        hw.stop()


if __name__ == "__main__":
    H.main()
