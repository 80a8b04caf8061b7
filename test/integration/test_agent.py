"""HAProxy agent-check answers, judged by a real upstream HAProxy.

Lower tier: HAProxy "lower" with backend app (3 servers checked every
100ms) watched by hapwatch (service web requires app). Upper tier: HAProxy
"upper" whose server srv (pointing at the lower HAProxy's frontend, with a
plain TCP health check that always passes) has an agent-check on hapwatch:
in backend `tier` on a listener bound to web, in backend `tier_send` on a
listener without a service, chosen by agent-send "web\\n". The upper
HAProxy's `show stat` must follow the lower tier's capacity: weight 100 ->
66 -> 33 -> DOWN (agent) -> UP 100.
"""
import harness as H
from harness import agent, wait_for

TIERS = ("tier", "tier_send")


class AgentTest(H.Case):

    def start_world(self):
        env = self.env
        self.b = self.backends()
        ports = self.b.add_many("s", 3)
        self.fe_port = env.port()
        self.lower = self.haproxy(
            H.hap_backend("app", ports) +
            H.hap_frontend("fe_node", self.fe_port, "app"),
            name="lower").start()
        self.ag = env.port()		# bound to service web
        self.ag_any = env.port()	# service named by the agent-send line
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.lower.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            "services": {
                "web": {"require": [{"backend": "app"}]},
                "ghost": {"require": [{"backend": "ghost_be"}]},
            },
            "listen": [
                {"agent": "127.0.0.1:%d" % self.ag, "service": "web"},
                {"agent": "127.0.0.1:%d" % self.ag_any},
            ]}).start()
        # Without agent-send, HAProxy 2.6 connects with TCP_QUICKACK off
        # and has nothing to send, so the handshake's last ACK leaves after
        # Linux's 200ms delayed-ACK timer: the agent sees the connection
        # ~200ms after connect(), and an agent-inter of 200ms times out
        # (L7TOUT, which changes nothing). Hence 500ms there.
        upper_srv = ("    server srv 127.0.0.1:%d check inter 200ms "
                     "agent-check agent-port %%d agent-inter %%s "
                     "weight 100%%s\n" % self.fe_port)
        self.upper = self.haproxy(
            "backend tier\n" + upper_srv % (self.ag, "500ms", "") +
            "backend tier_send\n" + upper_srv % (
                self.ag_any, "200ms", ' agent-send "web\\n"'),
            name="upper").start()

    def upper_srv(self):
        rows = self.upper.show_stat("-1 4 -1")
        return {r["pxname"]: r for r in rows if r["svname"] == "srv"}

    def wait_upper(self, status, weight=None):
        """Both upper backends show srv with this status (prefix) and
        weight, after an answer of the agent ("via agent : ...")."""
        def ok():
            rows = self.upper_srv()
            got = {t: (rows[t]["status"], rows[t]["weight"],
                       rows[t]["last_agt"]) for t in TIERS}
            for t in TIERS:
                st, w, agt = got[t]
                if not st.startswith(status) or \
                        not agt.startswith("via agent : "):
                    return None
                if weight is not None and w != str(weight):
                    return None
            return got
        got = wait_for(ok, H.T_STATE, "upper srv to be %s with weight %s" % (
            status, weight))
        H.log("upper: %r" % got)
        return got

    def wait_weight(self, w):
        def ok():
            s = self.hw.service("web")
            return s["state"] == "up" and s["weight"] == w
        wait_for(ok, H.T_STATE, "hapwatch's web weight to be %d" % w)

    def test_weight_follows_capacity(self):
        self.start_world()
        self.wait_weight(100)
        self.assertEqual(agent(self.ag), b"up 100%\n")
        self.assertEqual(agent(self.ag_any, b"web\n"), b"up 100%\n")
        self.wait_upper("UP", 100)

        for name, w in (("s1", 66), ("s2", 33)):
            self.b.stop(name)
            self.wait_weight(w)
            reply = b"up %d%%\n" % w
            self.assertEqual(agent(self.ag), reply)
            self.assertEqual(agent(self.ag_any, b"web\n"), reply)
            self.wait_upper("UP", w)

        # The last one: the upper tier takes this node out, with the reason.
        self.b.stop("s3")
        svc = self.hw.wait_state("web", "down")
        reason = svc["reason"]
        self.assertIn("app", reason)
        want = ("down #%s\n" % reason).encode()
        self.assertRegex(want.decode(), r"^down #app: [^\n#]*\n$")
        self.assertEqual(agent(self.ag), want)
        self.assertEqual(agent(self.ag_any, b"web\n"), want)
        got = self.wait_upper("DOWN")
        for t in TIERS:
            self.assertIn(reason, got[t][2], "agent description of %s" % t)
            self.assertIn("down", got[t][2])

        # Everything back: UP with the full weight.
        self.b.start("s1", "s2", "s3")
        self.wait_weight(100)
        self.assertEqual(agent(self.ag), b"up 100%\n")
        self.wait_upper("UP", 100)
        self.hw.stop()

    def test_agent_send_selection(self):
        self.start_world()
        self.wait_weight(100)
        # By name, with LF or CRLF.
        self.assertEqual(agent(self.ag_any, b"web\n"), b"up 100%\n")
        self.assertEqual(agent(self.ag_any, b"web\r\n"), b"up 100%\n")
        # Another service gets its own answer.
        self.assertEqual(agent(self.ag_any, b"ghost\n"),
                         b"down #ghost_be: no such backend\n")
        # Unknown name, nothing within 1s, a line too long.
        self.assertEqual(agent(self.ag_any, b"nope\n"),
                         b"down #unknown service\n")
        self.assertEqual(agent(self.ag_any), b"down #no service named\n")
        self.assertEqual(agent(self.ag_any, b"x" * 299 + b"\n"),
                         b"down #bad request\n")
        # A listener bound to a service ignores whatever is sent.
        self.assertEqual(agent(self.ag, b"ghost\n"), b"up 100%\n")
        # And the upper tier, sending "web\n", sees the node up.
        self.wait_upper("UP", 100)
        self.hw.stop()


if __name__ == "__main__":
    H.main()
