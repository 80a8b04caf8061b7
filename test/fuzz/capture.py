#!/usr/bin/env python3
"""Capture the live26_* seeds of test/fuzz/corpus/ from a real HAProxy.

Starts Debian's HAProxy 2.6.12 (/usr/sbin/haproxy, or $HAPROXY) on loopback
with a stats socket, a python backend, a closed port, an agent whose reply
holds a comma and quotes, and a UDP syslog listener; then records what the
CLI answers (show info, show stat, whole "show info;show stat ..." replies
as the poller sends them), the stats page's CSV, and every log line of a
drain, a maintenance, a frontend pause and two backends losing their
servers. Everything runs in a temporary directory and is stopped at the
end. Run from anywhere: python3 test/fuzz/capture.py
"""
import http.server
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.request

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")


def freeport(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Backend(socketserver.TCPServer):
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass                    # health checks reset their connections


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(target, *args):
    threading.Thread(target=target, args=args, daemon=True).start()


def agent(port, reply):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(reply[0])
        except OSError:
            pass
        c.close()


def syslog(port, lines):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", port))
    while True:
        lines.append(u.recv(65536))


CFG = """global
	stats socket {d}/admin.sock level admin
	log 127.0.0.1:{log} local0
defaults
	mode http
	log global
	timeout connect 1s
	timeout client 5s
	timeout server 5s
	default-server inter 300ms fastinter 300ms downinter 300ms rise 1 fall 1
frontend fe_main
	bind 127.0.0.1:{fe}
	default_backend app
listen stats
	bind 127.0.0.1:{stats}
	stats enable
	stats uri /stats
backend app
	option httpchk GET /
	server a1 127.0.0.1:{up} check
	server a2 127.0.0.1:{closed} check
	server a3 127.0.0.1:{up} check backup
backend api.v2:x-1
	server n1 127.0.0.1:{up}
	server n2 127.0.0.1:{up} weight 0
backend empty
backend agents
	server ag 127.0.0.1:{up} agent-check agent-port {agent} agent-inter 300ms
"""


def put(target, name, data):
    with open(os.path.join(CORPUS, target, "live26_" + name), "wb") as f:
        f.write(data)


def main():
    d = tempfile.mkdtemp(prefix="hapwatch-capture.")
    ports = dict(up=freeport(), closed=freeport(), fe=freeport(),
                 stats=freeport(), agent=freeport(),
                 log=freeport(socket.SOCK_DGRAM))
    httpd = Backend(("127.0.0.1", ports["up"]), Quiet)
    serve(httpd.serve_forever)
    reply = [b'up 75% # all, "good"\n']
    serve(agent, ports["agent"], reply)
    logs = []
    serve(syslog, ports["log"], logs)
    with open(os.path.join(d, "haproxy.cfg"), "w") as f:
        f.write(CFG.format(d=d, **ports))
    hap = subprocess.Popen([HAPROXY, "-db", "-f", os.path.join(d, "haproxy.cfg")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cli(cmd):
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(d, "admin.sock"))
        s.sendall(cmd.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        s.close()
        return out

    try:
        time.sleep(2)
        # poll_reply seeds start with the poll plan byte (fuzz_poll_reply.c)
        put("poll_reply", "info_all2", b"\x01" + cli("show info;show stat -1 2 -1"))
        put("poll_reply", "info_all6", b"\x01" + cli("show info;show stat -1 6 -1"))
        put("poll_reply", "info_targeted", b"\x84" + cli(
            "show info;show stat app 6 -1;show stat api.v2:x-1 2 -1;"
            "show stat nosuch 2 -1;show stat agents 6 -1"))
        put("poll_reply", "info_empty", b"\x81" + cli("show info;show stat empty 2 -1"))
        put("show_info", "show_info", cli("show info"))
        put("stats_csv", "show_stat_all", cli("show stat"))
        put("stats_csv", "show_stat_app6", cli("show stat app 6 -1"))
        put("stats_csv", "show_stat_agents6", cli("show stat agents 6 -1"))
        put("stats_csv", "show_stat_up", cli("show stat -1 2 -1 up"))
        put("stats_csv", "show_stat_nosuch", cli("show stat nosuch 2 -1"))
        for cmd in ("set server app/a1 state drain", "set server app/a1 state maint",
                    "set server app/a1 state ready", "disable frontend fe_main",
                    "enable frontend fe_main"):
            cli(cmd)
            time.sleep(0.5)
        reply[0] = b"down # agent says no\n"
        time.sleep(1)
        httpd.shutdown()
        httpd.server_close()
        time.sleep(2)
        put("poll_reply", "info_all6_down", b"\x01" + cli("show info;show stat -1 6 -1"))
        put("stats_csv", "stats_page", urllib.request.urlopen(
            "http://127.0.0.1:%d/stats;csv" % ports["stats"]).read())
    finally:
        hap.terminate()
        hap.wait()
        shutil.rmtree(d, ignore_errors=True)
    for i, line in enumerate(logs):
        put("logtrig", "log_%02d" % i, line)
    print("captured %d log lines into %s" % (len(logs), CORPUS))


if __name__ == "__main__":
    main()
