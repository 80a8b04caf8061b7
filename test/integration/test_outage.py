"""Stats outages and HAProxy reloads.

* grace: HAProxy stops; hapwatch keeps its last observation for `grace`
  (2s) from the last successful poll and answers 200, then 503 "stats
  unavailable"; HAProxy starts again (a new pid): 200 again, but only once
  `settle` has passed.
* reloads with every backend up: 20 reloads (-sf) under a probe every
  20ms: no 503, no failed probe.
* reloads with every backend down (servers on closed ports, checks every
  500ms, so each new process reports its servers UP until their first
  check): 20 reloads under a probe every 20ms: no 200 (settle 2s).

A probe's answer is judged by when it completed: an answer that came back
before a deadline was computed before it, so these bounds need no margin.
"""
import time

import harness as H
from harness import get, wait_for

HEALTH = "/haproxy_status"
RELOADS = 20


class OutageTest(H.Case):

    def start_world(self, up, grace="2s", settle="2s", check_inter="500ms"):
        env = self.env
        self.b = self.backends()
        if up:
            ports = self.b.add_many("s", 2)
        else:
            ports = [env.port(), env.port()]	# nothing listens there
        self.hap = self.haproxy(H.hap_backend(
            "app", ports, check="check inter %s fall 1 rise 1" %
            check_inter)).start()
        self.port = env.port()
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "500ms", "grace": grace,
                        "settle": settle},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.port,
                        "paths": {HEALTH: "web"}}]}).start()

    def wait_code(self, code):
        return wait_for(lambda: get(self.port, HEALTH)[0] == code, H.T_STATE,
                        "the health path to answer %d" % code)

    def report(self, name, results):
        counts = {}
        for r in results:
            counts[r[2]] = counts.get(r[2], 0) + 1
        H.log("%s: %d probes: %s" % (name, len(results), ", ".join(
            "%s: %d" % (k if k is not None else "failed", v)
            for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))))
        failed = [r for r in results if r[2] is None]
        self.assertEqual(failed, [], "probes that got no answer")
        return counts

    def test_grace_then_settle(self):
        self.start_world(up=True, grace="2s", settle="1s",
                         check_inter="100ms")
        self.wait_code(200)
        probe = H.Prober(self.port, HEALTH).start()
        try:
            # A successful poll completes after t_ok, so grace lasts at
            # least until t_ok + 2s.
            t_ok = time.monotonic()
            self.hw.wait_fresh_poll()
            self.hap.stop()
            t_stopped = time.monotonic()
            st, body = wait_for(lambda: (lambda r: r if r[0] == 503 else None)
                                (get(self.port, HEALTH)), H.T_STATE,
                                "503 once grace is over")
            self.assertTrue(body.startswith("down "), body)
            self.assertIn("stats unavailable", body)
            hs = self.hw.status()["haproxy"]
            self.assertFalse(hs["up"])
            self.assertGreater(hs["errors"], 0)
            svc = self.hw.service("web")
            self.assertEqual(svc["state"], "down")
            self.assertIn("stats unavailable", svc["reason"])

            # HAProxy comes back (a new pid): 200 again, after settle.
            t_start = time.monotonic()
            self.hap.start()
            self.wait_code(200)
            t_up = time.monotonic()
        finally:
            results = probe.stop()
        self.report("grace/settle", results)
        in_grace = [r for r in results if t_stopped <= r[1] < t_ok + 2.0]
        self.assertTrue(in_grace, "no probe completed during grace")
        self.assertEqual([r for r in in_grace if r[2] != 200], [],
                         "answers other than 200 during grace")
        first_503 = min(r[1] for r in results if r[2] == 503)
        early = [r for r in results
                 if first_503 <= r[1] < t_start + 1.0 and r[2] == 200]
        self.assertEqual(early, [], "200 before settle after HAProxy came "
                         "back (settle 1s from %.3f)" % t_start)
        H.log("grace: 200 for %.2fs after HAProxy stopped; 200 again %.2fs "
              "after it started" % (first_503 - t_stopped, t_up - t_start))
        self.hw.stop()

    def reloads(self, want_pid_seen=True):
        """RELOADS reloads, each seen by hapwatch before the next."""
        starts = []
        for i in range(RELOADS):
            pid = self.hap.reload()
            # The new process's early word about its servers.
            starts.append(tuple(r["status"] for r in
                                self.hap.show_stat("app 4 -1")))
            wait_for(lambda: self.hw.status()["haproxy"]["pid"] == pid,
                     H.T_STATE, "hapwatch to see pid %d (reload %d)" % (
                         pid, i + 1))
        return starts

    def test_reloads_while_up(self):
        self.start_world(up=True)
        self.wait_code(200)
        probe = H.Prober(self.port, HEALTH).start()
        try:
            self.reloads()
            self.hw.wait_fresh_poll()
        finally:
            results = probe.stop()
        counts = self.report("%d reloads while up" % RELOADS, results)
        self.assertEqual(counts.get(503, 0), 0, "503s during reloads: %r" % [
            r for r in results if r[2] != 200][:5])
        self.assertEqual(set(counts), {200})
        self.assertEqual(self.hw.status()["haproxy"]["reloads"], RELOADS)
        self.assertEqual(get(self.port, HEALTH)[0], 200)
        self.hw.stop()

    def test_reloads_while_down(self):
        self.start_world(up=False)
        self.wait_code(503)
        wait_for(lambda: all(r["status"] == "DOWN" for r in
                             self.hap.show_stat("app 4 -1")), H.T_STATE,
                 "HAProxy to see both servers DOWN")
        self.hw.wait_fresh_poll()
        probe = H.Prober(self.port, HEALTH).start()
        try:
            starts = self.reloads()
            # Until the last process has checked its servers, and hapwatch
            # has seen it.
            wait_for(lambda: all(r["status"] == "DOWN" for r in
                                 self.hap.show_stat("app 4 -1")), H.T_STATE,
                     "the last HAProxy to see both servers DOWN")
            self.hw.wait_fresh_poll()
        finally:
            results = probe.stop()
        counts = self.report("%d reloads while down" % RELOADS, results)
        optimistic = sum(1 for s in starts if any(x.startswith("UP")
                                                  for x in s))
        H.log("new processes that reported a server UP right after the "
              "reload: %d of %d" % (optimistic, RELOADS))
        self.assertEqual(counts.get(200, 0), 0, "200s during reloads: %r" % [
            r for r in results if r[2] == 200][:5])
        self.assertEqual(set(counts), {503})
        st = self.hw.status()
        self.assertEqual(st["haproxy"]["reloads"], RELOADS)
        self.assertEqual(st["services"]["web"]["state"], "down")
        self.hw.stop()


if __name__ == "__main__":
    H.main()
