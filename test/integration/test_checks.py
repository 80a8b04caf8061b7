"""http, tcp and exec checks against real local servers and processes.

Every hapwatch here also watches a real HAProxy (a service's first verdict
waits for the first stats poll), and gives each check a service of its own
that requires it, so that the check and the service's state are both
observed in /status (`checks.NAME.{up,reason,probes,failures}`).

* pass / fail / timeout of each kind: http 200 (pass), 503 (wrong status),
  refused port, a server that accepts and never answers (timeout); tcp
  to a listening port, to a refused port, to a listener whose accept queue
  is full (SYNs dropped: connect timeout); exec exit 0, exit 1 (its first
  output line in the reason), an exec that sleeps past its timeout.
* rise/fall, probe by probe: an exec check and an http check whose N-th
  probe's outcome is scripted, each probe held back until the test has
  seen the previous one in /status (so every probe count is observed,
  whatever the timing). After every probe, check.up and the service's
  state are those of the contract (first probe sets the state; `rise`
  passes in a row bring it up, `fall` failures in a row down), worked out
  here independently.
* a hung exec is killed with its children: the exec leaves a `sleep 1000`
  in its process group and waits; once its timeout passes, neither is left
  (one variant obeys SIGTERM, the other ignores it and needs the SIGKILL).
"""
import http.server
import os
import re
import socket
import socketserver
import threading
import time

import netns_hooks as U
import harness as H
from harness import wait_for


# ---- local servers ---------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        code = self.server.owner.answer(self.path)
        if code is None:		# hang: hold the connection, say nothing
            self.server.owner.hung.wait()
            return
        body = b"%d\n" % code
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Srv(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        pass


class CheckServer:
    """An HTTP server for checks: /ok 200, /bad 503, /hang never answers,
    /seq the gated sequence (see Gate)."""

    def __init__(self, port):
        self.hung = threading.Event()
        self.gate = None
        self.srv = _Srv(("127.0.0.1", port), _Handler)
        self.srv.owner = self
        self.t = threading.Thread(target=self.srv.serve_forever,
                                  kwargs={"poll_interval": 0.05}, daemon=True)
        self.t.start()

    def answer(self, path):
        if path == "/ok":
            return 200
        if path == "/bad":
            return 503
        if path == "/seq":
            return 200 if self.gate.next_outcome() else 503
        return None

    def close(self):
        self.hung.set()
        if self.gate is not None:
            self.gate.release_all()
        self.srv.shutdown()
        self.srv.server_close()


class Gate:
    """Probe n (from 1) of an http check is answered seq[n-1] only once
    the test has acked probe n-1 (ack(n-1))."""

    def __init__(self, seq):
        self.seq = seq
        self.n = 0
        self.lock = threading.Lock()
        self.acks = {}

    def _ev(self, n):
        with self.lock:
            return self.acks.setdefault(n, threading.Event())

    def next_outcome(self):
        with self.lock:
            self.n += 1
            n = self.n
        if n > 1:
            self._ev(n - 1).wait(60)
        return self.seq[n - 1] if n <= len(self.seq) else True

    def ack(self, n):
        self._ev(n).set()

    def release_all(self):
        for n in range(0, len(self.seq) + 2):
            self._ev(n).set()


# An exec check whose n-th run exits with line n of DIR/seq (0 or 1),
# started only once the test has acked run n-1 (DIR/ack.<n-1>).
GATED_EXEC = r'''#!/bin/sh
d=$1
echo x >> "$d/started"
n=$(wc -l < "$d/started")
if [ "$n" -gt 1 ]; then
	while [ ! -e "$d/ack.$((n - 1))" ]; do sleep 0.01; done
fi
r=$(sed -n "${n}p" "$d/seq")
exit "${r:-0}"
'''


def model(seq, rise, fall):
    """The contract: (up after each probe) for outcomes seq."""
    out, state, streak = [], None, 0
    for ok in seq:
        streak = (streak + 1 if streak > 0 else 1) if ok else \
            (streak - 1 if streak < 0 else -1)
        if state is None:
            state = ok
        elif ok and streak >= rise:
            state = True
        elif not ok and -streak >= fall:
            state = False
        out.append(state)
    return out


class ChecksTest(H.Case):

    def start_world(self, checks):
        self.b = self.backends()
        self.hap = U.minimal_haproxy(self, [self.b.add("s1")])
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            "checks": checks,
            "services": {"svc_" + n: {"require": [{"check": n}]}
                         for n in checks}}).start()

    def check(self, name):
        return self.hw.status()["checks"][name]

    def wait_probed(self, name, n=1):
        def done():
            self.hw.proc.check_alive()
            c = self.check(name)
            return c if c["probes"] >= n else None
        return wait_for(done, H.T_STATE, "check %s probed %d times" % (
            name, n))

    # ---- pass, fail, timeout ----

    def test_pass_fail_timeout(self):
        env = self.env
        srv = CheckServer(env.port())
        self.addCleanup(srv.close)
        closed = env.port()		# reserved, nothing listens: refused
        tcp_ok = socket.socket()
        tcp_ok.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp_ok.bind(("127.0.0.1", env.port()))
        tcp_ok.listen(16)
        self.addCleanup(tcp_ok.close)
        # A listener that never accepts, its queue filled: SYNs dropped.
        full = socket.socket()
        full.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        full.bind(("127.0.0.1", env.port()))
        full.listen(0)
        self.addCleanup(full.close)
        fillers = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(full.getsockname())
            fillers.append(c)
        for c in fillers:
            self.addCleanup(c.close)
        probe = socket.socket()
        probe.settimeout(0.5)
        self.assertRaises(OSError, probe.connect, full.getsockname())
        probe.close()

        srv_port = srv.srv.server_address[1]
        url = "http://127.0.0.1:%d" % srv_port
        quick = {"interval": "200ms", "timeout": "300ms", "rise": 1,
                 "fall": 1}
        checks = {
            "http_ok": dict(quick, http=url + "/ok"),
            "http_status": dict(quick, http=url + "/bad"),
            "http_expect": dict(quick, http=url + "/bad", expect=[503]),
            "http_refused": dict(quick, http="http://127.0.0.1:%d/" %
                                 closed),
            "http_timeout": dict(quick, http=url + "/hang"),
            "tcp_ok": dict(quick, tcp="127.0.0.1:%d" %
                           tcp_ok.getsockname()[1]),
            "tcp_refused": dict(quick, tcp="127.0.0.1:%d" % closed),
            "tcp_timeout": dict(quick, tcp="127.0.0.1:%d" %
                                full.getsockname()[1]),
            "exec_ok": dict(quick, exec=["/bin/true"]),
            "exec_fail": dict(quick, exec=[
                "/bin/sh", "-c", "echo 'disk /var 97% full'; echo more; "
                "exit 1"]),
            "exec_timeout": dict(quick, exec=["/bin/sleep", "5"]),
        }
        t0 = time.monotonic()
        self.start_world(checks)
        want = {
            "http_ok": (True, r"^HTTP 200$"),
            "http_status": (False, r"^HTTP 503$"),
            "http_expect": (True, r"^HTTP 503$"),
            "http_refused": (False, r"(?i)connect"),
            "http_timeout": (False, r"(?i)timeout"),
            "tcp_ok": (True, r"^connected$"),
            "tcp_refused": (False, r"^Connection refused$"),
            "tcp_timeout": (False, r"^connect timeout$"),
            "exec_ok": (True, r"^exit 0$"),
            "exec_fail": (False, r"^exit 1: disk /var 97% full$"),
            "exec_timeout": (False, r"^timed out after \d+ms, killed after \d+ms$"),
        }
        for name, (up, rx) in sorted(want.items()):
            with self.subTest(check=name):
                c = self.wait_probed(name)
                H.log("%-13s up=%-5s reason=%r probes=%d failures=%d" % (
                    name, c["up"], c["reason"], c["probes"], c["failures"]))
                self.assertIs(c["up"], up, c)
                self.assertRegex(c["reason"], rx)
                # Every service waits for the first stats poll too
                # (DESIGN.md: "starting"), which a slow run may not have
                # had yet when a quick check already has.
                svc = wait_for(
                    lambda: (lambda s: s if not s["reason"].startswith(
                        "starting") else None)(
                        self.hw.service("svc_" + name)),
                    H.T_STATE, "svc_%s to leave starting" % name)
                self.assertEqual(svc["state"], "up" if up else "down", svc)
                if not up:
                    self.assertEqual(svc["reason"], "%s: %s" % (
                        name, c["reason"]))
                    self.assertEqual(c["failures"], c["probes"])
                cond = svc["conditions"][0]
                self.assertEqual((cond.get("check"), cond.get("ok")),
                                 (name, up), svc["conditions"])
        # A timeout is the check's own timeout, not some longer default.
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 10 * H.SCALE)
        m = self.hw.metrics()
        self.assertEqual(H.metric(m, "hapwatch_check_up", check="http_ok"), 1)
        self.assertEqual(H.metric(m, "hapwatch_check_up", check="http_timeout"), 0)
        self.hw.stop()

    # ---- rise / fall, probe by probe ----

    def test_rise_fall_counting(self):
        env = self.env
        P, F = True, False
        # first probe sets up; 2 failures keep it up, the 3rd takes it
        # down; 1 pass keeps it down, the 2nd brings it up; an interrupted
        # streak starts over.
        seq = [P, F, F, F, P, P, F, P, F, F, P, F, F, F, P, F, P, P, P]
        rise, fall = 2, 3
        want = model(seq, rise, fall)
        self.assertEqual(want[:7], [P, P, P, F, F, P, P])	# the model

        d = env.path("gx")
        os.mkdir(d)
        U.write_file(os.path.join(d, "seq"),
                     "".join("0\n" if ok else "1\n" for ok in seq))
        U.write_file(os.path.join(d, "started"), "")
        script = U.write_script(env.path("gated-exec"), GATED_EXEC)
        srv = CheckServer(env.port())
        srv.gate = Gate(seq)
        self.addCleanup(srv.close)
        common = {"interval": "50ms", "timeout": "20s", "rise": rise,
                  "fall": fall}
        self.start_world({
            "gx": dict(common, exec=[script, d]),
            "gh": dict(common, http="http://127.0.0.1:%d/seq" %
                       srv.srv.server_address[1])})
        trace = []
        for n, (ok, up) in enumerate(zip(seq, want), 1):
            st = wait_for(lambda: (lambda s: s if s["checks"]["gx"][
                "probes"] >= n and s["checks"]["gh"]["probes"] >= n
                else None)(self.hw.status()), H.T_STATE,
                "probe %d of both checks" % n)
            fails = seq[:n].count(False)
            for name in ("gx", "gh"):
                c = st["checks"][name]
                svc = st["services"]["svc_" + name]
                self.assertEqual((c["probes"], c["failures"]), (n, fails),
                                 "%s after probe %d: %r" % (name, n, c))
                self.assertIs(c["up"], up, "%s after probe %d (%s): %r" % (
                    name, n, "pass" if ok else "fail", c))
                self.assertEqual(svc["state"], "up" if up else "down",
                                 "service of %s after probe %d" % (name, n))
            trace.append("%s%s" % ("P" if ok else "F", "^" if up else "v"))
            U.write_file(os.path.join(d, "ack.%d" % n), "")
            srv.gate.ack(n)
        H.log("probe outcomes and state after each (^ up, v down): %s" %
              " ".join(trace))
        # The services' transitions are exactly the check's state changes.
        changes = sum(1 for a, b in zip(want, want[1:]) if a != b)
        for name in ("gx", "gh"):
            self.assertEqual(len(U.log_lines(
                self.hw.proc, r"service svc_%s: (up -> down|down -> up)" %
                name)), changes + 1, "transitions of svc_%s" % name)
        self.hw.stop()

    # ---- a hung exec is killed whole ----

    def hung_exec(self, ignore_term):
        pids = self.env.path("pids")
        script = U.write_script(self.env.path("hang"), """#!/bin/sh
%s
sleep 1000 &
echo "$$ $!" >> %s
wait
""" % ("trap '' TERM" if ignore_term else "", pids))
        self.start_world({"hung": {"exec": [script], "interval": "100ms",
                                   "timeout": "300ms", "rise": 1,
                                   "fall": 1}})
        c = self.wait_probed("hung")
        self.assertIs(c["up"], False)
        self.assertRegex(c["reason"], r"^timed out after \d+ms, killed after \d+ms$")
        first = (U.read_text(pids) or "").split("\n")[0].split()
        sh_pid, sleep_pid = int(first[0]), int(first[1])
        wait_for(lambda: U.gone(sh_pid) and U.gone(sleep_pid), H.T_STATE,
                 "the first probe's sh and sleep 1000 to be gone")
        self.assertEqual(U.pids_in_group(sh_pid), [])
        self.hw.stop()
        # A probe may have been running when hapwatch stopped: its group
        # was signalled then, but on a loaded machine the signalled
        # processes (the sleep is not hapwatch's child: it does not wait
        # for it) may not have run yet to die. Wait for them with a
        # deadline; whatever is left then was never signalled.
        every = [int(p) for line in (U.read_text(pids) or "").splitlines()
                 for p in line.split()]

        def left():
            return [p for p in every if not U.gone(p)]
        try:
            wait_for(lambda: not left(), H.T_STATE,
                     "every probe's processes to be gone")
        finally:
            still = left()
            for p in still:
                U.kill_quietly(p)
        self.assertEqual(still, [], "processes left after hapwatch stopped")
        return c

    def test_hung_exec_killed_with_children(self):
        c = self.hung_exec(ignore_term=False)
        H.log("obeys SIGTERM: %s" % c["reason"])

    def test_hung_exec_ignoring_term(self):
        c = self.hung_exec(ignore_term=True)
        H.log("ignores SIGTERM: %s" % c["reason"])
        # The reason names the timeout, then when it was finally gone:
        # SIGKILL comes 2s (CHILD_KILL_GRACE_MS) after SIGTERM.
        m = re.search(r"timed out after (\d+)ms, killed after (\d+)ms",
                      c["reason"])
        self.assertIsNotNone(m, c["reason"])
        self.assertEqual(int(m.group(1)), 300)
        self.assertGreaterEqual(int(m.group(2)), 2000)


if __name__ == "__main__":
    H.main()
