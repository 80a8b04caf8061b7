"""Everything over IPv6 loopback (::1), for IPv6-only nodes.

HAProxy serves its stats socket on tcp [::1] and its frontend fe_main on
[::1]; hapwatch reads stats from "tcp:[::1]:PORT", answers health, agent
and TCP listeners on [::1], controls fe_main and runs a tcp check of
fe_main's [::1] address. Killing both backend servers must turn every
answer down (503, "down", TCP refused, fe_main refused, the check failed),
and reviving them must turn it all back up. The PROXY v2 header of an
IPv6 connection (TCP6) is taken on an accept_proxy listener.
"""
import socket
import struct

import harness as H
from harness import wait_for


def v6_port(env):
    """A free port on ::1, reserved like Env.port() reserves on 127.0.0.1
    (bound with SO_REUSEADDR, never listening, until the test ends)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::1", 0))
    env._ports.append(s)
    return s.getsockname()[1]


def v6_connect(port):
    return socket.create_connection(("::1", port), timeout=H.T_IO * H.SCALE)


def v6_exchange(port, data=b""):
    """Connect to [::1]:port, send data, read to EOF."""
    return H.agent(port, data or None, host="::1")


def v6_get(port, path, prefix=b""):
    """GET over [::1] -> (status, body)."""
    raw = v6_exchange(port, prefix + (
        "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" %
        path).encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body.decode()


def v6_refused(port):
    try:
        v6_connect(port).close()
        return False
    except ConnectionRefusedError:
        return True


def proxy_v2_tcp6(src="2001:db8::10", dst="::1", sport=51234, dport=80):
    addrs = socket.inet_pton(socket.AF_INET6, src) + \
        socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!HH", sport,
                                                             dport)
    return H.PP2_SIG + bytes([0x21, 0x21]) + struct.pack("!H", len(addrs)) + \
        addrs


class Ipv6Test(H.Case):

    def test_all_answers_over_ipv6(self):
        env = self.env
        b = self.backends()
        ports = b.add_many("s", 2)
        p_stats, p_fe, p_http, p_pp, p_agent, p_tcp = (
            v6_port(env) for _ in range(6))
        hap = self.haproxy(
            H.hap_backend("app", ports) +
            "frontend fe_main\n    bind ipv6@::1:%d\n"
            "    default_backend app\n" % p_fe,
            global_extra="    stats socket ipv6@::1:%d level admin" %
            p_stats).start()
        hw = self.hapwatch({
            "haproxy": {"stats": "tcp:[::1]:%d" % p_stats,
                        "interval": "100ms", "timeout": "1s", "settle": "0s"},
            "checks": {"fe6": {"tcp": "[::1]:%d" % p_fe, "interval": "100ms",
                               "timeout": "500ms", "rise": 1, "fall": 1}},
            "services": {"web": {"require": [{"backend": "app"}]},
                         "front": {"require": [{"check": "fe6"}]}},
            "listen": [
                {"http": "[::1]:%d" % p_http,
                 "paths": {"/health": "web", "/front": "front"}},
                {"http": "[::1]:%d" % p_pp, "paths": {"/": "web"},
                 "accept_proxy": True},
                {"agent": "[::1]:%d" % p_agent, "service": "web"},
                {"tcp": "[::1]:%d" % p_tcp, "service": "web"}],
            "frontends": {"fe_main": "web"}}).start(wait=False)

        def all_up():
            hw.proc.check_alive()
            return (v6_get(p_http, "/health")[0] == 200 and
                    v6_get(p_http, "/front")[0] == 200 and
                    not v6_refused(p_tcp) and
                    v6_exchange(p_agent) == b"up 100%\n")
        wait_for(all_up, H.T_STATE, "every [::1] answer to be up")
        self.assertEqual(v6_get(p_http, "/health"),
                         (200, "up all conditions hold\n"))
        self.assertEqual(v6_exchange(p_agent), b"up 100%\n")
        self.assertEqual(v6_exchange(p_tcp), b"up\n")
        self.assertEqual(v6_get(p_pp, "/", proxy_v2_tcp6(dport=p_pp))[0],
                         200)
        # The stats source is named as written, over IPv6.
        st = hw.status()
        self.assertEqual(st["haproxy"]["errors"], 0)
        self.assertIn("[::1]", st["haproxy"]["source"])
        self.assertTrue(st["checks"]["fe6"]["up"])
        # HAProxy's frontend answers over ::1 (its backend serves).
        self.assertFalse(v6_refused(p_fe))

        b.stop("s1", "s2")

        def all_down():
            hw.proc.check_alive()
            return (v6_get(p_http, "/health")[0] == 503 and
                    v6_refused(p_tcp) and v6_refused(p_fe) and
                    v6_get(p_http, "/front")[0] == 503)
        wait_for(all_down, H.T_STATE, "every [::1] answer to be down")
        st, body = v6_get(p_http, "/health")
        self.assertEqual((st, body), (503, "down app: 0 of 2 servers usable\n"))
        self.assertTrue(v6_exchange(p_agent).startswith(b"down"))
        self.assertEqual(v6_get(p_pp, "/", proxy_v2_tcp6(dport=p_pp))[0],
                         503)
        self.assertEqual(hap.row("fe_main", "FRONTEND")["status"], "PAUSED")
        self.assertFalse(hw.status()["checks"]["fe6"]["up"])

        b.start("s1", "s2")
        wait_for(all_up, H.T_STATE, "every [::1] answer to be up again")
        self.assertEqual(v6_exchange(p_agent), b"up 100%\n")
        self.assertEqual(hap.row("fe_main", "FRONTEND")["status"], "OPEN")
        hw.stop()


if __name__ == "__main__":
    H.main()
