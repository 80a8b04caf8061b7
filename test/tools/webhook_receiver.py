#!/usr/bin/python3
"""webhook_receiver.py: a real local HTTP receiver for hapwatch's webhooks
(Python 3 standard library only).

    webhook_receiver.py --port PORT [--host 127.0.0.1] [--jsonl FILE]

Records every request (method, path, headers, raw body, the body parsed as
JSON when it is JSON, arrival time, and what it was answered) in arrival
order, appends each record as one JSON line to FILE if given, and serves
them as a JSON array at `GET /_received`. Prints "ready PORT" on stdout
once it listens.

Behaviour, set per test:

* `fail_next(n, code=500)`: the next n recorded requests are answered
  `code` instead of 200;
* `hang_next(n)`: the next n recorded requests are never answered (the
  connection is held open, with nothing sent) until `release()` or
  `stop()`; `hang_forever(True)` does it for every request until turned off;
* `stop()` / `start()`: closes the listening socket (a connect is then
  refused: "receiver down") and listens again on the same port.

Used in-process (import it: `Receiver`), or as a process controlled over
HTTP: `POST /_control` with a JSON object of any of
`{"fail_next": N, "code": C, "hang_next": N, "hang": true|false,
"release": true, "clear": true}`, `DELETE /_received` clears the record.
Requests to `/_received` and `/_control` are not recorded.
"""
import argparse
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time

HANG = "hang"


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "hw-webhook-receiver"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _control(self):
        rx = self.server.receiver
        if self.path == "/_received":
            if self.command == "GET":
                self._reply(200, json.dumps(rx.received()).encode(),
                            "application/json")
            elif self.command == "DELETE":
                rx.clear()
                self._reply(204)
            else:
                self._reply(405)
            return True
        if self.path == "/_control":
            if self.command != "POST":
                self._reply(405)
                return True
            try:
                req = json.loads(self._body() or b"{}")
            except ValueError:
                self._reply(400, b"bad json\n")
                return True
            if req.get("clear"):
                rx.clear()
            if "fail_next" in req:
                rx.fail_next(int(req["fail_next"]), int(req.get("code", 500)))
            if "hang_next" in req:
                rx.hang_next(int(req["hang_next"]))
            if "hang" in req:
                rx.hang_forever(bool(req["hang"]))
            if req.get("release"):
                rx.release()
            self._reply(204)
            return True
        return False

    def _any(self):
        if self._control():
            return
        rx = self.server.receiver
        body = self._body()
        answer, gate = rx._record(self, body)
        if answer == HANG:
            gate.wait()
            # Released: close without a word, as a dead receiver would.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._reply(answer, b"ok\n" if answer < 300 else b"error\n")

    do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True	# rebind at once after stop(); and see
    daemon_threads = True	# harness.py: ports are reserved that way
    block_on_close = False

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Receiver:
    """The receiver; thread-safe. port 0 picks a free port on start()."""

    def __init__(self, port=0, host="127.0.0.1", jsonl=None):
        self.host = host
        self.port = port
        self.jsonl = jsonl
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._records = []
        self._fail = 0
        self._fail_code = 500
        self._hang = 0
        self._hang_all = False
        self._gate = threading.Event()
        self._srv = None
        self._thread = None

    # ---- lifecycle ----

    def start(self):
        if self._srv is not None:
            return self
        srv = _Server((self.host, self.port), _Handler)
        srv.receiver = self
        self.port = srv.server_address[1]
        self._srv = srv
        self._thread = threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.05},
            daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Close the listening socket (connects are refused from now on)
        and let every hung request go (its connection is closed)."""
        srv, self._srv = self._srv, None
        if srv is None:
            return
        srv.shutdown()
        srv.server_close()
        self._thread.join(10)
        self.release()

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    # ---- behaviour ----

    def fail_next(self, n, code=500):
        with self._lock:
            self._fail = n
            self._fail_code = code

    def hang_next(self, n):
        with self._lock:
            if self._gate.is_set():
                self._gate = threading.Event()
            self._hang = n

    def hang_forever(self, on=True):
        with self._lock:
            if on and self._gate.is_set():
                self._gate = threading.Event()
            self._hang_all = on

    def release(self):
        """Hung requests are let go (closed without an answer)."""
        with self._lock:
            self._hang = 0
            self._hang_all = False
            self._gate.set()

    # ---- records ----

    def _record(self, h, body):
        try:
            parsed = json.loads(body.decode("utf-8"))
        except ValueError:
            parsed = None
        rec = {"method": h.command, "path": h.path,
               "headers": {k: v for k, v in h.headers.items()},
               "body": body.decode("utf-8", "replace"), "json": parsed,
               "time": time.time(), "mono": time.monotonic()}
        with self._lock:
            if self._hang_all or self._hang > 0:
                if self._hang > 0:
                    self._hang -= 1
                answer, gate = HANG, self._gate
            elif self._fail > 0:
                self._fail -= 1
                answer, gate = self._fail_code, None
            else:
                answer, gate = 200, None
            rec["seq"] = len(self._records) + 1
            rec["answer"] = answer
            self._records.append(rec)
            if self.jsonl:
                with open(self.jsonl, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            self._changed.notify_all()
        return answer, gate

    def received(self):
        """Every request so far (copies), in arrival order."""
        with self._lock:
            return [dict(r) for r in self._records]

    def delivered(self):
        """The requests answered 2xx: what the sender saw delivered."""
        return [r for r in self.received()
                if r["answer"] != HANG and 200 <= r["answer"] < 300]

    def clear(self):
        with self._lock:
            self._records = []

    def wait(self, pred, timeout):
        """Block until pred(records) is true (returns it) or timeout
        (returns None)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                v = pred(self._records)
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--jsonl", default=None,
                    help="append every request as one JSON line here")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    rx = Receiver(a.port, a.host, a.jsonl).start()
    print("ready %d" % rx.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    rx.stop()


if __name__ == "__main__":
    main()
