"""hapwatch as the agent on the app servers themselves (seed 004's
"agent-port 9707 agent-inter"): a real HAProxy weights two servers with
agent-check, each answered by its own hapwatch in agent mode.

* No service watches HAProxy there: no stats source is polled (the
  configured stats socket is one that records every connect: none) and
  nothing is logged about HAProxy; /status says haproxy.watched false.
* Weights follow each hapwatch: app1's from an exec check that prints a
  percent (changed while running), app2's from the load rule (loadavg,
  with a floor).
* ctl drain on app1 moves the traffic to app2 with no failed request, and
  ctl ready brings it back.
"""
import os
import socket
import threading
import time

import netns_hooks as U
import harness as H
import operate as O
from harness import wait_for

WEIGHT_SCRIPT = """#!/bin/sh
cat "%s"
"""


class ConnectRecorder:
    """A unix socket that counts the connections made to it."""

    def __init__(self, path):
        self.count = 0
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(16)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.count += 1
            c.close()

    def close(self):
        self.s.close()


class Client:
    """Requests through the upstream HAProxy, as fast as answered; every
    answer counted by which server sent it."""

    def __init__(self, port):
        self.port = port
        self.seen = {}
        self.failed = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                st, body = H.get(self.port, "/")
                if st != 200:
                    self.failed.append((st, body))
                else:
                    name = body.strip()
                    self.seen[name] = self.seen.get(name, 0) + 1
            except Exception as e:  # noqa: BLE001 - a failed request
                self.failed.append(repr(e))
            self._stop.wait(0.005)

    def start(self):
        self._t.start()
        return self

    def stop(self):
        self._stop.set()
        self._t.join(30)

    def snapshot(self):
        return dict(self.seen)


class AgentModeTest(H.Case):

    def agent_hapwatch(self, name, checks, weight_from, agent_port):
        return self.hapwatch({
            "haproxy": {"stats": "unix:" + self.never, "interval": "100ms"},
            "checks": checks,
            "services": {"app": {"require": [{"check": weight_from}],
                                 "weight_from": weight_from}},
            "listen": [{"agent": "127.0.0.1:%d" % agent_port,
                        "service": "app"}]}, name=name).start()

    def weights(self):
        rows = {r["svname"]: r for r in self.lb.show_stat("app 4 -1")}
        return {s: int(rows[s]["weight"]) for s in ("app1", "app2")}

    def test_two_app_servers(self):
        env = self.env
        self.never = env.path("haproxy-stats.sock")
        rec = ConnectRecorder(self.never)
        b = self.backends()
        p1, p2 = b.add("app1"), b.add("app2")
        a1, a2 = env.port(), env.port()
        wfile = U.write_file(env.path("weight"), "40%\n")
        script = U.write_script(env.path("weight.sh"),
                                WEIGHT_SCRIPT % wfile)
        hw1 = self.agent_hapwatch("hw1", {"w": {"exec": [script],
                                                "interval": "200ms",
                                                "rise": 1, "fall": 1}},
                                  "w", a1)
        hw2 = self.agent_hapwatch("hw2", {"load": {"load": "loadavg",
                                                   "floor": 10,
                                                   "interval": "200ms"}},
                                  "load", a2)
        lb_port = env.port()
        self.lb = self.haproxy("""
frontend fe
    bind 127.0.0.1:%d
    default_backend app

backend app
    balance roundrobin
    server app1 127.0.0.1:%d weight 100 agent-check agent-port %d agent-inter 300ms
    server app2 127.0.0.1:%d weight 100 agent-check agent-port %d agent-inter 300ms
""" % (lb_port, p1, a1, p2, a2), name="upstream").start()
        # Weights follow each hapwatch: app1's exec check, app2's load.
        wait_for(lambda: self.weights()["app1"] == 40, H.T_STATE,
                 "app1 weighted 40 by its exec check")
        hw2.wait_state("app", "up")
        self.assertGreaterEqual(hw2.service("app")["weight"], 10)
        wait_for(lambda: abs(self.weights()["app2"] - hw2.service(
            "app")["weight"]) <= 5, H.T_STATE, "app2 weighted by its load")
        timeline = [(0.0, self.weights())]
        t0 = time.monotonic()
        U.write_file(wfile, "weight:70\n")
        wait_for(lambda: self.weights()["app1"] == 70, H.T_STATE,
                 "app1 weighted 70 once the check says so")
        timeline.append((time.monotonic() - t0, self.weights()))

        # A drain of app1 moves the traffic to app2, no request failing.
        client = Client(lb_port).start()
        try:
            wait_for(lambda: all(client.snapshot().get(n, 0) > 10
                                 for n in ("app1", "app2")), H.T_STATE,
                     "traffic on both servers")
            admin1 = "http://127.0.0.1:%d" % hw1.admin_port
            self.assertEqual(O.ctl(admin1, "drain", "app")[0], 0)
            wait_for(lambda: self.weights()["app1"] == 0, H.T_STATE,
                     "app1 at weight 0 (up 0% #drain)")
            timeline.append((time.monotonic() - t0, self.weights()))
            before = client.snapshot()
            wait_for(lambda: client.snapshot().get("app2", 0) >
                     before.get("app2", 0) + 50, H.T_STATE,
                     "50 more requests on app2")
            after = client.snapshot()
            self.assertEqual(after.get("app1", 0), before.get("app1", 0),
                             "app1 got requests while drained")
            self.assertEqual(O.ctl(admin1, "ready", "app")[0], 0)
            wait_for(lambda: self.weights()["app1"] == 70, H.T_STATE,
                     "app1 back at its weight")
            timeline.append((time.monotonic() - t0, self.weights()))
            wait_for(lambda: client.snapshot().get("app1", 0) >
                     after.get("app1", 0), H.T_STATE, "app1 served again")
        finally:
            client.stop()
        H.log("upstream weights over time: %s" % "; ".join(
            "%.1fs %r" % t for t in timeline))
        self.assertEqual(client.failed, [], "requests that failed")

        # Nothing asked of HAProxy, nothing said of it.
        self.assertEqual(rec.count, 0, "the stats socket was connected to")
        for hw in (hw1, hw2):
            st = hw.status()["haproxy"]
            self.assertFalse(st["watched"])
            self.assertEqual(st["polls"], 0)
            self.assertEqual(U.log_lines(hw.proc, r"stats|master"), [])
            self.assertTrue(U.log_lines(hw.proc, r"agent mode"))
            hw.stop()
        rec.close()


if __name__ == "__main__":
    H.main()
