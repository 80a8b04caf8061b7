"""Rules across backends and the degraded state, against a real HAProxy.

Service web: any of (pool_a with at least half its 2 servers, pool_b with
1 of its 3), and at least 1 of (the check "db" on a test-owned TCP port,
pool_b again), degraded below 50%. HAProxy checks every 100ms (fall 1
rise 1); hapwatch polls every 100ms.

  all up                    -> up 100%: HTTP 200, agent "up 100%", TCP open
  pool_a dies, 2 of 3 of b  -> degraded 33%: HTTP 429 (codes.degraded),
                               agent "up 33%", TCP open ("degraded"),
                               ctl check 0, metrics, hook, track file 0
  the last of pool_b        -> down: 503 naming both pools, agent down,
                               TCP refused, ctl check 1, track file 1
  all back                  -> up again
"""
import socket

import harness as H
import netns_hooks as F
import operate as U
from harness import agent, get, tcp_refused, wait_for

PATH = "/haproxy_status"


class RulesTest(H.Case):

    def start_world(self):
        env = self.env
        self.b = self.backends()
        self.hap = self.haproxy(
            H.hap_backend("pool_a", self.b.add_many("a", 2)) +
            H.hap_backend("pool_b", self.b.add_many("b", 3))).start()
        # The db check: a listening socket of the test's own.
        self.db = socket.socket()
        self.db.bind(("127.0.0.1", 0))
        self.db.listen(64)
        self.addCleanup(self.db.close)
        self.http_port, self.agent_port = env.port(), env.port()
        self.tcp_port = env.port()
        self.hook_out = env.path("hook.jsonl")
        self.track = env.path("web.track")
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            "checks": {"db": {"tcp": "127.0.0.1:%d" %
                              self.db.getsockname()[1],
                              "interval": "100ms", "rise": 1, "fall": 1}},
            "services": {"web": {
                "require": [
                    {"any": [{"backend": "pool_a", "min_percent": 50},
                             {"backend": "pool_b"}]},
                    {"at_least": 1, "of": [{"check": "db"},
                                           {"backend": "pool_b"}]}],
                "degraded_below": 50}},
            "listen": [
                {"http": "127.0.0.1:%d" % self.http_port,
                 "paths": {PATH: "web"}, "codes": {"degraded": 429}},
                {"agent": "127.0.0.1:%d" % self.agent_port, "service": "web"},
                {"tcp": "127.0.0.1:%d" % self.tcp_port, "service": "web"}],
            "notify": [
                {"exec": [F.record_hook(env), self.hook_out, "0", "0"]},
                {"track_file": self.track}],
        }).start()

    def wait_http(self, code, prefix):
        def ok():
            st, body = get(self.http_port, PATH)
            return body if st == code and body.startswith(prefix) else None
        return wait_for(ok, H.T_STATE, "%s to answer %d %r" % (
            PATH, code, prefix))

    def ctl_check(self):
        return U.ctl("http://127.0.0.1:%d" % self.hw.admin_port,
                     "check", "web")[0]

    def hook_states(self):
        return [r["env"]["HAPWATCH_STATE"]
                for r in F.read_jsonl(self.hook_out)]

    def wait_hook(self, state):
        wait_for(lambda: state in self.hook_states(), H.T_STATE,
                 "the hook to run for %s" % state)
        rec = [r for r in F.read_jsonl(self.hook_out)
               if r["env"]["HAPWATCH_STATE"] == state][-1]
        return rec["env"]

    def wait_track(self, value):
        wait_for(lambda: F.read_text(self.track) == value, H.T_STATE,
                 "the track file to read %r" % value)

    def test_any_at_least_degraded(self):
        self.start_world()

        # All up: 100%.
        self.wait_http(200, "up ")
        self.assertEqual(agent(self.agent_port), b"up 100%\n")
        self.assertFalse(tcp_refused(self.tcp_port))
        self.assertEqual(self.ctl_check(), 0)
        self.wait_track("0\n")
        conds = self.hw.service("web")["conditions"]
        self.assertEqual(conds[0]["holding"], 2)
        self.assertEqual([c["backend"] for c in conds[0]["any"]],
                         ["pool_a", "pool_b"])
        self.assertEqual((conds[1]["at_least"], conds[1]["holding"]), (1, 2))

        # pool_a dies and 2 of pool_b's 3: the any holds on pool_b at 33%.
        self.b.stop("a1", "a2", "b2", "b3")
        body = self.wait_http(429, "degraded ")
        self.assertEqual(
            body, "degraded capacity 33% (pool_b: 1 of 3 servers usable), "
            "under 50%\n")
        self.assertEqual(agent(self.agent_port), b"up 33%\n")
        self.assertEqual(H.tcp_read(self.tcp_port), b"degraded\n")
        self.assertEqual(self.ctl_check(), 0)
        svc = self.hw.service("web")
        self.assertEqual((svc["state"], svc["verdict"], svc["weight"],
                          svc["degraded_below"]), ("degraded", "up", 33, 50))
        anyc = svc["conditions"][0]
        self.assertEqual((anyc["ok"], anyc["holding"], anyc["capacity"]),
                         (True, 1, 33))
        self.assertFalse(anyc["any"][0]["ok"])
        m = self.hw.metrics()
        self.assertEqual(H.metric(m, "hapwatch_service_state", service="web",
                                  state="degraded"), 1.0)
        self.assertEqual(H.metric(m, "hapwatch_service_up", service="web"),
                         1.0)
        # One series per backend, though pool_b is named twice.
        self.assertEqual(H.metric(m, "hapwatch_condition_nbsrv",
                                  service="web", proxy="pool_b"), 1.0)
        self.assertEqual(len([k for k in m if k[0] ==
                              "hapwatch_condition_nbsrv"]), 2, m)
        env = self.wait_hook("degraded")
        self.assertEqual(env["HAPWATCH_PREVIOUS"], "up")
        self.wait_track("0\n")

        # The last of pool_b: down, the reason names both pools.
        self.b.stop("b1")
        body = self.wait_http(503, "down ")
        self.assertEqual(
            body, "down any of: pool_a: 0 of 2 servers usable (0%, need "
            "50%); pool_b: 0 of 3 servers usable\n")
        self.assertEqual(agent(self.agent_port),
                         b"down #any of: pool_a: 0 of 2 servers usable (0%, "
                         b"need 50%); pool_b: 0 of 3 servers usable\n")
        wait_for(lambda: tcp_refused(self.tcp_port), H.T_STATE,
                 "the tcp listener to close")
        self.assertEqual(self.ctl_check(), 1)
        self.wait_track("1\n")
        self.assertEqual(self.wait_hook("down")["HAPWATCH_PREVIOUS"],
                         "degraded")

        # Everything back: up at 100%.
        self.b.start("a1", "a2", "b1", "b2", "b3")
        self.wait_http(200, "up ")
        wait_for(lambda: agent(self.agent_port) == b"up 100%\n", H.T_STATE,
                 "the agent to answer up 100% (every server back)")
        wait_for(lambda: not tcp_refused(self.tcp_port), H.T_STATE,
                 "the tcp listener to open")
        self.wait_track("0\n")


if __name__ == "__main__":
    H.main()
