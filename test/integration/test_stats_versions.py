"""What changed in HAProxy's stats between versions, live on the HAProxy
under test (HAPWATCH_HAPROXY=host|3.0|3.2|3.4), hapwatch against HAProxy's
own nbsrv() (an lf-string frontend, harness.HAProxy(nbsrv=...)):

* 3.4's `unpublish backend`: the backend's status becomes "UP (UNPUB)"
  ("DOWN (UNPUB)"), use_backend no longer sends traffic there, but nbsrv()
  counts its servers as before, and so must hapwatch (nbsrv, capacity,
  verdict); `publish backend` undoes it. Before 3.4 the command does not
  exist (an unknown command, nothing changes).
* Right after start, before a server's first health check, 2.6-3.2 show
  it "UP 1/3" and 3.4 "UP -1/3" (rise 2 fall 3); HAProxy counts it usable
  either way, so hapwatch's capacity is 100 and a min_percent 100 service
  is up. The first checks are spread over the check interval (5 min here),
  which holds that state still while the test looks.
"""
import harness as H
from harness import get, wait_for

CHK = "check inter 100ms fall 1 rise 1"


class StatsVersionsTest(H.Case):

    def compare(self, hw, hap, svc_backend, what):
        """hapwatch's nbsrv and verdict of each service against HAProxy's
        nbsrv(), read before and after a fresh poll until both agree."""
        def steady():
            before = {be: hap.nbsrv(be) for be in svc_backend.values()}
            hw.wait_fresh_poll("a poll after %s" % what)
            st = hw.status()["services"]
            after = {be: hap.nbsrv(be) for be in svc_backend.values()}
            return (st, before) if before == after else None
        st, want = wait_for(steady, H.T_STATE, "HAProxy to hold still "
                            "around a poll after %s" % what)
        for svc, be in svc_backend.items():
            c = st[svc]["conditions"][0]
            self.assertEqual(c["nbsrv"], want[be], "%s/%s after %s: %r" % (
                svc, be, what, st[svc]))
            pct = c.get("min_percent") or 0
            up = want[be] >= 1 and (pct == 0 or c["capacity"] >= pct)
            self.assertEqual(st[svc]["verdict"], "up" if up else "down",
                             st[svc])
        return st, want

    def status(self, hap, be):
        return hap.row(be, "BACKEND")["status"]

    def test_unpublished_backend(self):
        b = self.backends()
        up = b.add_many("u", 2)
        closed = self.env.port()
        backends = {"pub": (up + [closed], ()), "unp": (up + [closed], ()),
                    "unp_down": ([closed], ()),
                    "unp_bk": ([closed], up[:1]), "unp_empty": ([], ())}
        fe = self.env.port()
        body = "".join(H.hap_backend(be, act, check=CHK, backups=bck)
                       for be, (act, bck) in backends.items())
        # /unp goes to unp while it is published, else to "none" (503).
        body += ("backend none\n"
                 "frontend fe\n    bind 127.0.0.1:%d\n"
                 "    use_backend unp if { path /unp }\n"
                 "    default_backend none\n" % fe)
        hap = self.haproxy(body, nbsrv=list(backends)).start()
        wait_for(lambda: hap.nbsrv("pub") == 2 and hap.nbsrv("unp") == 2 and
                 hap.nbsrv("unp_bk") == 1 and hap.nbsrv("unp_down") == 0,
                 H.T_STATE, "the first health checks")
        svc = {"s_" + be: be for be in backends}
        conf = {"haproxy": {"stats": hap.stats_url, "interval": "50ms",
                            "timeout": "2s", "settle": "0s"},
                "services": {s: {"require": [{"backend": be}]}
                             for s, be in svc.items()}}
        # Capacity needs server rows: "show stat unp 6 -1".
        conf["services"]["s_unp"]["require"][0]["min_percent"] = 50
        conf["services"]["s_pub"]["require"][0]["min_percent"] = 50
        hw = self.hapwatch(conf).start()
        st, _ = self.compare(hw, hap, svc, "start")
        self.assertEqual(st["s_unp"]["conditions"][0]["capacity"], 66)
        self.assertEqual(get(fe, "/unp")[0], 200)

        unpub = ("unp", "unp_down", "unp_bk", "unp_empty")
        if H.haproxy_version() < (3, 4):
            for be in unpub:
                out = hap.cli("unpublish backend %s" % be)
                self.assertRegex(out, r"^Unknown command")
            st2, _ = self.compare(hw, hap, svc, "unknown unpublish")
            self.assertEqual(self.status(hap, "unp"), "UP")
            return

        for be in unpub:
            self.assertEqual(hap.cli("unpublish backend %s" % be),
                             "Backend unpublished.\n\n")
        self.assertEqual(self.status(hap, "unp"), "UP (UNPUB)")
        self.assertEqual(self.status(hap, "unp_down"), "DOWN (UNPUB)")
        self.assertEqual(self.status(hap, "unp_bk"), "UP (UNPUB)")
        self.assertEqual(self.status(hap, "unp_empty"), "UP (UNPUB)")
        # No traffic for it any more...
        wait_for(lambda: get(fe, "/unp")[0] == 503, H.T_STATE,
                 "use_backend to skip the unpublished backend")
        # ... but HAProxy's nbsrv() counts it as before, and so does
        # hapwatch.
        st, want = self.compare(hw, hap, svc, "unpublish")
        self.assertEqual(want, {"pub": 2, "unp": 2, "unp_down": 0,
                                "unp_bk": 1, "unp_empty": 0})
        self.assertEqual(st["s_unp"]["conditions"][0]["capacity"], 66)
        self.assertIn("no server configured", st["s_unp_empty"]["reason"])
        self.assertEqual(st["s_unp_down"]["verdict"], "down")
        # A server of the unpublished backend goes: counted as usual.
        hap.cli_ok("set server unp/s1 state maint")
        st, want = self.compare(hw, hap, svc, "unp/s1 maint")
        self.assertEqual(want["unp"], 1)
        self.assertEqual(st["s_unp"]["conditions"][0]["capacity"], 33)
        self.assertIn("need 50%", st["s_unp"]["reason"])
        hap.cli_ok("set server unp/s1 state ready")
        self.assertEqual(hap.cli("publish backend unp"),
                         "Backend published.\n\n")
        self.assertEqual(self.status(hap, "unp"), "UP")
        wait_for(lambda: get(fe, "/unp")[0] == 200, H.T_STATE,
                 "traffic to the published backend")
        self.compare(hw, hap, svc, "publish")

    def test_before_the_first_checks(self):
        b = self.backends()
        up = b.add_many("u", 4)
        # rise 2 fall 3 (the defaults); HAProxy spreads the first checks
        # over inter: the first server at once, the others 75 s apart.
        hap = self.haproxy(H.hap_backend("slow", up, check="check inter 5m"),
                           nbsrv=["slow"]).start()
        first = "UP -1/3" if H.haproxy_version() >= (3, 4) else "UP 1/3"
        hw = self.hapwatch({
            "haproxy": {"stats": hap.stats_url, "interval": "50ms",
                        "timeout": "2s", "settle": "0s"},
            "services": {"s": {"require": [{"backend": "slow",
                                            "min_percent": 100}]}}}).start()

        def unchecked():
            return [r["svname"] for r in hap.show_stat("slow 4 -1")
                    if r["status"] == first]
        # One server may have had its first check at once.
        self.assertGreaterEqual(len(unchecked()), 3,
                                hap.show_stat("slow 4 -1"))
        st, want = self.compare(hw, hap, {"s": "slow"}, "start")
        # Still before their first check after hapwatch looked.
        self.assertGreaterEqual(len(unchecked()), 3,
                                hap.show_stat("slow 4 -1"))
        self.assertEqual(want, {"slow": 4})
        self.assertEqual(hap.row("slow", "BACKEND")["act"], "4")
        self.assertEqual(st["s"]["conditions"][0]["capacity"], 100,
                         st["s"])
        self.assertEqual(st["s"]["state"], "up", st["s"])


if __name__ == "__main__":
    H.main()
