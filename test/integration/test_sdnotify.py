"""sd_notify: what systemd (Type=notify, WatchdogSec=) would receive.

hapwatch runs with NOTIFY_SOCKET pointing at a datagram socket this test
owns, and WATCHDOG_USEC=400000. Its stats socket is a relay in front of a
real HAProxy that holds every connection until the test opens it, so the
test decides when the first poll is answered:

* READY=1 must not come while the first poll is held (the listeners
  already answer, "down starting"), and must come after it is answered,
  with a STATUS= line;
* WATCHDOG=1 keeps coming, every ~200ms (half the interval), never a gap
  of 400ms or more;
* STATUS= follows a service transition;
* RELOADING=1 then READY=1 around SIGHUP;
* STOPPING=1 on SIGTERM, and exit 0.

A WATCHDOG_PID that is not hapwatch's pid turns the watchdog off; with
JOURNAL_STREAM set, log lines carry their syslog priority ("<5>...").
"""
import re
import signal

import harness as H
import operate as U
from harness import get, wait_for

WATCHDOG_USEC = 400000
HEALTH = "/haproxy_status"


class SdNotifyTest(H.Case):

    def start_world(self, env_extra, gated=True):
        env = self.env
        self.b = self.backends()
        ports = self.b.add_many("s", 2)
        self.hap = self.haproxy(H.hap_backend("app", ports)).start()
        self.notify = U.NotifySocket(env.path("notify.sock"))
        self.addCleanup(self.notify.close)
        stats = self.hap.sock
        self.relay = None
        if gated:
            self.relay = U.GatedUnixRelay(env.path("gate.sock"), self.hap.sock)
            self.addCleanup(self.relay.close)
            stats = self.relay.path
        self.health = env.port()
        self.hw = self.hapwatch({
            # A timeout longer than the test holds the first poll: it must
            # be answered, not failed.
            "haproxy": {"stats": "unix:" + stats, "interval": "100ms",
                        "timeout": "10s", "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.health,
                        "paths": {HEALTH: "web"}}]})
        e = {"NOTIFY_SOCKET": self.notify.path}
        e.update(env_extra)
        U.start_hapwatch(self.hw, e, wait=False)

    def watchdogs(self, start=0):
        return [t for _, t, _ in self.notify.find("WATCHDOG=1", start)]

    def test_notify_sequence(self):
        self.start_world({"WATCHDOG_USEC": str(WATCHDOG_USEC)})
        proc = self.hw.proc

        # The first poll is held. The loop runs (watchdog pings arrive),
        # the listeners answer, and READY=1 is not sent.
        wait_for(lambda: proc.check_alive() or self.relay.accepted >= 1,
                 H.T_START, "hapwatch's first poll to reach the relay")
        wait_for(lambda: proc.check_alive() or len(self.watchdogs()) >= 3,
                 H.T_START, "three WATCHDOG=1 while the first poll is held")
        self.assertEqual(get(self.health, HEALTH), (503, "down starting\n"))
        st = self.hw.status()
        self.assertEqual(st["haproxy"]["polls"], 0)
        self.assertEqual(st["services"]["web"]["reason"], "starting")
        self.assertEqual(self.notify.find("READY=1"), [],
                         "READY=1 before the first poll was answered")
        self.assertEqual(self.relay.relayed, 0)

        # Answer it: READY=1 comes after, with a STATUS= line.
        self.relay.open_gate()
        i, t_ready, msg = self.notify.wait("READY=1", proc=proc)
        self.assertGreater(t_ready, self.relay.gate_time)
        self.assertEqual(U.status_field(msg), "1/1 services up", msg)
        self.assertEqual(get(self.health, HEALTH),
                         (200, "up all conditions hold\n"))
        self.assertEqual(len(self.notify.find("READY=1")), 1)

        # The watchdog: every half interval, never a gap of a whole one.
        n0 = len(self.watchdogs())
        wait_for(lambda: proc.check_alive() or
                 len(self.watchdogs()) >= n0 + 10, H.T_STATE,
                 "ten more WATCHDOG=1")
        ts = self.watchdogs()
        gaps = sorted(b - a for a, b in zip(ts, ts[1:]))
        H.log("watchdog gaps: min %.3f median %.3f max %.3f (n=%d)" % (
            gaps[0], gaps[len(gaps) // 2], gaps[-1], len(gaps)))
        self.assertLess(gaps[-1], WATCHDOG_USEC / 1e6,
                        "a watchdog gap of the whole interval or more")
        self.assertGreater(gaps[len(gaps) // 2], 0.1)
        self.assertLess(gaps[len(gaps) // 2], 0.3)

        # A transition updates STATUS=.
        k = self.notify.count()
        self.b.stop("s1", "s2")
        def status_down():
            proc.check_alive()
            for _, m in self.notify.messages(k):
                if (U.status_field(m) or "").startswith("0/1 services up"):
                    return m
            return None
        msg = wait_for(status_down, H.T_STATE, "STATUS=0/1 services up...")
        self.assertRegex(U.status_field(msg),
                         r"^0/1 services up; web down: app: ")
        self.b.start("s1", "s2")
        self.hw.wait_state("web", "up")

        # SIGHUP: RELOADING=1, then READY=1, and the reload is done.
        k = self.notify.count()
        proc.signal(signal.SIGHUP)
        j, t_rel, msg = self.notify.wait("RELOADING=1", k, proc=proc)
        self.assertIsNotNone(U.status_field(msg))
        j2, t_rdy, msg2 = self.notify.wait("READY=1", j + 1, proc=proc)
        self.assertGreaterEqual(t_rdy, t_rel)
        self.assertEqual(U.status_field(msg2), "1/1 services up")
        wait_for(lambda: self.hw.status()["config"]["reloads"] == 1,
                 H.T_STATE, "/status to count the reload")
        # The watchdog goes on after it.
        n1 = len(self.watchdogs())
        wait_for(lambda: proc.check_alive() or len(self.watchdogs()) >= n1 + 3,
                 H.T_STATE, "WATCHDOG=1 after the reload")

        # SIGTERM: STOPPING=1, and a clean exit.
        k = self.notify.count()
        rc = U.terminate_rc(proc)
        self.assertEqual(rc, 0)
        # The datagram was sent before the exit, but the reader thread may
        # not have taken it off the socket yet: wait for it, then count.
        self.notify.wait("STOPPING=1", k)
        self.assertEqual(len(self.notify.find("STOPPING=1", k)), 1)

    def test_sighup_before_first_poll(self):
        """A SIGHUP while the first poll is still held reloads the config,
        but must not send READY=1: the first poll has not answered."""
        self.start_world({"WATCHDOG_USEC": str(WATCHDOG_USEC)})
        proc = self.hw.proc
        wait_for(lambda: proc.check_alive() or self.relay.accepted >= 1,
                 H.T_START, "hapwatch's first poll to reach the relay")
        self.hw.wait_listening()
        proc.signal(signal.SIGHUP)
        wait_for(lambda: self.hw.status()["config"]["reloads"] == 1,
                 H.T_STATE, "the reload")
        # Datagrams arrive in order and the reload sends all its messages
        # from one callback: once a WATCHDOG=1 that came after RELOADING=1
        # is here, everything the reload sent is here too.
        j, _, _ = self.notify.wait("RELOADING=1", proc=proc)
        self.notify.wait("WATCHDOG=1", j + 1, proc=proc)
        self.assertEqual(self.relay.relayed, 0)
        self.assertEqual(self.hw.status()["haproxy"]["polls"], 0)
        self.assertEqual(
            [m for _, _, m in self.notify.find("READY=1")], [],
            "READY=1 sent by a reload before the first poll answered")
        self.relay.open_gate()
        _, t, msg = self.notify.wait("READY=1", proc=proc)
        self.assertGreater(t, self.relay.gate_time)
        self.assertEqual(U.status_field(msg), "1/1 services up")

    def test_watchdog_for_another_pid_and_journal(self):
        # WATCHDOG_PID names another process: no WATCHDOG=1 at all, while
        # READY=1 still comes. JOURNAL_STREAM set (stderr is the journal):
        # every log line starts with its syslog priority.
        self.start_world({"WATCHDOG_USEC": str(WATCHDOG_USEC),
                          "WATCHDOG_PID": "1",
                          "JOURNAL_STREAM": "8:123456"}, gated=False)
        proc = self.hw.proc
        self.notify.wait("READY=1", proc=proc)
        self.hw.wait_listening()
        # Ten polls at 100ms: more than a second of loop, in which the
        # (1s) housekeeping timer has run at least once.
        n = self.hw.polls()
        wait_for(lambda: proc.check_alive() or self.hw.polls() >= n + 12,
                 H.T_STATE, "twelve more polls")
        self.assertEqual(self.watchdogs(), [])
        self.assertEqual(U.terminate_rc(proc), 0)
        with open(proc.log_path) as f:
            lines = [l for l in f.read().splitlines()
                     if not l.startswith("==== ")]
        self.assertTrue(lines)
        bad = [l for l in lines if not re.match(r"^<[3-7]>\S", l)]
        self.assertEqual(bad, [], "log lines without a priority prefix")
        self.assertTrue(any(re.match(r"^<5>hapwatch \S+ started: ", l)
                            for l in lines), lines[:5])
        self.assertTrue(any(re.match(r"^<7>", l) for l in lines))
        self.assertFalse(any("hapwatch: " in l[:12] for l in lines))


if __name__ == "__main__":
    H.main()
