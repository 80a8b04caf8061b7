"""ELB/ALB health endpoints against a real HAProxy.

A service `web` requires backends webapp (3 servers) and api (2 servers);
HAProxy checks them every 100ms (fall 1 rise 1), hapwatch polls every 100ms
with settle 0s. Killing every api server turns the answer into 503 naming
api; reviving them turns it back into 200. The HTTP details (HEAD,
404/405/431, keep-alive, pipelining, HTTP/1.0), custom codes,
close_when_down and accept_proxy are checked on the same setup.
"""
import harness as H
from harness import Conn, get, http, tcp_refused, wait_for

HEALTH = "/haproxy_status"


class ELBTest(H.Case):

    def start_world(self):
        env = self.env
        self.b = self.backends()
        web = self.b.add_many("w", 3)
        api = self.b.add_many("a", 2)
        self.hap = self.haproxy(H.hap_backend("webapp", web) +
                                H.hap_backend("api", api)).start()
        self.port = env.port()		# plain health listener
        self.port_codes = env.port()	# custom codes
        self.port_cwd = env.port()	# close_when_down
        self.port_pp = env.port()	# accept_proxy
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            "services": {"web": {"require": [{"backend": "webapp"},
                                             {"backend": "api"}]}},
            "listen": [
                {"http": "127.0.0.1:%d" % self.port,
                 "paths": {HEALTH: "web", "/health": "web"}},
                {"http": "127.0.0.1:%d" % self.port_codes,
                 "paths": {"/hc": "web"},
                 "codes": {"up": 200, "down": 500}},
                {"http": "127.0.0.1:%d" % self.port_cwd,
                 "paths": {"/hc": "web"}, "close_when_down": True},
                {"http": "127.0.0.1:%d" % self.port_pp,
                 "paths": {"/hc": "web"}, "accept_proxy": True},
            ]}).start()
        self.wait_answer(self.port, HEALTH, 200, "up ")

    def wait_answer(self, port, path, code, prefix):
        def ok():
            st, body = get(port, path)
            return (st, body) if st == code and body.startswith(prefix) \
                else None
        return wait_for(ok, H.T_STATE, "GET %s on :%d to answer %d %r..." % (
            path, port, code, prefix), )[1]

    def assert_plain(self, status, headers, body, code):
        self.assertEqual(status, code, body)
        self.assertEqual(headers.get("content-type"), "text/plain", headers)
        self.assertEqual(int(headers["content-length"]), len(body), headers)

    # ---- the flow ----

    def test_down_and_back(self):
        self.start_world()
        st, h, body = http("GET", self.port, HEALTH)
        self.assert_plain(st, h, body, 200)
        self.assertRegex(body.decode(), r"^up [^\n]*\n$")
        self.assertEqual(get(self.port, "/health")[0], 200)
        self.assertEqual(get(self.port_codes, "/hc")[0], 200)
        self.assertEqual(get(self.port_cwd, "/hc")[0], 200)

        # A keep-alive connection (a load balancer's) opened while up.
        ka = Conn(self.port)
        self.addCleanup(ka.close)
        ka.request("GET", HEALTH)
        self.assertEqual(ka.response()[0], 200)

        # Every api server dies: 503, and the body says why.
        self.b.stop("a1", "a2")
        body = self.wait_answer(self.port, HEALTH, 503, "down ")
        self.assertRegex(body, r"^down [^\n]*\bapi\b[^\n]*\n$")
        self.assertNotIn("webapp", body)
        st, h, raw = http("GET", self.port, HEALTH)
        self.assert_plain(st, h, raw, 503)
        H.log("down answer: %r" % raw)
        svc = self.hw.service("web")
        self.assertEqual((svc["state"], svc["verdict"]), ("down", "down"))
        self.assertIn("api", svc["reason"])
        conds = {c["backend"]: c for c in svc["conditions"]}
        self.assertEqual(conds["api"]["nbsrv"], 0)
        self.assertFalse(conds["api"]["ok"])
        self.assertEqual(conds["webapp"]["nbsrv"], 3)
        self.assertTrue(conds["webapp"]["ok"])

        # The open connection gets the new answer too.
        ka.request("GET", HEALTH)
        st, _, kbody = ka.response()
        self.assertEqual((st, kbody), (503, raw))
        # HEAD while down: the GET body's length, no body.
        self.check_head(self.port, HEALTH, 503)
        # Custom codes: down -> 500, same body.
        st, h, raw = http("GET", self.port_codes, "/hc")
        self.assert_plain(st, h, raw, 500)
        self.assertEqual(raw.decode(), body)
        # close_when_down: the socket is closed.
        wait_for(lambda: tcp_refused(self.port_cwd), H.T_STATE,
                 "the close_when_down listener to refuse connections")
        self.assertTrue(tcp_refused(self.port_cwd))
        # The other listeners still answer.
        self.assertFalse(tcp_refused(self.port_pp))

        # They come back: 200 everywhere, the closed port opens again.
        self.b.start("a1", "a2")
        self.wait_answer(self.port, HEALTH, 200, "up ")
        self.assertEqual(get(self.port_codes, "/hc")[0], 200)
        wait_for(lambda: not tcp_refused(self.port_cwd), H.T_STATE,
                 "the close_when_down listener to accept again")
        st, body = get(self.port_cwd, "/hc")
        self.assertEqual(st, 200, body)
        self.assertTrue(body.startswith("up "), body)
        self.check_head(self.port, HEALTH, 200)
        ka.request("GET", HEALTH)
        st, _, body = ka.response()
        self.assertEqual(st, 200, body)
        self.assertTrue(body.startswith(b"up "), body)
        self.assertEqual(self.hw.service("web")["state"], "up")
        self.hw.stop()

    def check_head(self, port, path, code):
        st, h, body = http("GET", port, path)
        self.assertEqual(st, code)
        c = Conn(port)
        try:
            c.request("HEAD", path, {"Connection": "close"})
            hst, hh, hbody = c.response(head=True)
            self.assertEqual(hst, code)
            self.assertEqual(hbody, b"")
            self.assertEqual(int(hh["content-length"]), len(body),
                             "HEAD Content-Length vs GET body %r" % body)
            self.assertEqual(hh.get("content-type"), h.get("content-type"))
            rest = c.read_to_eof()
            self.assertEqual(rest, b"", "bytes after a HEAD response's head")
        finally:
            c.close()

    # ---- HTTP details ----

    def test_http_protocol(self):
        self.start_world()
        p = self.port

        self.check_head(p, HEALTH, 200)
        self.check_head(p, "/health", 200)

        # Unknown path: 404 (HEAD too, without a body).
        st, h, body = http("GET", p, "/nope")
        self.assertEqual(st, 404, body)
        self.assertEqual(int(h["content-length"]), len(body))
        st, h, body = http("HEAD", p, "/nope")
        self.assertEqual((st, body), (404, b""))
        # Admin routes exist only on admin listeners.
        self.assertEqual(http("GET", p, "/status")[0], 404)

        # Other methods: 405 with Allow.
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            st, h, body = http(method, p, HEALTH,
                               headers={"Content-Length": "0"})
            self.assertEqual(st, 405, "%s: %r" % (method, body))
            allow = [m.strip() for m in h.get("allow", "").split(",")]
            self.assertIn("GET", allow, h)
            self.assertIn("HEAD", allow, h)

        # Keep-alive: three requests on one connection.
        c = Conn(p)
        try:
            for path, code in ((HEALTH, 200), ("/health", 200),
                               ("/nope", 404)):
                c.request("GET", path)
                st, h, body = c.response()
                self.assertEqual(st, code, body)
                self.assertNotIn("close", h.get("connection", "").lower())
            c.request("HEAD", HEALTH)
            st, h, body = c.response(head=True)
            self.assertEqual((st, body), (200, b""))
            c.request("GET", HEALTH)	# nothing was left from the HEAD
            self.assertEqual(c.response()[0], 200)
        finally:
            c.close()

        # Pipelining: three requests in one send, three answers in order,
        # the last one closes.
        c = Conn(p)
        try:
            c.send(H.build_request("GET", HEALTH) +
                   H.build_request("GET", "/nope") +
                   H.build_request("HEAD", "/health") +
                   H.build_request("GET", "/health",
                                   {"Connection": "close"}))
            got = [c.response()[0], c.response()[0],
                   c.response(head=True)[:3:2], c.response()]
            self.assertEqual(got[:3], [200, 404, (200, b"")])
            st, h, body = got[3]
            self.assertEqual(st, 200)
            self.assertIn("close", h.get("connection", "").lower())
            self.assertEqual(c.read_to_eof(), b"", "connection left open")
        finally:
            c.close()

        # Many pipelined requests (more than one read's worth).
        c = Conn(p)
        try:
            n = 300
            c.send(b"".join(H.build_request("GET", "/nope" if i % 2
                                            else HEALTH) for i in range(n)))
            codes = [c.response()[0] for _ in range(n)]
            self.assertEqual(codes, [200, 404] * (n // 2))
        finally:
            c.close()

        # A request in pieces.
        c = Conn(p)
        try:
            req = H.build_request("GET", HEALTH, {"Connection": "close"})
            c.send(req[:7])
            c.send(req[7:20])
            c.send(req[20:])
            self.assertEqual(c.response()[0], 200)
        finally:
            c.close()

        # HTTP/1.0 without keep-alive: answered, then closed.
        c = Conn(p)
        try:
            c.send(b"GET " + HEALTH.encode() + b" HTTP/1.0\r\n\r\n")
            st, h, body = c.response()
            self.assertEqual(st, 200, body)
            self.assertTrue(body.startswith(b"up "), body)
            self.assertEqual(c.read_to_eof(), b"",
                             "HTTP/1.0 connection not closed")
        finally:
            c.close()

        # HTTP/1.0 with keep-alive: kept open, and says so.
        c = Conn(p)
        try:
            for _ in range(2):
                c.request("GET", HEALTH, {"Connection": "keep-alive"},
                          version="1.0")
                st, h, body = c.response()
                self.assertEqual(st, 200, body)
                self.assertEqual(h.get("connection", "").lower(),
                                 "keep-alive", h)
        finally:
            c.close()

        # A 9 KiB header: 431, and the connection closes.
        c = Conn(p)
        try:
            c.request("GET", HEALTH, {"X-Big": "a" * (9 * 1024)})
            st, h, body = c.response()
            self.assertEqual(st, 431, body)
            self.assertEqual(c.read_to_eof(), b"")
        finally:
            c.close()
        # ... and the listener is fine afterwards.
        self.assertEqual(get(p, HEALTH)[0], 200)
        self.hw.stop()

    # ---- PROXY protocol ----

    def proxied(self, header, pieces=1, requests=1):
        c = Conn(self.port_pp)
        try:
            data = header
            for i in range(requests):
                last = i == requests - 1
                data += H.build_request("GET", "/hc", {"Connection": "close"}
                                        if last else {})
            if pieces == 1:
                c.send(data)
            else:
                cut = len(header) // 2
                c.send(data[:cut])
                c.send(data[cut:])
            return [c.response() for _ in range(requests)]
        finally:
            c.close()

    def assert_closed_silently(self, data):
        c = Conn(self.port_pp)
        try:
            c.send(data)
            rest = c.read_to_eof()
            self.assertEqual(rest, b"", "an answer without a valid PROXY "
                             "header: %r" % rest)
        finally:
            c.close()

    def test_accept_proxy(self):
        self.start_world()
        for name, hdr in (("v1", H.proxy_v1()),
                          ("v1 TCP6", b"PROXY TCP6 2001:db8::1 ::1 "
                           b"40000 80\r\n"),
                          ("v1 UNKNOWN", b"PROXY UNKNOWN\r\n"),
                          ("v2 LOCAL", H.proxy_v2_local()),
                          ("v2 TCP4", H.proxy_v2_tcp4())):
            st, h, body = self.proxied(hdr)[0]
            self.assertEqual(st, 200, "%s: %r" % (name, body))
            self.assertTrue(body.startswith(b"up "), body)
        # A header in two pieces, then two requests on the connection.
        answers = self.proxied(H.proxy_v2_local(), pieces=2, requests=2)
        self.assertEqual([a[0] for a in answers], [200, 200])
        answers = self.proxied(H.proxy_v1(), pieces=2, requests=2)
        self.assertEqual([a[0] for a in answers], [200, 200])

        # No header: closed without an answer (never optional).
        self.assert_closed_silently(H.build_request("GET", "/hc"))
        # Malformed headers: the same.
        self.assert_closed_silently(b"PROXY TCP4 garbage\r\n" +
                                    H.build_request("GET", "/hc"))
        self.assert_closed_silently(H.PP2_SIG + b"\x99\x11\x00\x00" +
                                    H.build_request("GET", "/hc"))
        # The listener still works, and a plain listener is unaffected.
        self.assertEqual(self.proxied(H.proxy_v1())[0][0], 200)
        self.assertEqual(get(self.port, HEALTH)[0], 200)
        self.hw.stop()


if __name__ == "__main__":
    H.main()
