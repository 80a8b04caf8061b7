"""Liveness beside readiness (conf/examples/liveness.json's shape):
{"haproxy": "alive"} holds while HAProxy's stats are fresh and the process
answering is not stopping. A drain takes /readyz out, not /livez; HAProxy
gone takes both out once grace is over; back, both return.
"""
import harness as H
import operate as U
from harness import wait_for


class LivenessTest(H.Case):

    def test_livez_and_readyz(self):
        env = self.env
        b = self.backends()
        hap = self.haproxy(H.hap_backend("webapp", b.add_many("s", 1)))
        hap.start()
        port = env.port()
        hw = self.hapwatch({
            "haproxy": {"stats": hap.stats_url, "interval": "100ms",
                        "settle": "0s", "grace": "500ms"},
            "services": {"live": {"require": [{"haproxy": "alive"}]},
                         "web": {"require": [{"backend": "webapp"}]}},
            "listen": [{"http": "127.0.0.1:%d" % port,
                        "paths": {"/livez": "live", "/readyz": "web"}}]})
        hw.start()
        hw.wait_state("web", "up")
        hw.wait_state("live", "up")
        self.assertEqual(H.get(port, "/livez"), (200, "up all conditions hold\n"))
        self.assertEqual(H.get(port, "/readyz")[0], 200)
        admin = "http://127.0.0.1:%d" % hw.admin_port
        self.assertEqual(U.ctl(admin, "drain", "web")[0], 0)
        self.assertEqual(H.get(port, "/readyz")[0], 503)
        self.assertEqual(H.get(port, "/livez")[0], 200)
        self.assertEqual(U.ctl(admin, "ready", "web")[0], 0)
        # The backend's servers down: not ready, still alive.
        b.stop("s1")
        hw.wait_state("web", "down")
        self.assertEqual(H.get(port, "/livez")[0], 200)
        # HAProxy gone: neither, once grace is over.
        hap.stop()
        hw.wait_state("live", "down")
        self.assertEqual(H.get(port, "/livez"),
                         (503, "down HAProxy: stats unavailable\n"))
        hap.start()
        wait_for(lambda: H.get(port, "/livez")[0] == 200, H.T_STATE,
                 "alive again")
        hw.stop()


if __name__ == "__main__":
    H.main()
