"""Operator overrides and the admin interface, against a real HAProxy.

HAProxy has backend app (2 servers) and frontend fe_main; hapwatch has
service web (requires app) and ghost (requires a backend that does not
exist: always down), a health listener (/haproxy_status -> web, /ghost ->
ghost), an agent listener and a TCP listener for web, frontend control of
fe_main by web, and three admin listeners: loopback TCP without a token
(the harness's /status), loopback TCP with a token, and a unix socket
(hapwatch ctl's).

drain/ready/maint through the API and through "hapwatch ctl" must change
all three kinds of answers as DESIGN.md says (503 "drain drained by
operator"; agent "up 0% #drain" / "stopped #maint"; TCP refused) and leave
fe_main serving; ready returns to the verdict (down for ghost). Admin
routes 404 on a health listener; the token is enforced and failures
counted; the unix socket is mode 0660 and a user outside its owner and
group is refused by ctl with "permission denied"; "ctl check" and "ctl
status" exit codes and output; a clear error when the socket is missing.
"""
import json
import os
import socket
import stat

import harness as H
import operate as U
from harness import agent, get, http, tcp_read, tcp_refused, wait_for

TOKEN = "t0ps3cret-token"
HEALTH = "/haproxy_status"


class AdminTest(H.Case):

    def start_world(self):
        env = self.env
        self.app_haproxy()
        self.health = env.port()
        self.ag = env.port()
        self.tcp = env.port()
        self.admin_tok = env.port()
        self.sock = env.path("admin.sock")
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            "services": {
                "web": {"require": [{"backend": "app"}]},
                "ghost": {"require": [{"backend": "no_such_be"}]},
            },
            "listen": [
                {"http": "127.0.0.1:%d" % env.port(), "admin": True},
                {"http": "127.0.0.1:%d" % self.health,
                 "paths": {HEALTH: "web", "/ghost": "ghost"}},
                {"agent": "127.0.0.1:%d" % self.ag, "service": "web"},
                {"tcp": "127.0.0.1:%d" % self.tcp, "service": "web"},
                {"http": "127.0.0.1:%d" % self.admin_tok, "admin": True,
                 "token": TOKEN},
                {"http": "unix:" + self.sock, "admin": True},
            ],
            "frontends": {"fe_main": "web"}}).start()
        self.hw.wait_state("web", "up")
        self.wait_answers("up")

    # ---- what the world answers -------------------------------------------

    def answers(self):
        """(health status, health body, agent reply, tcp open?)"""
        st, body = get(self.health, HEALTH)
        return st, body, agent(self.ag), not tcp_refused(self.tcp)

    def wait_answers(self, state):
        want = {
            "up": (200, "up all conditions hold\n", b"up 100%\n", True),
            "drain": (503, "drain drained by operator\n", b"up 0% #drain\n",
                      False),
            "maint": (503, "maint maint by operator\n", b"stopped #maint\n",
                      False),
        }[state]
        got = wait_for(lambda: self.answers() == want and self.answers(),
                       H.T_STATE, "web's answers to be %r" % (want,))
        if state == "up":
            self.assertEqual(tcp_read(self.tcp), b"up\n")
        svc = self.hw.service("web")
        self.assertEqual(svc["state"], state)
        self.assertEqual(svc["verdict"], "up", "an override never changes "
                         "the verdict")
        self.assertEqual(svc["override"], None if state == "up" else state)
        return got

    def assert_frontend_serves(self):
        """Drain and maint never touch HAProxy's frontends."""
        self.assertEqual(self.hap.row("fe_main", "FRONTEND")["status"], "OPEN")
        st, _ = get(self.fe, "/")
        self.assertEqual(st, 200)
        self.assertEqual(self.hw.status()["frontends"]["fe_main"]["state"],
                         "enabled")

    def post(self, path, token=TOKEN):
        h = {"Authorization": "Bearer " + token} if token else {}
        st, _, body = http("POST", self.admin_tok, path, headers=h)
        return st, body.decode()

    def auth_failures(self):
        _, _, body = http("GET", self.hw.admin_port, "/metrics")
        return U.metric(U.parse_metrics(body.decode()),
                        "hapwatch_connection_errors_total", reason="auth")

    # ---- tests ------------------------------------------------------------

    def test_overrides_api_and_ctl(self):
        self.start_world()
        self.assert_frontend_serves()

        # API, with the token: drain, ready, maint, ready.
        self.assertEqual(self.post("/services/web/drain"),
                         (200, "web drain\n"))
        self.wait_answers("drain")
        self.assert_frontend_serves()
        self.assertEqual(self.post("/services/web/ready"),
                         (200, "web ready\n"))
        self.wait_answers("up")
        self.assertEqual(self.post("/services/web/maint"),
                         (200, "web maint\n"))
        self.wait_answers("maint")
        self.assert_frontend_serves()
        self.assertEqual(self.post("/services/ready"),
                         (200, "all services ready\n"))
        self.wait_answers("up")
        self.assertEqual(self.post("/services/nope/drain")[0], 404)
        self.assertEqual(self.post("/services/web/explode")[0], 404)
        st, _, _ = http("GET", self.admin_tok, "/services/web/drain",
                        headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(st, 405)

        # The same through hapwatch ctl on the unix socket.
        self.assertEqual(U.ctl(self.sock, "drain", "web")[:2],
                         (0, "web drain\n"))
        self.wait_answers("drain")
        self.assert_frontend_serves()
        self.assertEqual(U.ctl(self.sock, "maint", "web")[:2],
                         (0, "web maint\n"))
        self.wait_answers("maint")
        self.assertEqual(U.ctl(self.sock, "ready", "web")[:2],
                         (0, "web ready\n"))
        self.wait_answers("up")
        rc, out, err = U.ctl(self.sock, "drain", "nope")
        self.assertEqual(rc, 3, "an unknown service: could not ask")
        self.assertIn("404", err)

        # No service named: all of them. ready returns each to its verdict.
        self.assertEqual(U.ctl(self.sock, "drain")[:2],
                         (0, "all services drain\n"))
        self.wait_answers("drain")
        self.assertEqual(get(self.health, "/ghost"),
                         (503, "drain drained by operator\n"))
        self.assertEqual(U.ctl(self.sock, "ready")[:2],
                         (0, "all services ready\n"))
        self.wait_answers("up")
        ghost = self.hw.service("ghost")
        self.assertEqual((ghost["state"], ghost["verdict"], ghost["override"]),
                         ("down", "down", None))
        self.assertEqual(get(self.health, "/ghost"),
                         (503, "down no_such_be: no such backend\n"))
        self.hw.stop()

    def test_admin_routes_and_token(self):
        self.start_world()
        # Admin routes exist only on admin listeners.
        for method, path in (("GET", "/status"), ("GET", "/metrics"),
                             ("POST", "/services/web/drain"),
                             ("POST", "/services/drain"),
                             ("POST", "/haproxy/save-state")):
            st, _, _ = http(method, self.health, path)
            self.assertEqual(st, 404, "%s %s on a health listener" % (
                method, path))
        self.assertEqual(self.hw.service("web")["state"], "up")

        # The token: missing or wrong -> 401 (counted), right -> 200.
        before = self.auth_failures()
        st, hdrs, _ = http("GET", self.admin_tok, "/status")
        self.assertEqual(st, 401)
        self.assertEqual(hdrs.get("www-authenticate"), "Bearer")
        st, _, _ = http("GET", self.admin_tok, "/metrics",
                        headers={"Authorization": "Bearer wrong"})
        self.assertEqual(st, 401)
        self.assertEqual(self.post("/services/web/drain", token=None)[0], 401)
        self.assertEqual(self.post("/services/web/drain", token=TOKEN + "x")[0],
                         401)
        self.assertEqual(self.hw.service("web")["state"], "up",
                         "a refused POST changed the state")
        self.assertEqual(self.auth_failures(), before + 4)
        st, _, body = http("GET", self.admin_tok, "/status",
                           headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["services"]["web"]["state"], "up")
        self.assertEqual(self.auth_failures(), before + 4)

        # ctl over TCP: the token from --token or $HAPWATCH_TOKEN.
        url = "http://127.0.0.1:%d" % self.admin_tok
        rc, out, err = U.ctl(url, "status")
        self.assertEqual(rc, 3, "unauthorized: could not ask")
        self.assertIn("unauthorized", err)
        self.assertEqual(U.ctl(url, "check", "web", token=TOKEN)[0], 0)
        rc, out, _ = U.ctl(url, "status", "--json",
                           env={"HAPWATCH_TOKEN": TOKEN})
        self.assertEqual(rc, 0)
        self.assertEqual(json.loads(out)["services"]["web"]["state"], "up")

        # The unix socket: a socket, mode 0660, and nothing else.
        mode = os.stat(self.sock).st_mode
        self.assertTrue(stat.S_ISSOCK(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o660)
        st, _, body = U.unix_http(self.sock, "GET", "/status")
        self.assertEqual(st, 200)
        # Someone outside the socket's owner and group: refused, and told
        # so, whether the directory (mode 0700 here, like /run/hapwatch's
        # 0750) or the socket (0660) stops them.
        nobody = ["/usr/bin/setpriv", "--reuid", "nobody", "--regid",
                  "nogroup", "--clear-groups", H.hapwatch_bin(), "ctl",
                  "-s", self.sock]
        self.assertEqual(stat.S_IMODE(os.stat(self.env.dir).st_mode), 0o700)
        for label in ("directory", "socket"):
            if label == "socket":
                os.chmod(self.env.dir, 0o755)
            for args in (["status"], ["drain", "web"]):
                r = U.run(nobody + args)
                self.assertEqual(r.returncode, 3, "%s: %r" % (label, r))
                self.assertIn("%s: permission denied" % self.sock, r.stderr)
        self.assertEqual(self.hw.service("web")["state"], "up")
        st, _, body = U.unix_http(self.sock, "POST", "/services/web/drain")
        self.assertEqual((st, body), (200, b"web drain\n"))
        self.hw.wait_state("web", "drain")
        self.hw.stop()

    def test_ctl_check_and_status(self):
        self.start_world()
        # check: 0 up; 1 drained or down; 3 unknown (could not ask).
        self.assertEqual(U.ctl(self.sock, "check", "web"), (0, "", ""))
        rc, out, _ = U.ctl(self.sock, "check", "ghost")
        self.assertEqual((rc, out), (1, "down no_such_be: no such backend\n"))
        rc, _, err = U.ctl(self.sock, "check", "nope")
        self.assertEqual(rc, 3)
        self.assertIn('no service "nope"', err)
        U.ctl(self.sock, "drain", "web")
        rc, out, _ = U.ctl(self.sock, "check", "web")
        self.assertEqual((rc, out), (1, "drain drained by operator\n"))
        U.ctl(self.sock, "ready", "web")
        self.assertEqual(U.ctl(self.sock, "check", "web")[0], 0)

        # status: the table, one row per service.
        rc, out, err = U.ctl(self.sock, "status")
        self.assertEqual((rc, err), (0, ""))
        H.log("hapwatch ctl status:\n" + out)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["SERVICE", "STATE", "VERDICT",
                                            "OVERRIDE", "WEIGHT", "SINCE",
                                            "REASON"])
        rows = {l.split()[0]: l.split() for l in lines[1:3]}
        self.assertEqual(rows["web"][1:5], ["up", "up", "-", "100%"])
        self.assertEqual(rows["ghost"][1:5], ["down", "down", "-", "0%"])
        self.assertRegex(rows["web"][5], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(" ".join(rows["ghost"][6:]),
                         "no_such_be: no such backend")
        hap_line = [l for l in lines if l.startswith("HAProxy ")]
        self.assertEqual(len(hap_line), 1, out)
        self.assertIn("via %s: stats fresh, pid %d" % (
            self.hap.stats_url, self.hap.pid()), hap_line[0])

        # status --json: /status itself.
        rc, out, _ = U.ctl(self.sock, "status", "--json")
        self.assertEqual(rc, 0)
        doc = json.loads(out)
        self.assertEqual(set(doc["services"]), {"web", "ghost"})
        self.assertEqual(doc["services"]["web"]["state"], "up")
        self.assertEqual(doc["haproxy"]["pid"], self.hap.pid())
        self.assertEqual(U.ctl(self.sock, "--json", "status")[0], 0)
        self.hw.stop()

        # No daemon: every command could not ask (3), check included (a
        # keepalived script can tell that from a node that is down), and
        # every one says why.
        self.assertFalse(os.path.exists(self.sock),
                         "the admin socket outlived the daemon")
        for args, want in ((("check", "web"), 3), (("status",), 3),
                           (("drain", "web"), 3), (("save-state",), 3)):
            rc, out, err = U.ctl(self.sock, *args)
            self.assertEqual(rc, want, "ctl %s without a daemon" % (args,))
            self.assertIn("%s does not exist: is hapwatch running" %
                          self.sock, err)
        # A socket nobody listens on.
        dead = self.env.path("dead.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(dead)
        s.close()
        rc, _, err = U.ctl(dead, "status")
        self.assertEqual(rc, 3)
        self.assertIn(dead, err)
        # Usage errors.
        self.assertEqual(U.ctl(dead, "frobnicate")[0], 2)
        self.assertEqual(U.ctl(dead, "check")[0], 2)


if __name__ == "__main__":
    H.main()
