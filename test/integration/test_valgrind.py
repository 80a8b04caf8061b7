"""hapwatch under valgrind (memcheck) through a representative run.

    valgrind --error-exitcode=99 --leak-check=full
             --errors-for-leak-kinds=definite,indirect --track-fds=yes

Scenario: a real HAProxy (backend app, two servers), hapwatch with an
ELB-style http listener, an agent listener, a tcp listener (open only while
up), an admin listener (/status, /metrics), an http check through libcurl,
and every kind of notification (exec hook, webhook to a local receiver,
track file). Up -> both backends killed -> down -> revived -> up; the
operator drains and readies the service; a SIGHUP reload with a changed
config; SIGTERM. hapwatch must exit 0 (valgrind's 99 means errors) with
no memory error, no definite or indirect leak, and no file descriptor of
its own left open at exit.

valgrind cannot run an AddressSanitizer build: when $HAPWATCH_BIN is one
(ctest in build-asan), the plain build beside it is used (build-asan ->
build, build-X-asan -> build-X; $HAPWATCH_VALGRIND_BIN overrides), and its
absence is a failure. Deadlines are generous: valgrind is ~20x slower.
"""
import http.server
import json
import os
import re
import signal
import threading

import harness as H
from harness import agent, get, tcp_read, tcp_refused, wait_for
import stress as R

VALGRIND = "/usr/bin/valgrind"
HEALTH = "/haproxy_status"
SLOW = 90.0		# a state change under valgrind


def read(path):
    with open(path) as f:
        return f.read()


def plain_binary():
    """A hapwatch binary that valgrind can run (not sanitized)."""
    cand = os.environ.get("HAPWATCH_VALGRIND_BIN")
    if cand:
        return cand
    b = H.hapwatch_bin()
    if not R.is_sanitized(b):
        return b
    bdir = os.path.dirname(os.path.abspath(b))
    plain = re.sub(r"-asan$", "", bdir)
    cand = os.path.join(os.path.dirname(plain), os.path.basename(plain),
                        "hapwatch")
    if plain == bdir or not os.access(cand, os.X_OK) or \
            R.is_sanitized(cand):
        raise AssertionError(
            "%s is an ASan build and there is no plain build beside it (%s);"
            " build one (./dev build) or set HAPWATCH_VALGRIND_BIN" % (
                b, cand))
    return cand


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver: records POSTed JSON bodies."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port):
        self.bodies = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(h):
                n = int(h.headers.get("Content-Length") or 0)
                self.bodies.append(json.loads(h.rfile.read(n)))
                h.send_response(200)
                h.send_header("Content-Length", "0")
                h.end_headers()

            def log_message(h, *a):
                pass
        super().__init__(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.shutdown()
        self.server_close()


class ValgrindTest(H.Case):

    def test_elb_flow_under_valgrind(self):
        if not os.access(VALGRIND, os.X_OK):
            raise AssertionError("%s is missing: install valgrind "
                                 "(./dev deps)" % VALGRIND)
        binary = plain_binary()
        H.log("valgrind runs %s" % binary)
        env = self.env
        b = self.backends()
        ports = b.add_many("s", 2)
        hap = self.haproxy(H.hap_backend("app", ports)).start()
        port, ag, tcp, hook_port = env.port(), env.port(), env.port(), \
            env.port()
        rcv = Receiver(hook_port)
        self.addCleanup(rcv.close)
        track = env.path("web.track")
        hooked = env.path("hook.out")
        hook = env.path("hook.sh")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\necho \"$HAPWATCH_SERVICE $HAPWATCH_STATE\" "
                    ">> %s\n" % hooked)
        os.chmod(hook, 0o755)
        config = {
            "haproxy": {"stats": hap.stats_url, "interval": "200ms",
                        "timeout": "3s", "grace": "30s", "settle": "0s"},
            "checks": {"s1": {"http": "http://127.0.0.1:%d/" % ports[0],
                              "interval": "500ms", "timeout": "5s"}},
            "services": {"web": {"require": [{"backend": "app"}]},
                         "s1up": {"require": [{"check": "s1"}]}},
            "listen": [{"http": "127.0.0.1:%d" % port,
                        "paths": {HEALTH: "web"}},
                       {"agent": "127.0.0.1:%d" % ag, "service": "web"},
                       {"tcp": "127.0.0.1:%d" % tcp, "service": "web"}],
            "notify": [{"exec": [hook], "services": ["web"]},
                       {"webhook": "http://127.0.0.1:%d/hook" % hook_port,
                        "services": ["web"]},
                       {"track_file": track, "services": ["web"]}],
        }
        vlog = env.path("valgrind.log")
        hw = R.Hapwatch(env, config, binary=binary, wrapper=[
            VALGRIND, "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--track-fds=yes",
            "--log-file=" + vlog]).start()
        hw.wait_state("web", "up", timeout=SLOW)
        hw.wait_state("s1up", "up", timeout=SLOW)
        self.assertEqual(get(port, HEALTH)[0], 200)
        self.assertEqual(agent(ag, timeout=SLOW), b"up 100%\n")
        self.assertEqual(tcp_read(tcp, timeout=SLOW), b"up\n")

        # Backends killed: down everywhere.
        b.stop("s1", "s2")
        hw.wait_state("web", "down", timeout=SLOW)
        hw.wait_state("s1up", "down", timeout=SLOW)
        self.assertEqual(get(port, HEALTH)[0], 503)
        self.assertTrue(agent(ag, timeout=SLOW).startswith(b"down #"))
        wait_for(lambda: tcp_refused(tcp), SLOW, "the tcp port to close")
        wait_for(lambda: read(track) == "1\n", SLOW,
                 "the track file to say 1")

        # Revived: up again.
        b.start("s1", "s2")
        hw.wait_state("web", "up", timeout=SLOW)
        self.assertEqual(get(port, HEALTH)[0], 200)
        wait_for(lambda: tcp_read(tcp, timeout=SLOW) == b"up\n", SLOW,
                 "the tcp port to open again")
        wait_for(lambda: read(track) == "0\n", SLOW,
                 "the track file to say 0")

        # The operator drains and readies it.
        st, _, _ = H.http("POST", hw.admin_port, "/services/web/drain",
                          timeout=SLOW)
        self.assertEqual(st, 200)
        hw.wait_state("web", "drain", timeout=SLOW)
        self.assertEqual(agent(ag, timeout=SLOW), b"up 0% #drain\n")
        st, _, _ = H.http("POST", hw.admin_port, "/services/web/ready",
                          timeout=SLOW)
        self.assertEqual(st, 200)
        hw.wait_state("web", "up", timeout=SLOW)
        self.assertIn(b"hapwatch_service_up", H.http(
            "GET", hw.admin_port, "/metrics", timeout=SLOW)[2])

        # SIGHUP: a changed config (a second health path) is swapped in.
        hw.config["listen"][0]["paths"]["/second"] = "web"
        hw.write()
        hw.proc.signal(signal.SIGHUP)
        wait_for(lambda: hw.status()["config"]["reloads"] == 1, SLOW,
                 "the SIGHUP reload")
        wait_for(lambda: get(port, "/second")[0] == 200, SLOW,
                 "the new path to answer")
        self.assertEqual(get(port, HEALTH)[0], 200)

        wait_for(lambda: len(rcv.bodies) >= 4, SLOW, "4 webhooks")
        wait_for(lambda: len(read(hooked).splitlines()) >= 4, SLOW,
                 "4 hook runs")
        self.assertEqual(hw.stop(timeout=SLOW), 0)
        self.judge_log(vlog)

    def judge_log(self, vlog):
        with open(vlog) as f:
            text = f.read()
        H.log("valgrind: " + "; ".join(
            l.split("== ", 1)[1].strip() for l in text.splitlines()
            if re.search(r"ERROR SUMMARY|definitely lost|indirectly lost|"
                         r"possibly lost|FILE DESCRIPTORS", l)))
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        self.assertIsNotNone(m, "no ERROR SUMMARY in %s" % vlog)
        self.assertEqual(m.group(1), "0", text[-4000:])
        for kind in ("definitely", "indirectly"):
            m = re.search(r"%s lost: ([\d,]+) bytes" % kind, text)
            if m:	# absent when nothing at all is in use at exit
                self.assertEqual(m.group(1), "0", text[-4000:])
        # Every fd open at exit was inherited (stdio, valgrind's log).
        self.assertIn("FILE DESCRIPTORS", text)
        blocks, cur = [], None
        for line in text.splitlines():
            body = re.sub(r"^==\d+==", "", line).strip()
            if body.startswith("Open "):
                cur = [body]
                blocks.append(cur)
            elif cur is not None and body:
                cur.append(body)
            else:
                cur = None
        own = [b for b in blocks if "<inherited from parent>" not in b]
        self.assertEqual(own, [], "fds hapwatch left open at exit")


if __name__ == "__main__":
    H.main()
