#!/usr/bin/python3
"""backend.py: a tiny HTTP backend for tests and demos (stdlib only).

    backend.py --port PORT [--host 127.0.0.1] [--name NAME] [--status CODE]

Answers every GET, HEAD and OPTIONS (HAProxy's httpchk) with CODE (default
200) and the body "NAME\\n". The socket is bound with SO_REUSEADDR, so a
killed backend can be started again on the same port at once. Prints
"ready PORT" on stdout once it listens; SIGTERM or SIGKILL stop it (the
kernel closes every socket, which is what a crashed server looks like).
"""
import argparse
import http.server
import signal
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "hw-backend"
    protocol_version = "HTTP/1.0"

    def _answer(self, body):
        data = ("%s\n" % self.server.name).encode()
        self.send_response(self.server.code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):
        self._answer(True)

    def do_HEAD(self):
        self._answer(False)

    def do_OPTIONS(self):
        self._answer(True)

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # HAProxy's checks reset the connection once they have the status
        # line: that is not worth a traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="backend")
    ap.add_argument("--status", type=int, default=200)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = Server((a.host, a.port), Handler)
    srv.name = a.name
    srv.code = a.status
    print("ready %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
