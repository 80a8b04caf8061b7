"""Reload storms and crashes of HAProxy, under a health probe every 20ms.

Each test runs one HAProxy (backend app, two servers checked every 200ms
with fall 1 rise 1) and hapwatch (service web requires app; poll every
50ms, grace 3s, settle 1s = 5 x check inter). The servers are either up
(real backends) or down (closed ports: every new HAProxy process starts
them UP and marks them DOWN at its first check, up to 200ms later).

* -sf: 100 reloads (a new process with -sf <old pid>, the way systemd's
  ExecReload did before master-worker), each seen by hapwatch (a new Pid)
  before the next.
* master-worker: haproxy -W, 100 reloads by SIGUSR2 to the master; the
  global section's stats socket is passed from worker to worker.
* SIGKILL: HAProxy killed and started again, within grace and (servers
  down) after it.
* the stats page as the source (no Pid in it): 30 reloads -sf, servers
  down.

Verdicts: while the servers are up, not one 503 and not one failed probe;
while they are down, not one 200 (the settle rule), however many new
processes report their servers UP before their first check (counted and
printed). Probe counts are printed.
"""
import time

import harness as H
from harness import wait_for
import stress as R

RELOADS = 100
HEALTH = "/haproxy_status"
CHECK_INTER = "200ms"


class ReloadStormTest(H.Case):

    def start_world(self, up, master_worker=False):
        env = self.env
        self.b = self.backends()
        ports = self.b.add_many("s", 2) if up else [env.port(), env.port()]
        cls = R.MasterWorkerHAProxy if master_worker else H.HAProxy
        self.hap = cls(env, H.hap_backend(
            "app", ports, check="check inter %s fall 1 rise 1" %
            CHECK_INTER)).start()
        if not up:
            self.wait_haproxy_down()
        self.port = env.port()
        self.hw = R.Hapwatch(env, {
            "haproxy": {"stats": self.hap.stats_url, "interval": "50ms",
                        "timeout": "500ms", "grace": "3s", "settle": "1s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.port,
                        "paths": {HEALTH: "web"}}]}).start()
        self.hw.wait_state("web", "up" if up else "down")
        self.hw.wait_fresh_poll()

    def wait_haproxy_down(self):
        wait_for(lambda: all(r["status"] == "DOWN" for r in
                             self.hap.show_stat("app 4 -1")), H.T_STATE,
                 "HAProxy to see both servers DOWN")

    def prober(self):
        return R.ExtProber(self.env, self.port, HEALTH).start()

    def hw_pid(self):
        return self.hw.status()["haproxy"]["pid"]

    def storm(self):
        """RELOADS reloads, each seen by hapwatch before the next. Returns
        how many new processes reported a server UP right away."""
        optimistic = 0
        t0 = time.monotonic()
        for i in range(RELOADS):
            pid = self.hap.reload()
            try:
                early = [r["status"] for r in self.hap.show_stat("app 4 -1")]
                optimistic += any(s.startswith("UP") for s in early)
            except (OSError, ValueError):
                pass		# an old process closed on us: no matter
            wait_for(lambda: self.hw_pid() == pid, H.T_STATE,
                     "hapwatch to see pid %d (reload %d)" % (pid, i + 1))
        H.log("%d reloads in %.1fs" % (RELOADS, time.monotonic() - t0))
        return optimistic

    def judge(self, name, results, want):
        H.log("%s: %d probes: %s" % (name, len(results), R.summary(results)))
        self.assertEqual([r for r in results if r[2] is None], [],
                         "%s: probes that got no answer" % name)
        wrong = [r for r in results if r[2] != want]
        self.assertEqual(wrong[:5], [], "%s: %d answers other than %d" % (
            name, len(wrong), want))
        self.assertGreater(len(results), 0)

    def run_storm(self, up, master_worker):
        name = "%d %s reloads, servers %s" % (
            RELOADS, "master-worker" if master_worker else "-sf",
            "up" if up else "down")
        self.start_world(up, master_worker)
        p = self.prober()
        try:
            optimistic = self.storm()
            if not up:
                # Until the last process has checked its servers, and
                # hapwatch has seen that.
                self.wait_haproxy_down()
            self.hw.wait_fresh_poll()
        finally:
            results = p.stop()
        if not up:
            H.log("%s: new processes that reported a server UP right after "
                  "the reload: %d of %d" % (name, optimistic, RELOADS))
        self.judge(name, results, 200 if up else 503)
        st = self.hw.status()
        H.log("%s: stats errors seen by hapwatch: %s" % (name, {
            k: v for k, v in st["haproxy"]["errors_by_reason"].items() if v}))
        self.assertEqual(st["haproxy"]["reloads"], RELOADS)
        self.assertEqual(st["services"]["web"]["state"], "up" if up else
                         "down")
        self.hw.stop()

    def test_sf_up(self):
        self.run_storm(up=True, master_worker=False)

    def test_sf_down(self):
        self.run_storm(up=False, master_worker=False)

    def test_master_worker_up(self):
        self.run_storm(up=True, master_worker=True)

    def test_master_worker_down(self):
        self.run_storm(up=False, master_worker=True)

    def test_stats_page_sf_down(self):
        """The same contract with the stats page as the source ("stats":
        "http://.../stats", which shows no Pid): 30 reloads -sf with every
        server down, each polled by hapwatch (two polls) before the next:
        not one 200."""
        env = self.env
        sp = env.port()
        self.hap = self.haproxy(H.hap_backend(
            "app", [env.port(), env.port()],
            check="check inter %s fall 1 rise 1" % CHECK_INTER) +
            "listen stats\n    bind 127.0.0.1:%d\n    mode http\n"
            "    stats enable\n    stats uri /stats\n" % sp).start()
        self.wait_haproxy_down()
        self.port = env.port()
        self.hw = R.Hapwatch(env, {
            "haproxy": {"stats": "http://127.0.0.1:%d/stats" % sp,
                        "interval": "50ms", "timeout": "500ms",
                        "grace": "3s", "settle": "1s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.port,
                        "paths": {HEALTH: "web"}}]}).start()
        self.hw.wait_state("web", "down")
        p = self.prober()
        try:
            for _ in range(30):
                self.hap.reload()
                self.hw.wait_fresh_poll()
            self.wait_haproxy_down()
            self.hw.wait_fresh_poll()
        finally:
            results = p.stop()
        st = self.hw.status()
        H.log("stats page: hapwatch saw %d of 30 reloads; web made %d "
              "transitions" % (st["haproxy"]["reloads"],
                               st["services"]["web"]["transitions"]))
        self.judge("30 -sf reloads, stats page, servers down", results, 503)
        # The page shows no Pid, and the sign of a new process it does show
        # (its backends' "lastchg", in whole seconds) cannot tell processes
        # apart that live 0.25 s each, as these do: how many reloads were
        # counted is not the contract. Every process was held by settle all
        # the same (its age errs young), so the service never went up:
        self.assertEqual(st["services"]["web"]["transitions"], 0)
        self.hw.stop()

    def crash_and_restart(self, wait_grace):
        """SIGKILL every HAProxy process; once hapwatch has counted a failed
        poll (or, with wait_grace, has given up: stats unavailable), start
        HAProxy again and wait until hapwatch has seen the new process."""
        old = self.hw_pid()
        n = self.hw.status()["haproxy"]["errors"]
        self.hap.kill()
        wait_for(lambda: self.hw.status()["haproxy"]["errors"] > n, H.T_STATE,
                 "hapwatch to count a failed poll after SIGKILL")
        if wait_grace:
            wait_for(lambda: self.hw.service("web")["reason"] ==
                     "stats unavailable", H.T_STATE,
                     "web to be down for stats unavailable")
        self.hap.start()
        pid = self.hap.proc.pid
        self.assertNotEqual(pid, old)
        wait_for(lambda: self.hw_pid() == pid, H.T_STATE,
                 "hapwatch to see the restarted HAProxy (pid %d)" % pid)

    def test_sigkill_up(self):
        """Killed and restarted within grace: not one 503."""
        self.start_world(up=True)
        p = self.prober()
        try:
            for _ in range(3):
                self.crash_and_restart(wait_grace=False)
                self.hw.wait_fresh_poll()
        finally:
            results = p.stop()
        self.judge("SIGKILL + restart within grace, servers up", results, 200)
        self.assertEqual(self.hw.status()["haproxy"]["reloads"], 3)
        self.hw.stop()

    def test_sigkill_down(self):
        """Killed and restarted, within grace and after it: each new
        process reports its servers UP before its first check, and not
        one 200 comes out of it."""
        self.start_world(up=False)
        p = self.prober()
        try:
            for wait_grace in (False, True, False, True):
                self.crash_and_restart(wait_grace)
                self.wait_haproxy_down()
                self.hw.wait_fresh_poll()
        finally:
            results = p.stop()
        self.judge("SIGKILL + restart, servers down", results, 503)
        svc = self.hw.service("web")
        self.assertEqual(svc["state"], "down")
        self.assertTrue(svc["reason"].startswith("app: "), svc["reason"])
        self.hw.stop()


if __name__ == "__main__":
    H.main()
