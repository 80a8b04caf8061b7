"""The event history: GET /events, its long-polls, `hapwatch ctl events`.

A real HAProxy with backend app (2 servers checked every 100ms) watched
by hapwatch (service web requires app). What happens to it — a start, a
failure, a drain and a recovery, an HAProxy reload, config reloads good
and bad — must come out of /events in order, each once, with who made
an override and through which route; `since` gives only what is newer;
a long-poll is woken by the next event, or ends after its wait with [];
the ring keeps the last 1000; long-polls count against max_connections
like any connection; `ctl events --follow` prints each event as it comes
and ends with 0 when hapwatch stops.
"""
import json
import os
import select
import signal
import subprocess
import threading
import time

import harness as H
import operate as U
from harness import http, wait_for


class EventsTest(H.Case):

    def start_world(self, admin_max=None):
        self.b = self.backends()
        self.hap = self.haproxy(H.hap_backend("app",
                                              self.b.add_many("s", 2))).start()
        self.port = self.env.port()
        self.poll_port = self.env.port()
        poll = {"http": "127.0.0.1:%d" % self.poll_port, "admin": True}
        if admin_max is not None:
            poll["max_connections"] = admin_max
        self.config = {
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.port, "admin": True},
                       poll]}
        self.hw = self.hapwatch(self.config).start()
        self.url = "http://127.0.0.1:%d" % self.port

    def events(self, query="", port=None, timeout=H.T_IO):
        st, _, body = http("GET", port or self.port, "/events" + query,
                           timeout=timeout)
        self.assertEqual(st, 200, body)
        return json.loads(body)

    def wait_event(self, pred, what, since=0):
        def found():
            self.hw.proc.check_alive()
            evs = [e for e in self.events("?since=%d" % since) if pred(e)]
            return evs or None
        return wait_for(found, H.T_STATE, what)

    def last_seq(self):
        evs = self.events()
        return evs[-1]["seq"] if evs else 0

    # ---- the history of a failure, a drain and a recovery -------------

    def test_history(self):
        self.start_world()
        self.hw.wait_state("web", "up")
        evs = self.events()
        self.assertEqual(evs[0]["event"], "start")
        self.assertEqual(evs[1], dict(evs[1], event="transition",
                                      service="web", **{"from": "starting",
                                                        "to": "up"}))
        mark = evs[-1]["seq"]

        # A failure, a drain by someone, a recovery and the ready.
        self.b.stop("s1", "s2")
        self.wait_event(lambda e: e["to"] == "down", "web down", mark)
        rc, _, _ = U.ctl(self.url, "drain", "--by", "deploy-42", "--for",
                         "10m", "web")
        self.assertEqual(rc, 0)
        self.b.start("s1", "s2")
        wait_for(lambda: self.hw.service("web")["verdict"] == "up",
                 H.T_STATE, "the verdict up again, under the drain")
        rc, _, _ = U.ctl(self.url, "ready", "web")
        self.assertEqual(rc, 0)
        self.hw.wait_state("web", "up")
        # An HAProxy reload, a good config reload and a bad one.
        before = self.last_seq()
        self.hap.reload()
        self.wait_event(lambda e: e["event"] == "haproxy_process",
                        "the new HAProxy process", before)
        self.hw.proc.signal(signal.SIGHUP)
        self.wait_event(lambda e: e["event"] == "config_reload",
                        "the config reload", before)
        with open(self.hw.cfg, "w") as f:
            f.write('{"services": {"web": {"require": []}}}')
        self.hw.proc.signal(signal.SIGHUP)
        bad = self.wait_event(lambda e: e["event"] == "config_reload_failed",
                              "the failed config reload", before)[0]
        self.assertIn("services.web.require: an empty list", bad["reason"])

        evs = self.events("?since=%d" % mark)
        seqs = [e["seq"] for e in evs]
        self.assertEqual(seqs, list(range(mark + 1, mark + 1 + len(evs))))
        got = [(e["event"], e["service"], e["from"], e["to"])
               for e in evs if e["event"] != "let_go"]
        want = [("transition", "web", "up", "down"),
                ("override", "web", "ready", "drain"),
                ("transition", "web", "down", "drain"),
                ("override", "web", "drain", "ready"),
                ("transition", "web", "drain", "up"),
                ("haproxy_process", None, str(self.hap.procs[0].pid),
                 str(self.hap.proc.pid)),
                ("config_reload", None, None, None),
                ("config_reload_failed", None, None, None)]
        self.assertEqual(got, want, json.dumps(evs, indent=1))
        drain = [e for e in evs if e["event"] == "override"]
        self.assertEqual((drain[0]["by"], drain[0]["route"],
                          drain[0]["reason"]),
                         ("deploy-42", "127.0.0.1:%d" % self.port,
                          "for 10m"))
        self.assertEqual(drain[1]["by"], "operator")
        self.assertIn("app", evs[0]["reason"])	 # why it went down
        for e in evs:
            self.assertRegex(e["time"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        H.log("events:\n" + "\n".join(json.dumps(e) for e in evs))
        rc, out, _ = U.ctl(self.url, "events")
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(len(lines), mark + len(evs))
        self.assertRegex(lines[mark], r" #%d transition web: up -> down: "
                         r"app: no usable server$" % (mark + 1))
        self.assertRegex(lines[mark + 1], r" override web: ready -> drain by "
                         r"deploy-42 via 127\.0\.0\.1:\d+: for 10m$")

    # ---- since, wait, and bad values ----------------------------------

    def test_long_poll(self):
        self.start_world()
        self.hw.wait_state("web", "up")
        last = self.last_seq()
        self.assertEqual(self.events("?since=%d" % last), [])

        # Woken by the next event: the answer holds it, and only it.
        out = {}

        def poll():
            t0 = time.monotonic()
            out["evs"] = self.events("?since=%d&wait=60s" % last,
                                     port=self.poll_port, timeout=90)
            out["t"] = time.monotonic() - t0
        t = threading.Thread(target=poll)
        t.start()
        wait_for(lambda: self.poll_conns() == 1, H.T_STATE,
                 "the long-poll to be held")
        rc, _, _ = U.ctl(self.url, "drain", "web")
        self.assertEqual(rc, 0)
        t.join(90 * H.SCALE)
        self.assertFalse(t.is_alive())
        # The override, the transition it made and the let-go (nothing to
        # watch here), told in the one turn they happened in.
        self.assertEqual([(e["seq"], e["event"]) for e in out["evs"]],
                         [(last + 1, "override"), (last + 2, "transition"),
                          (last + 3, "let_go")])
        self.assertLess(out["t"], 50, "woken, not timed out")

        # One that times out: [] after its wait, not before.
        last = self.last_seq()
        t0 = time.monotonic()
        self.assertEqual(self.events("?since=%d&wait=400ms" % last), [])
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)

        # Bad values: 400 with the reason.
        for q, why in (("?since=abc", b"since=abc: not an event's sequence"),
                       ("?wait=2m", b"wait=2m: not a duration from 0s to "
                        b"60s"),
                       ("?wait=5", b"wait=5: not a duration"),
                       ("?x=1", b'unknown parameter "x"')):
            st, _, body = http("GET", self.port, "/events" + q)
            self.assertEqual(st, 400, q)
            self.assertIn(why, body, q)

    def poll_conns(self):
        for l in self.hw.status()["listeners"]:
            if l["address"] == "127.0.0.1:%d" % self.poll_port:
                return l["connections"]
        raise AssertionError("no listener on the poll port")

    def test_long_polls_bounded(self):
        self.start_world(admin_max=3)
        self.hw.wait_state("web", "up")
        last = self.last_seq()
        answers = []

        def poll(i):
            evs = self.events("?since=%d&wait=60s" % last,
                              port=self.poll_port, timeout=90)
            answers.append((i, [e["seq"] for e in evs]))
        threads = [threading.Thread(target=poll, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        wait_for(lambda: self.poll_conns() == 3, H.T_STATE,
                 "three long-polls held")
        # A fourth waits in the backlog: not accepted while three wait.
        fourth = threading.Thread(target=poll, args=(3,))
        fourth.start()
        self.hw.wait_fresh_poll()
        self.assertEqual(self.poll_conns(), 3)
        self.assertEqual(answers, [])
        rc, _, _ = U.ctl(self.url, "maint", "web")
        self.assertEqual(rc, 0)
        for t in threads + [fourth]:
            t.join(90 * H.SCALE)
            self.assertFalse(t.is_alive())
        self.assertEqual(sorted(i for i, _ in answers), [0, 1, 2, 3])
        for i, seqs in answers:
            self.assertEqual(seqs[0], last + 1, (i, seqs))

    # ---- the ring's bound ----------------------------------------------

    def test_ring_bound(self):
        self.start_world()
        self.hw.wait_state("web", "up")
        while self.last_seq() < 1100:
            for what in ("maint", "ready"):
                st, _, body = http("POST", self.port, "/services/web/" + what)
                self.assertEqual(st, 200, body)
        evs = self.events()
        last = evs[-1]["seq"]
        self.assertEqual(len(evs), 1000)
        self.assertEqual([e["seq"] for e in evs],
                         list(range(last - 999, last + 1)))
        self.assertEqual(len(self.events("?since=5")), 1000)
        self.assertEqual(len(self.events("?since=%d" % (last - 7))), 7)

    # ---- ctl events --follow across a stop ------------------------------

    def test_follow_across_stop(self):
        self.start_world()
        self.hw.wait_state("web", "up")
        poll_url = "http://127.0.0.1:%d" % self.poll_port
        p = subprocess.Popen([H.hapwatch_bin(), "ctl", "-s", poll_url,
                              "events", "--follow"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(p.stderr.close)
        self.addCleanup(p.stdout.close)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        lines = []
        buf = b""

        def read_until(pred, what):
            nonlocal buf
            deadline = time.monotonic() + H.T_STATE * H.SCALE
            while not any(pred(l) for l in lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("ctl events --follow: no %s in %r"
                                         % (what, lines))
                r, _, _ = select.select([p.stdout], [], [], left)
                if not r:
                    continue
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError(
                        "ctl events --follow ended (%s) before %s: %r, "
                        "stderr %r" % (p.wait(), what, lines,
                                       p.stderr.read()))
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    lines.append(line.decode())
            return [l for l in lines if pred(l)]

        read_until(lambda l: "transition web: starting -> up" in l,
                   "the start")
        self.b.stop("s1", "s2")
        read_until(lambda l: "transition web: up -> down" in l, "the failure")
        self.assertEqual(U.ctl(self.url, "drain", "--by", "deploy-7",
                               "web")[0], 0)
        read_until(lambda l: "override web: ready -> drain by deploy-7" in l,
                   "the drain")
        self.b.start("s1", "s2")
        wait_for(lambda: self.hw.service("web")["verdict"] == "up",
                 H.T_STATE, "the backends back, under the drain")
        self.assertEqual(U.ctl(self.url, "ready", "--by", "deploy-7",
                               "web")[0], 0)
        read_until(lambda l: "transition web: drain -> up" in l,
                   "the recovery")
        # Stopped while ctl's long-poll is held, it hears of it. (Between
        # two polls, it finds the socket gone, says so and exits 0 too.)
        wait_for(lambda: self.poll_conns() == 1, H.T_STATE,
                 "ctl's long-poll to be held")
        self.hw.stop()
        read_until(lambda l: " stop SIGTERM" in l, "the stop")
        rc = p.wait(H.T_STOP * H.SCALE)
        err = p.stderr.read().decode()
        self.assertEqual(rc, 0, err)
        H.log("ctl events --follow:\n" + "\n".join(lines))
        self.assertTrue(lines[-1].endswith(" stop SIGTERM"), lines)


if __name__ == "__main__":
    H.main()
