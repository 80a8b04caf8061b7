"""Faults on the stats socket, injected by test/tools/faultproxy.py.

hapwatch reads HAProxy's stats through the fault proxy. Two services:
`web` (backend app, both servers up) and `dead` (backend deadbe, both
servers on closed ports, DOWN in HAProxy before hapwatch starts). For each
fault, switched on at run time and then off again:

* grace: the last observation is kept for `grace` (1.5s) from the last
  successful poll (web keeps answering 200), then web goes down with the
  reason `stats unavailable` and stays down until the fault clears;
* never a false up: `dead` never answers 200 (http) nor "up" (agent),
  before, during or after any fault;
* the loop never stalls: the health and agent probes (each on a new
  connection, every 20ms, from their own processes) sent while the fault
  is on are answered within 100ms, but for a few that a loaded machine
  delays (stress.stall: at most 10%, none 1s or more);
* the fault is counted in /status haproxy.errors_by_reason and in /metrics
  hapwatch_stats_errors_total{reason} under the expected reason, and under
  no other reason;
* recovery: once the fault clears, web answers 200 again, and hapwatch
  holds no more file descriptors than before the fault.

A delay shorter than the poll timeout is no fault: no error, web stays up.

Faults (test/tools/faultproxy.py) and the reason each must be counted as:
stall, a delay beyond the timeout and a reply dripping a byte every 20ms
(the timeout bounds the whole reply, not each read) -> timeout; a reply cut mid-line ->
truncated; garbage lines in the CSV -> garbled; a 40 MB line -> too_large
(the bound is 32 MiB); "Stopping: 1" (an old process) -> stopping; a reset
-> io; a socket file nobody listens on (a killed HAProxy) and a socket that
vanished -> connect.

The rule for a reply that is both too large and slow: it is too_large the
moment it passes the bound, and timeout if it is still arriving (below the
bound) when the timeout ends. With a 400ms timeout a loaded machine may
not move 32 MiB in time, and then timeout is the right answer: so the
oversize fault has a world of its own (test_oversize) whose poll timeout
(OVERSIZE_TIMEOUT, 30s) no machine that runs this suite reaches before
the bound, with the 40 MB reply made before the fault is switched on and
written at once; too_large is then the only right count, however slow the
machine.
"""
import time

import harness as H
from harness import get, wait_for
import stress as R

GRACE = 1.5
INTERVAL = 0.1
TIMEOUT = 0.4
MAX_LATENCY = 0.100

# mode, arguments, the reason it must be counted under
FAULTS = [
    ("stall", (), "timeout"),
    ("delay", (800,), "timeout"),
    ("drip", (20,), "timeout"),
    ("truncate", (), "truncated"),
    ("garbage", (), "garbled"),
    ("stopping", (), "stopping"),
    ("reset", (), "io"),
    ("refuse", (), "connect"),
    ("vanish", (), "connect"),
]
# In a world of its own, with a poll timeout that no machine reaches
# before the 32 MiB bound is passed (see the top).
OVERSIZE = ("oversize", (40 << 20,), "too_large")
OVERSIZE_TIMEOUT = 30.0


class FaultsTest(H.Case):

    def start_world(self, timeout=TIMEOUT):
        env = self.env
        self.timeout = timeout
        self.b = self.backends()
        up_ports = self.b.add_many("s", 2)
        dead_ports = [env.port(), env.port()]	# nothing listens there
        self.hap = self.haproxy(
            H.hap_backend("app", up_ports) +
            H.hap_backend("deadbe", dead_ports, prefix="d")).start()
        wait_for(lambda: all(r["status"] == "DOWN" for r in
                             self.hap.show_stat("deadbe 4 -1")), H.T_STATE,
                 "HAProxy to see deadbe's servers DOWN")
        self.proxy = R.FaultProxy(env, self.hap.sock).start()
        self.port = env.port()
        self.agent_port = env.port()
        self.hw = R.Hapwatch(env, {
            "haproxy": {"stats": self.proxy.stats_url,
                        "interval": "%dms" % (INTERVAL * 1000),
                        "timeout": "%dms" % (timeout * 1000),
                        "grace": "%dms" % (GRACE * 1000), "settle": "1s"},
            "services": {"web": {"require": [{"backend": "app"}]},
                         "dead": {"require": [{"backend": "deadbe"}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.port,
                        "paths": {"/web": "web", "/dead": "dead"}},
                       {"agent": "127.0.0.1:%d" % self.agent_port,
                        "service": "dead"}]}).start()
        self.hw.wait_state("web", "up")
        self.hw.wait_state("dead", "down")

    def web(self):
        return get(self.port, "/web")

    def delay_within_timeout(self):
        """A delay within the timeout is no fault at all: no error, web
        stays up. Returns when it began and ended."""
        before = self.hw.stats_errors()
        t_slow = time.monotonic()
        self.proxy.set("delay", int(self.timeout * 1000 / 4))
        n = self.hw.polls()
        wait_for(lambda: self.hw.polls() >= n + 5, H.T_STATE,
                 "5 polls through a 100ms delay")
        t_slow_end = time.monotonic()
        self.assertEqual(self.hw.stats_errors(), before,
                         "errors counted for a delay within the timeout")
        self.assertEqual(self.hw.service("web")["state"], "up")
        return t_slow, t_slow_end

    def fault(self, mode, args, reason):
        """One fault, on then off; returns its timeline."""
        hw = self.hw
        self.proxy.set("pass")
        hw.wait_state("web", "up")
        fds0 = R.fd_count(hw.proc.pid)
        before = hw.stats_errors()
        t_ok = time.monotonic()
        hw.wait_fresh_poll()	# so the last success is after t_ok
        t_fault = time.monotonic()
        self.proxy.set(mode, *args)
        # Down with "stats unavailable", once grace is over.
        st, body = wait_for(
            lambda: (lambda r: r if r[0] == 503 else None)(self.web()),
            H.T_STATE, "web to answer 503 under fault %s" % mode)
        t_down = time.monotonic()
        self.assertIn("stats unavailable", body, mode)
        # ... and the fault is still counted as it goes on.
        n = hw.status()["haproxy"]["errors"]
        wait_for(lambda: hw.status()["haproxy"]["errors"] >= n + 2,
                 H.T_STATE, "two more stats errors under fault %s" % mode)
        after = hw.stats_errors()
        svc = hw.service("web")
        self.assertEqual((svc["state"], svc["reason"]),
                         ("down", "stats unavailable"), mode)
        self.assertFalse(hw.status()["haproxy"]["up"], mode)
        t_clear = time.monotonic()
        self.proxy.set("pass")
        wait_for(lambda: self.web()[0] == 200, H.T_STATE,
                 "web to answer 200 once fault %s clears" % mode)
        t_up = time.monotonic()
        self.assertTrue(hw.status()["haproxy"]["up"])
        # Counted under its reason only, the same in /status and /metrics.
        for src, b, a in (("/status", before[0], after[0]),
                          ("/metrics", before[1], after[1])):
            diff = {k: a[k] - b[k] for k in a if a[k] != b.get(k)}
            self.assertEqual(set(diff), {reason}, "%s: fault %s counted as "
                             "%r, want %s only" % (src, mode, diff, reason))
        wait_for(lambda: R.fd_count(hw.proc.pid) <= fds0, H.T_STATE,
                 "hapwatch's fds back to %d after fault %s" % (fds0, mode))
        H.log("fault %-9s -> %-9s: down %.2fs after the fault (grace %.1fs), "
              "%d errors, up %.2fs after it cleared" % (
                  mode, reason, t_down - t_fault, GRACE, a[reason] - b[reason],
                  t_up - t_clear))
        return dict(mode=mode, reason=reason, t_ok=t_ok, t_fault=t_fault,
                    t_down=t_down, t_clear=t_clear, t_up=t_up,
                    errors=after[0][reason] - before[0][reason])

    def test_faults(self):
        self.start_world()
        self.run_faults(FAULTS, delay_within_timeout=True)

    def test_oversize(self):
        self.start_world(timeout=OVERSIZE_TIMEOUT)
        self.run_faults([OVERSIZE], delay_within_timeout=False)

    def run_faults(self, faults, delay_within_timeout):
        probes = {
            "web": R.ExtProber(self.env, self.port, "/web").start(),
            "dead": R.ExtProber(self.env, self.port, "/dead").start(),
            "agent": R.ExtProber(self.env, self.agent_port, kind="agent",
                                 name="prober-agent").start(),
        }
        timeline = []
        try:
            if delay_within_timeout:
                t_slow, t_slow_end = self.delay_within_timeout()
            for mode, args, reason in faults:
                with self.subTest(fault=mode):
                    timeline.append(self.fault(mode, args, reason))
        finally:
            res = {k: p.stop() for k, p in probes.items()}
        for k, r in res.items():
            H.log("%s probes: %s" % (k, R.summary(r)))
            self.assertEqual([x for x in r if x[2] is None], [],
                             "%s probes that got no answer" % k)

        # Never a false up.
        self.assertEqual([r for r in res["dead"] if r[2] != 503], [],
                         "dead answered other than 503")
        self.assertEqual([r for r in res["agent"]
                          if not r[3].startswith("down #")], [],
                         "the agent of dead answered other than down")
        web = res["web"]
        if delay_within_timeout:
            slow = [r for r in web if t_slow <= r[0] <= t_slow_end]
            self.assertTrue(slow)
            self.assertEqual([r for r in slow if r[2] != 200], [],
                             "web not 200 through a delay within the "
                             "timeout")
        rows = []
        for f in timeline:
            m = f["mode"]
            # The last observation is kept for grace...
            in_grace = [r for r in web
                        if f["t_fault"] <= r[1] < f["t_ok"] + GRACE]
            self.assertTrue(in_grace, "no web probe during grace (%s)" % m)
            self.assertEqual([r for r in in_grace if r[2] != 200], [],
                             "web not 200 during grace under fault %s" % m)
            # ... then down, and down while the fault lasts.
            self.assertLessEqual(f["t_down"] - f["t_fault"],
                                 GRACE + self.timeout + INTERVAL +
                                 1.5 * H.SCALE,
                                 "web went down late under fault %s" % m)
            during = [r for r in web if f["t_down"] <= r[0] <= f["t_clear"]]
            self.assertEqual([r for r in during if r[2] != 503 or
                              "stats unavailable" not in r[3]], [],
                             "web not 503 'stats unavailable' under fault "
                             "%s" % m)
            # The loop never stalls (R.stall: a slow probe now and then
            # is the loaded machine's, not hapwatch's).
            lat = {}
            for k, r in res.items():
                lat[k], worst = R.max_latency(r, f["t_fault"], f["t_clear"])
                why = R.stall(r, MAX_LATENCY, f["t_fault"], f["t_clear"])
                self.assertIsNone(why, "%s probes under fault %s: %s" % (
                    k, m, why))
            rows.append("%-9s %-10s %8.2f %8.2f %6d %8.1f %8.1f %8.1f" % (
                m, f["reason"], f["t_down"] - f["t_fault"],
                f["t_up"] - f["t_clear"], f["errors"], lat["web"] * 1000,
                lat["dead"] * 1000, lat["agent"] * 1000))
        H.log("fault     reason     down(s)    up(s) errors  web(ms) "
              "dead(ms) agent(ms)\n" + "\n".join(rows))
        self.hw.stop()


if __name__ == "__main__":
    H.main()
