"""Connections that end without their answer: one rule for every listener
kind, counted in hapwatch_connection_errors_total{reason}:

* silent: the client sent nothing (after its PROXY header, where one is
  required) and closed, or sent nothing before the read timeout;
* incomplete: it closed in the middle of a request or a PROXY header;
* timeout: it began a request and did not finish it in time (HTTP 408);
* proxy: what came is not a PROXY header where one is required.

A connection that got its answer is not counted here, whatever it did
then: an HTTP request answered then closed, an agent-check reply (sent at
once on accept), a TCP port's line.
"""
import socket

import harness as H
from harness import wait_for

REASONS = ("silent", "incomplete", "timeout", "proxy")


class ConnErrorsTest(H.Case):

    def setUp(self):
        super().setUp()
        env = self.env
        b = self.backends()
        hap = self.haproxy(H.hap_backend("app", b.add_many("s", 1))).start()
        self.http = env.port()
        self.http_pp = env.port()
        self.tcp_pp = env.port()
        self.agent_named = env.port()
        self.agent_fixed = env.port()
        self.hw = self.hapwatch({
            "haproxy": {"stats": hap.stats_url, "interval": "100ms",
                        "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [
                {"http": "127.0.0.1:%d" % self.http,
                 "paths": {"/health": "web"}},
                {"http": "127.0.0.1:%d" % self.http_pp,
                 "paths": {"/health": "web"}, "accept_proxy": True},
                {"tcp": "127.0.0.1:%d" % self.tcp_pp, "service": "web",
                 "accept_proxy": True},
                {"agent": "127.0.0.1:%d" % self.agent_named},
                {"agent": "127.0.0.1:%d" % self.agent_fixed,
                 "service": "web"}]}).start()
        self.hw.wait_state("web", "up")
        wait_for(lambda: not H.tcp_refused(self.tcp_pp), H.T_STATE,
                 "the tcp port to open")

    def errors(self):
        m = self.hw.metrics()
        return {r: H.metric(m, "hapwatch_connection_errors_total", reason=r)
                for r in REASONS}

    def settled_errors(self):
        """The counters once the harness's own connections (its checks
        that the ports listen: a connect and a close, silent) are all
        counted: the same across a stats poll sent after the first read,
        by when every connection waiting in a backlog has been taken."""
        def settled():
            a = self.errors()
            self.hw.wait_fresh_poll()
            return a if self.errors() == a else None
        return wait_for(settled, H.T_STATE, "the connection error counters "
                        "to settle")

    def wait_errors(self, before, **want):
        """Wait until the counters moved by exactly want from before (and
        the others not at all)."""
        goal = {r: before[r] + want.get(r, 0) for r in REASONS}
        return wait_for(lambda: (lambda e: e if e == goal else None)(
            self.errors()), H.T_STATE * 2, "connection errors %r" % goal)

    def connect(self, port, data=b""):
        s = socket.create_connection(("127.0.0.1", port), timeout=H.T_IO)
        if data:
            s.sendall(data)
        return s

    def test_immediate_and_half_finished_closes(self):
        before = self.settled_errors()
        # Connect and close at once: silent, on every kind that waits for
        # the client first.
        for port in (self.http, self.http_pp, self.tcp_pp,
                     self.agent_named):
            self.connect(port).close()
        before = self.wait_errors(before, silent=4)
        # A PROXY header, then nothing: silent too (the header is not
        # what the listener answers).
        self.connect(self.http_pp, H.proxy_v1()).close()
        before = self.wait_errors(before, silent=1)
        # Half of what was needed, then a close: incomplete.
        self.connect(self.http, b"GET /health HT").close()
        self.connect(self.http_pp, H.proxy_v1()[:10]).close()
        self.connect(self.tcp_pp, H.proxy_v1()[:10]).close()
        self.connect(self.agent_named, b"we").close()
        before = self.wait_errors(before, incomplete=4)
        # Not a PROXY header where one is required.
        for port in (self.http_pp, self.tcp_pp):
            s = self.connect(port, b"GET /health HTTP/1.0\r\n\r\n")
            s.settimeout(H.T_IO)
            self.assertEqual(s.recv(100), b"", "answered without PROXY")
            s.close()
        before = self.wait_errors(before, proxy=2)
        # Answered, then closed: nothing counted, whatever the kind.
        self.assertEqual(H.get(self.http, "/health")[0], 200)
        self.assertEqual(H.agent(self.agent_fixed), b"up 100%\n")
        self.connect(self.agent_fixed).close()
        self.assertEqual(H.agent(self.agent_named, b"web\n"), b"up 100%\n")
        s = self.connect(self.tcp_pp, H.proxy_v2_local())
        self.assertEqual(s.recv(100), b"up\n")
        s.close()
        # Nothing moved: another silent close settles that the counters
        # were read after every close above was seen.
        self.connect(self.http).close()
        self.wait_errors(before, silent=1)

    def test_read_timeouts(self):
        before = self.settled_errors()
        # Nothing at all until the read timeout (5s): a silent close, no
        # answer. Part of a request: 408, counted as a timeout.
        quiet = [self.connect(p) for p in (self.http, self.http_pp,
                                           self.tcp_pp)]
        partial = self.connect(self.http, b"GET /health HTTP/1.1\r\n")
        for s in quiet + [partial]:
            s.settimeout(H.T_STATE)
        for s in quiet:
            self.assertEqual(s.recv(100), b"", "a silent client got bytes")
        st = partial.recv(200)
        self.assertTrue(st.startswith(b"HTTP/1.1 408 "), st)
        for s in quiet + [partial]:
            s.close()
        self.wait_errors(before, silent=3, timeout=1)


if __name__ == "__main__":
    H.main()
