"""Frontend control while HAProxy is gone: the outage is logged once when
it starts, with its reason (the errno's text), and once when it ends, not
on every poll (about 3,600 lines an hour at the default interval before).
"""
import harness as H
from harness import wait_for

FE_BODY = """
frontend fe_main
    bind 127.0.0.1:%d
    default_backend app
"""


class FrontendOutageTest(H.Case):

    def test_outage_logged_once_each_way(self):
        env = self.env
        b = self.backends()
        body = H.hap_backend("app", b.add_many("s", 1)) + FE_BODY % env.port()
        hap = self.haproxy(body).start()
        hw = self.hapwatch({
            "haproxy": {"stats": hap.stats_url, "interval": "50ms",
                        "timeout": "500ms", "settle": "0s",
                        "grace": "100ms"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "frontends": {"fe_main": "web"}}).start()
        hw.wait_state("web", "up")
        wait_for(lambda: hw.status()["frontends"]["fe_main"]["state"] ==
                 "enabled", H.T_STATE, "fe_main enabled")

        def outage_lines():
            return H.log_lines(hw.proc, r"frontend control: ")

        self.assertEqual(outage_lines(), [])
        hap.stop()
        # Once the verdict falls (grace is short), every poll tries to
        # disable fe_main and fails: twenty of them.
        wait_for(outage_lines, H.T_STATE, "the outage logged")
        n = hw.polls()
        wait_for(lambda: hw.polls() >= n + 20, H.T_STATE, "20 more polls")
        lines = outage_lines()
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"warning: frontend control: connect on "
                         r"unix:\S+: (No such file or directory|Connection "
                         r"refused)")

        hap.start()
        wait_for(lambda: len(outage_lines()) == 2, H.T_STATE,
                 "the end of the outage logged")
        n = hw.polls()
        wait_for(lambda: hw.polls() >= n + 10, H.T_STATE, "10 more polls")
        lines = outage_lines()
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[1], r"notice: frontend control: unix:\S+ "
                         r"answers again")
        hw.stop()


if __name__ == "__main__":
    H.main()
