"""Differential test: hapwatch's nbsrv against HAProxy's own nbsrv().

Two backends of 3 active + 2 backup servers, b_all with `option
allbackups` (hapwatch condition "allbackups": true) and b_one without.
HAProxy's nbsrv(be) is read from a frontend that returns
`%[nbsrv(be)]`; hapwatch's from /status services.X.conditions[0].nbsrv.

The servers have no health checks, so nothing changes behind the test's
back: every change is a CLI operation (set server state
maint|drain|ready, set weight 0|100%, set server health down|up|stopping,
disable|enable server), a deterministic prelude through the interesting
cases, then >= 200 random ones (seeded: HAPWATCH_SEED=<n> replays a run),
then everything down. After each operation the test waits for a hapwatch
poll sent after it completed (the `polls` counter: /status last_poll has
one-second resolution) and the two must agree, as must the service's
verdict (up iff nbsrv >= 1) and, for b_one, whose server rows hapwatch
reads for min_percent, the capacity (100 * HAProxy's act / 3).

A second, smaller run uses real health checks (fall 2 rise 2, so the
transitional "UP 1/2" and "DOWN 1/2" states occur) on backend processes
that are killed and revived at random: there HAProxy changes on its own,
so the comparison is retried until HAProxy's answer is the same before
and after a fresh hapwatch poll, and then hapwatch must agree.
"""
import os
import random

import harness as H

BACKENDS = ("b_all", "b_one")
ACTIVES = ("s1", "s2", "s3")
BACKUPS = ("b1", "b2")
SERVERS = ACTIVES + BACKUPS
SVC = {"b_all": "s_all", "b_one": "s_one"}
RANDOM_OPS = 200
CHECKED_OPS = 40


class NbsrvDiffTest(H.Case):

    def start_world(self):
        env = self.env
        body = ""
        for be in BACKENDS:
            opts = ("option allbackups",) if be == "b_all" else ()
            body += H.hap_backend(be, [env.port() for _ in ACTIVES],
                                  check="", backups=[env.port()
                                                     for _ in BACKUPS],
                                  options=opts)
        self.hap = self.haproxy(body, nbsrv=BACKENDS).start()
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "20ms",
                        "timeout": "1s", "settle": "0s"},
            "services": {
                "s_all": {"require": [{"backend": "b_all",
                                       "allbackups": True}]},
                "s_one": {"require": [{"backend": "b_one"}]},
                "s_cap": {"require": [{"backend": "b_one",
                                       "min_percent": 1}]},
            }}).start()
        self.history = []
        self.seen = set()

    def op(self, cmd):
        self.history.append(cmd)
        self.hap.cli_ok(cmd)

    def compare(self, label):
        """Wait for a poll after the last operation, then compare."""
        self.hw.wait_fresh_poll("a poll after %s" % label)
        stat = {r["pxname"]: r for r in self.hap.show_stat("-1 2 -1")}
        st = self.hw.status()
        got = {}
        for be in BACKENDS:
            hap = self.hap.nbsrv(be)
            act, bck = int(stat[be]["act"]), int(stat[be]["bck"])
            # HAPROXY.md 2: nbsrv = act if act > 0, else allbackups ? bck :
            # (bck ? 1 : 0). Checked here so a difference in HAProxy itself
            # is told apart from one in hapwatch.
            rule = act if act > 0 else (bck if be == "b_all" else min(bck, 1))
            self.assertEqual(hap, rule, "HAProxy's nbsrv(%s)=%d differs from "
                             "HAPROXY.md's rule (act=%d bck=%d) after %s" % (
                                 be, hap, act, bck, label))
            svc = st["services"][SVC[be]]
            cond = svc["conditions"][0]
            self.assertEqual(cond["backend"], be)
            ctx = "%s after %s (act=%d bck=%d; seed %s; last ops %r)" % (
                be, label, act, bck, self.seed, self.history[-5:])
            self.assertEqual(cond["nbsrv"], hap, "nbsrv of " + ctx)
            self.assertEqual(svc["verdict"], "up" if hap >= 1 else "down",
                             "verdict of " + ctx)
            if be == "b_one":
                cap = st["services"]["s_cap"]["conditions"][0]
                self.assertEqual(cap["nbsrv"], hap, "s_cap nbsrv of " + ctx)
                self.assertEqual(cap["servers"], 3, ctx)
                self.assertEqual(cap["capacity"], 100 * act // 3,
                                 "capacity of " + ctx)
            got[be] = (hap, act, bck)
        self.seen.add((got["b_all"], got["b_one"]))
        return got

    def test_random_operations(self):
        self.seed = int(os.environ.get("HAPWATCH_SEED") or
                        random.SystemRandom().randrange(1 << 32))
        H.log("seed %d (HAPWATCH_SEED=%d replays this run)" % (
            self.seed, self.seed))
        rng = random.Random(self.seed)
        self.start_world()
        self.assertEqual(self.compare("start"),
                         {be: (3, 3, 2) for be in BACKENDS})

        # The cases that matter, in order: only backups left (allbackups
        # counts both, the other one 1), then one backup, then none.
        for be in BACKENDS:
            for s in ACTIVES:
                self.op("set server %s/%s state maint" % (be, s))
        got = self.compare("all actives in maint")
        self.assertEqual(got, {"b_all": (2, 0, 2), "b_one": (1, 0, 2)})
        for be in BACKENDS:
            self.op("set server %s/b1 state drain" % be)
        got = self.compare("b1 drained")
        self.assertEqual(got, {"b_all": (1, 0, 1), "b_one": (1, 0, 1)})
        for be in BACKENDS:
            self.op("set weight %s/b2 0" % be)
        got = self.compare("b2 at weight 0")
        self.assertEqual(got, {"b_all": (0, 0, 0), "b_one": (0, 0, 0)})
        for be in BACKENDS:
            # (In this order: leaving maint makes an unchecked server UP.)
            self.op("set server %s/s2 state ready" % be)
            self.op("set server %s/s2 health stopping" % be)
        got = self.compare("s2 ready but NOLB")
        self.assertEqual(got, {"b_all": (0, 0, 0), "b_one": (0, 0, 0)})
        for be in BACKENDS:
            self.op("set server %s/s2 health up" % be)
        got = self.compare("s2 up")
        self.assertEqual(got, {"b_all": (1, 1, 0), "b_one": (1, 1, 0)})
        for be in BACKENDS:
            for s in SERVERS:
                self.op("set server %s/%s state ready" % (be, s))
                self.op("set weight %s/%s 100%%" % (be, s))
        self.assertEqual(self.compare("all ready"),
                         {be: (3, 3, 2) for be in BACKENDS})

        # Random operations, biased toward good states so that every count
        # of usable servers shows up.
        for i in range(RANDOM_OPS):
            be = rng.choice(BACKENDS)
            srv = rng.choice(SERVERS)
            kind = rng.randrange(4)
            if kind == 0:
                cmd = "set server %s/%s state %s" % (be, srv, rng.choice(
                    ("ready", "ready", "ready", "maint", "drain")))
            elif kind == 1:
                cmd = "set weight %s/%s %s" % (be, srv, rng.choice(
                    ("100%", "100%", "100%", "0")))
            elif kind == 2:
                cmd = "set server %s/%s health %s" % (be, srv, rng.choice(
                    ("up", "up", "up", "down", "stopping")))
            else:
                cmd = "%s server %s/%s" % (rng.choice(
                    ("enable", "enable", "disable")), be, srv)
            self.op(cmd)
            self.compare("op %d %r" % (i, cmd))

        # Finally everything down, every way at once.
        for be in BACKENDS:
            for s in SERVERS:
                self.op("set server %s/%s health down" % (be, s))
        got = self.compare("everything down")
        self.assertEqual(got, {be: (0, 0, 0) for be in BACKENDS})
        for be in BACKENDS:
            self.assertEqual(self.hw.service(SVC[be])["state"], "down")
        H.log("%d operations, %d distinct (b_all, b_one) states seen: %s" % (
            len(self.history), len(self.seen), sorted(self.seen)))
        self.assertGreaterEqual(len(self.history), RANDOM_OPS)
        self.hw.stop()

    def test_killed_backends(self):
        self.seed = int(os.environ.get("HAPWATCH_SEED") or
                        random.SystemRandom().randrange(1 << 32))
        H.log("seed %d (HAPWATCH_SEED=%d replays this run)" % (
            self.seed, self.seed))
        rng = random.Random(self.seed)
        b = self.backends()
        act = b.add_many("s", 3)
        bck = b.add_many("b", 2)
        names = ["s1", "s2", "s3", "b1", "b2"]
        self.hap = self.haproxy(
            H.hap_backend("chk", act, backups=bck,
                          check="check inter 100ms fall 2 rise 2"),
            nbsrv=["chk"]).start()
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "50ms",
                        "timeout": "1s", "settle": "0s"},
            "services": {"c": {"require": [{"backend": "chk",
                                            "min_percent": 1}]}}}).start()
        seen = set()

        def agree():
            h1 = self.hap.nbsrv("chk")
            a1 = self.hap.row("chk", "BACKEND")["act"]
            self.hw.wait_fresh_poll()
            cond = self.hw.service("c")["conditions"][0]
            h2 = self.hap.nbsrv("chk")
            a2 = self.hap.row("chk", "BACKEND")["act"]
            got = (h1, h2, cond["nbsrv"], a1, a2, cond["capacity"])
            if h1 == h2 == cond["nbsrv"] and a1 == a2 and \
                    cond["capacity"] == 100 * int(a1) // 3:
                return got
            return None

        for i in range(CHECKED_OPS):
            name = rng.choice(names)
            if b.running(name):
                b.stop(name)
            else:
                b.start(name)
            label = "op %d (%s %s; seed %d)" % (
                i, "revive" if b.running(name) else "kill", name, self.seed)
            # At once (HAProxy may be in the middle of its checks), then
            # once HAProxy has taken the change in.
            got = H.wait_for(agree, H.T_STATE, "hapwatch to agree with "
                             "HAProxy's nbsrv after " + label)
            seen.add(got[0])
            want = "UP" if b.running(name) else "DOWN"
            H.wait_for(lambda: self.hap.row("chk", name)["status"] == want,
                       H.T_STATE, "HAProxy to see %s %s" % (name, want))
            got = H.wait_for(agree, H.T_STATE, "hapwatch to agree with "
                             "HAProxy's nbsrv after it saw " + label)
            seen.add(got[0])
        b.stop(*names)
        H.wait_for(lambda: all(self.hap.row("chk", n)["status"] == "DOWN"
                               for n in names), H.T_STATE,
                   "HAProxy to see every server DOWN")
        got = H.wait_for(agree, H.T_STATE, "agreement with every server dead")
        self.assertEqual(got[0], 0)
        self.hw.wait_state("c", "down")
        H.log("%d kill/revive operations, nbsrv values seen: %s" % (
            CHECKED_OPS, sorted(seen)))
        self.hw.stop()


if __name__ == "__main__":
    H.main()
