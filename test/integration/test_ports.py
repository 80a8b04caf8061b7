"""Ports that close while down: hapwatch's TCP listener and, through the
admin socket, HAProxy's own frontend.

Service web requires backend app (2 servers checked every 100ms). The TCP
listener must refuse connections (ECONNREFUSED) while web is down and
answer "up\\n" again on recovery; frontend fe_main (frontends: {"fe_main":
"web"}) must refuse connections while down, serve on recovery, be disabled
again after an HAProxy reload (which re-enables every frontend) and be
enabled again when hapwatch stops. A frontend that does not exist is an
error in /status, not a crash.
"""
import harness as H
from harness import get, tcp_read, tcp_refused, wait_for


class PortsTest(H.Case):

    def start_world(self, frontends):
        env = self.env
        self.app_haproxy()
        self.tcp = env.port()
        self.hw = self.hapwatch({
            # settle 2s: after a reload, HAProxy's servers are UP until their
            # first check; hapwatch must not take that word (and re-enable).
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "2s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [{"tcp": "127.0.0.1:%d" % self.tcp, "service": "web"}],
            "frontends": frontends}).start()

    def fe_status(self):
        return self.hap.row("fe_main", "FRONTEND")["status"]

    def hw_frontend(self, name):
        return self.hw.status()["frontends"][name]

    def tcp_listener(self):
        for l in self.hw.status()["listeners"]:
            if l["kind"] == "tcp":
                return l
        raise AssertionError("no tcp listener in /status")

    def wait_up(self):
        wait_for(lambda: not tcp_refused(self.tcp) and
                 tcp_read(self.tcp) == b"up\n", H.T_STATE,
                 "the TCP listener to open and answer up")
        self.assertEqual(tcp_read(self.tcp), b"up\n")
        self.assertTrue(self.tcp_listener()["open"])
        wait_for(self.serves, H.T_STATE, "fe_main to serve")
        wait_for(lambda: self.hw_frontend("fe_main")["state"] == "enabled",
                 H.T_STATE, "/status to show fe_main enabled")
        self.assertEqual(self.fe_status(), "OPEN")

    def serves(self):
        st, body = get(self.fe, "/")
        return (st, body) if st == 200 else None

    def wait_down(self):
        wait_for(lambda: tcp_refused(self.tcp), H.T_STATE,
                 "the TCP listener to refuse connections")
        wait_for(lambda: tcp_refused(self.fe), H.T_STATE,
                 "fe_main to refuse connections")
        self.assertEqual(self.fe_status(), "PAUSED")
        # HAProxy acts before hapwatch reads its reply: wait for /status.
        wait_for(lambda: self.hw_frontend("fe_main")["state"] == "disabled",
                 H.T_STATE, "/status to show fe_main disabled")
        st = self.hw.status()
        self.assertEqual(st["services"]["web"]["state"], "down")
        self.assertFalse(self.tcp_listener()["open"])

    def test_close_and_reopen(self):
        self.start_world({"fe_main": "web"})
        self.wait_up()

        self.b.stop("s1", "s2")
        self.wait_down()
        self.b.start("s1", "s2")
        self.wait_up()

        # Down again, then HAProxy reloads: the new process has fe_main
        # open, hapwatch must disable it there.
        self.b.stop("s1", "s2")
        self.wait_down()
        old = self.hap.pid()
        new = self.hap.reload()
        self.assertNotEqual(old, new)
        st = wait_for(lambda: (lambda st: st if st["haproxy"]["pid"] == new
                               else None)(self.hw.status()), H.T_STATE,
                      "hapwatch to see the new HAProxy pid %d" % new)
        # The new process is settling (settle 2s), and /status says for
        # how much longer; then it is over.
        settling = st["haproxy"]["settling_ms"]
        self.assertTrue(0 < settling <= 2000, settling)
        wait_for(lambda: self.hw.status()["haproxy"]["settling_ms"] == 0,
                 H.T_STATE, "the new process to be settled")
        wait_for(lambda: self.fe_status() == "PAUSED", H.T_STATE,
                 "fe_main to be paused in the new HAProxy process")
        self.assertTrue(tcp_refused(self.fe))
        wait_for(lambda: self.hw_frontend("fe_main")["state"] == "disabled",
                 H.T_STATE, "/status to show fe_main disabled again")
        st = self.hw.status()
        self.assertEqual(st["haproxy"]["reloads"], 1)
        self.assertEqual(st["services"]["web"]["state"], "down")
        self.assertTrue(tcp_refused(self.tcp))

        # hapwatch stops while down: the frontend it disabled is enabled
        # before it exits.
        self.hw.stop()
        self.assertEqual(self.fe_status(), "OPEN")
        self.assertFalse(tcp_refused(self.fe),
                         "fe_main still refuses after hapwatch stopped")
        self.assertTrue(tcp_refused(self.tcp))

    def test_unknown_frontend(self):
        self.start_world({"fe_main": "web", "fe_missing": "web"})

        def reported():
            f = self.hw_frontend("fe_missing")
            return f if f.get("error") else None
        f = wait_for(reported, H.T_STATE, "/status to report fe_missing's "
                     "error")
        H.log("fe_missing in /status: %r" % f)
        self.assertEqual(f["state"], "error")
        self.assertIn("frontend", f["error"].lower())
        self.wait_up()

        # The error does not keep fe_main from following web.
        self.b.stop("s1", "s2")
        self.wait_down()
        self.assertTrue(self.hw_frontend("fe_missing")["error"])
        self.b.start("s1", "s2")
        self.wait_up()
        self.hw.proc.check_alive()
        self.hw.stop()


if __name__ == "__main__":
    H.main()
