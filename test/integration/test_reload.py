"""SIGHUP reloads under load, refused reloads, and what a reload keeps.

Service web requires backend app of a real HAProxy. Two probers hammer
the health path, a new connection per request as load balancers do, while
hapwatch reloads 20 times, alternating two valid configs that differ (B
adds a path /extra): every probe must get 200, none a refused connection
or an error, and /extra must follow the config in force.

Then: an invalid config (a syntax error, an unknown key, a listener that
cannot bind) is refused (logged, counted in /status config.reload_failures
and in /metrics) and the running config keeps serving; an operator's
drain survives a reload; a listener whose address changed moves (new port
answers, old port refused).
"""
import signal
import socket

import harness as H
import operate as U
from harness import get, http, tcp_refused, wait_for

HEALTH = "/haproxy_status"
RELOADS = 20


class ReloadTest(H.Case):

    def start_world(self, tune=None):
        """HAProxy, hapwatch up; tune(conf), if given, edits the config
        first."""
        env = self.env
        self.b = self.backends()
        ports = self.b.add_many("s", 2)
        self.hap = self.haproxy(H.hap_backend("app", ports)).start()
        self.health = env.port()
        self.admin = env.port()
        conf = self.config(self.health, extra=False)
        if tune is not None:
            tune(conf)
        self.hw = self.hapwatch(conf).start()
        self.hw.wait_state("web", "up")
        self.assertEqual(get(self.health, HEALTH),
                         (200, "up all conditions hold\n"))

    def config(self, health_port, extra, **more):
        paths = {HEALTH: "web"}
        if extra:
            paths["/extra"] = "web"
        c = {
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}],
                                 "up_after": "0s" if extra else "1s"}},
            "listen": [
                {"http": "127.0.0.1:%d" % self.admin, "admin": True},
                {"http": "127.0.0.1:%d" % health_port, "paths": paths},
            ]}
        c.update(more)
        return c

    def write(self, obj_or_text):
        if isinstance(obj_or_text, str):
            with open(self.hw.cfg, "w") as f:
                f.write(obj_or_text)
        else:
            U.write_json(self.hw.cfg, obj_or_text)

    def config_status(self):
        return self.hw.status()["config"]

    def hup(self, want_reloads=None, want_failures=None):
        """SIGHUP, then wait until /status counts the outcome."""
        self.hw.proc.signal(signal.SIGHUP)

        def done():
            self.hw.proc.check_alive()
            c = self.config_status()
            return ((want_reloads is None or c["reloads"] == want_reloads) and
                    (want_failures is None or
                     c["reload_failures"] == want_failures)) and c
        return wait_for(done, H.T_STATE, "reloads=%s failures=%s" % (
            want_reloads, want_failures))

    def test_reload_under_load(self):
        self.start_world()
        probers = [H.Prober(self.health, HEALTH, interval=0).start()
                   for _ in range(2)]
        try:
            for i in range(1, RELOADS + 1):
                extra = i % 2 == 1
                self.write(self.config(self.health, extra))
                self.hup(want_reloads=i, want_failures=0)
                st, _ = get(self.health, "/extra")
                self.assertEqual(st, 200 if extra else 404,
                                 "/extra after reload %d" % i)
        finally:
            results = [r for p in probers for r in p.stop()]
        bad = [r for r in results if r[2] != 200]
        H.log("%d probes across %d reloads, %d not 200" % (
            len(results), RELOADS, len(bad)))
        self.assertEqual(bad[:5], [], "probes that failed during reloads")
        self.assertGreaterEqual(len(results), 4 * RELOADS)
        self.assertEqual(self.hw.service("web")["state"], "up")
        self.assertEqual(self.config_status()["reload_failures"], 0)
        self.hw.stop()

    def test_refused_reloads_keep_serving(self):
        self.start_world()
        good = self.config(self.health, extra=True)
        self.write(good)
        self.hup(want_reloads=1, want_failures=0)
        self.assertEqual(get(self.health, "/extra")[0], 200)

        # A syntax error.
        self.write('{ "services": { "web": \n')
        self.hup(want_reloads=1, want_failures=1)
        line = U.log_has(self.hw.proc, r"reload: the new config is invalid; "
                         r"keeping the running config")
        self.assertIsNotNone(line, "no log line for the refused reload")
        self.assertIsNotNone(U.log_has(
            self.hw.proc, r"reload: %s:\d+:\d+: " % self.hw.cfg))
        # An unknown key: named with its path.
        bad = self.config(self.health, extra=False)
        bad["services"]["web"]["up_aftr"] = "1s"
        self.write(bad)
        self.hup(want_reloads=1, want_failures=2)
        self.assertIsNotNone(U.log_has(
            self.hw.proc, r'reload: .*services\.web: unknown key "up_aftr"'))
        # A listener that cannot bind: a port some other socket listens on.
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        bad = self.config(self.health, extra=False)
        bad["listen"].append({"http": "127.0.0.1:%d" % busy.getsockname()[1],
                              "paths": {"/x": "web"}})
        self.write(bad)
        self.hup(want_reloads=1, want_failures=3)
        self.assertIsNotNone(U.log_has(
            self.hw.proc, r"reload: http listener: .*keeping the running "
            r"config"))

        # The running config (with /extra) still serves, whole.
        self.assertEqual(get(self.health, HEALTH),
                         (200, "up all conditions hold\n"))
        self.assertEqual(get(self.health, "/extra")[0], 200)
        _, _, body = http("GET", self.admin, "/metrics")
        m = U.parse_metrics(body.decode())
        self.assertEqual(U.metric(m, "hapwatch_config_reload_failures_total"),
                         3.0)
        self.assertEqual(U.metric(m, "hapwatch_config_reloads_total"), 1.0)

        # A good file again is taken.
        self.write(self.config(self.health, extra=False))
        self.hup(want_reloads=2, want_failures=3)
        self.assertEqual(get(self.health, "/extra")[0], 404)
        self.hw.stop()

    def test_override_survives_and_listener_moves(self):
        self.start_world()
        st, _, body = http("POST", self.admin, "/services/web/drain")
        self.assertEqual(st, 200, body)
        self.assertEqual(get(self.health, HEALTH),
                         (503, "drain drained by operator\n"))

        # Reload with a changed config: still drained.
        self.write(self.config(self.health, extra=True))
        self.hup(want_reloads=1, want_failures=0)
        svc = self.hw.service("web")
        self.assertEqual((svc["state"], svc["override"]), ("drain", "drain"))
        self.assertEqual(get(self.health, HEALTH),
                         (503, "drain drained by operator\n"))
        self.assertEqual(get(self.health, "/extra"),
                         (503, "drain drained by operator\n"))

        # The health listener moves to another port.
        moved = self.env.port()
        self.write(self.config(moved, extra=True))
        self.hup(want_reloads=2, want_failures=0)
        self.assertEqual(get(moved, HEALTH),
                         (503, "drain drained by operator\n"))
        self.assertTrue(tcp_refused(self.health),
                        "the old address still listens")
        addrs = [l["address"] for l in self.hw.status()["listeners"]]
        self.assertIn("127.0.0.1:%d" % moved, addrs)
        self.assertNotIn("127.0.0.1:%d" % self.health, addrs)

        # ready: back to the verdict, on the new port.
        st, _, _ = http("POST", self.admin, "/services/web/ready")
        self.assertEqual(st, 200)
        self.assertEqual(get(moved, HEALTH), (200, "up all conditions hold\n"))
        self.hw.stop()

    def test_counters_survive_reload(self):
        """A reload is not a restart: every Prometheus counter keeps
        counting (a counter may only go back to 0 when the process
        restarts), and /status keeps the last state file save."""
        env = self.env

        def tune(conf):
            conf["haproxy"].update({"state_file": env.path("server-state"),
                                    "state_file_interval": "1h"})
            conf["notify"] = [{"track_file": env.path("web.track")}]
        self.start_world(tune)
        # Drive some counters: transitions and track file writes, a state
        # file save, HTTP answers.
        for action in ("drain", "ready"):
            st, _, _ = http("POST", self.admin, "/services/web/" + action)
            self.assertEqual(st, 200)
        st, _, body = http("POST", self.admin, "/haproxy/save-state")
        self.assertEqual((st, body), (202, b"save 1 requested\n"))
        wait_for(lambda: self.hw.status()["state_file"]["saved"] == 1,
                 H.T_STATE, "the state file save")

        def counters():
            _, _, body = http("GET", self.admin, "/metrics")
            return {k: v for k, v in U.parse_metrics(body.decode()).items()
                    if k[0].endswith(("_total", "_count", "_bucket"))}
        before = counters()
        sf_before = self.hw.status()["state_file"]
        self.hup(want_reloads=1, want_failures=0)
        after = counters()
        sf_after = self.hw.status()["state_file"]
        went_back = sorted("%s%s: %g -> %g" % (k[0], dict(k[1]) or "", v,
                                               after.get(k, float("nan")))
                           for k, v in before.items()
                           if not after.get(k, -1) >= v)
        self.assertEqual(went_back, [], "counters that went back at a "
                         "config reload")
        self.assertEqual((sf_after["saved"], sf_after["last_save"]),
                         (sf_before["saved"], sf_before["last_save"]),
                         "/status forgot the last state file save")
        self.hw.stop()


if __name__ == "__main__":
    H.main()
