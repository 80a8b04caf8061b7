#!/usr/bin/env python3
"""Capture what every HAProxy of the matrix says, for test/unit/data/.

    python3 test/fuzz/capture_versions.py [host|3.0|3.2|3.4 ...] [--out DIR]

With no version, all four. The host's HAProxy is /usr/sbin/haproxy (2.6 on
Debian 12); the others run from the Debian roots of test/tools/mkroot
through test/tools/inroot, as the integration harness runs them
(HAPWATCH_ROOTS points at roots already built). Each version gets the same
world on loopback, set to the same states, and its answers are written as
raw bytes to <DIR>/hapMN_* (MN: major and minor version, so hap26, hap30,
hap32, hap34; DIR defaults to test/unit/data). hapMN_captures.txt lists
every file with the command that produced it; test/unit/data/README.md
says what the world is. Then run test/fuzz/seeds.py to refresh the fuzz
seeds from the captures. It takes about 35 s per version (the first health
checks are spread over the longest check interval, 30 s here).

The world (hapMN_haproxy.cfg is the config as it ran, with its ports):

* HTTP backends (threads of this script) answering 200, one answering 404
  (`http-check disable-on-404`: NOLB), a closed port (DOWN), agents with
  fixed replies (one holds a comma and quotes), and servers driven to
  MAINT, DRAIN, weight 0, tracked MAINT and the transitional "UP 1/2" and
  "DOWN 1/2" (a 30 s fastinter holds those still while the capture runs).
* A frontend that returns HAProxy's own %[nbsrv(<be>)] for every backend:
  hapMN_expect.txt holds it, with Pid, Version, each backend row's
  act/bck/status and each server's status, read before and after the
  capture (which fails if anything moved), so that the unit tests hold
  hapwatch's arithmetic against HAProxy's own.
* On 3.4, four more backends made unpublished (`unpublish backend`).

Commands are sent as hapwatch sends them: one line ending in a bare LF, no
half-close, read to EOF. Everything runs in a temporary directory and is
stopped at the end; the script exits 1 rather than write a capture taken
in a state other than the one described.
"""
import argparse
import csv
import http.server
import io
import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

FUZZ = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(FUZZ))
TOOLS = os.path.join(TOP, "test", "tools")
DATA = os.path.join(TOP, "test", "unit", "data")
DEADLINE = 90.0


def haproxy_cmd(version):
    """argv prefix that runs this HAProxy (as harness._haproxy_cmd)."""
    if version == "host":
        return ["/usr/sbin/haproxy"]
    r = subprocess.run([os.path.join(TOOLS, "mkroot"), "haproxy-" + version],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        sys.exit("HAProxy %s: cannot build its root: %s" % (
            version, r.stderr.strip()))
    return [os.path.join(TOOLS, "inroot"), r.stdout.strip(),
            "/usr/sbin/haproxy"]


def wait_for(pred, what, timeout=DEADLINE):
    """Poll pred() (returning (done, what it saw)) until done."""
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        try:
            done, seen = pred()
        except (OSError, ValueError, KeyError) as e:
            done, seen = False, "%s: %s" % (type(e).__name__, e)
        if done:
            return seen
        if time.monotonic() >= deadline:
            sys.exit("timed out after %.0fs waiting for %s; last seen: %s" %
                     (timeout, what, seen))
        time.sleep(0.05)


# ---- the world's servers ------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def _answer(self):
        self.send_response(self.server.code)
        self.send_header("Content-Length", "3")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"ok\n")

    do_GET = do_HEAD = do_OPTIONS = _answer

    def log_message(self, *args):
        pass


class HTTPBackend(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port, code=200):
        self.code = code
        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address):
        pass                    # health checks reset their connections

    def stop(self):
        self.shutdown()
        self.server_close()


class Agent:
    """An agent-check target: the same reply on every connection."""

    def __init__(self, port, reply):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.sendall(self.reply)
            except OSError:
                pass
            c.close()

    def stop(self):
        self.sock.close()


class Ports:
    """Loopback ports held bound (SO_REUSEADDR, never listening) until the
    end, as the harness does: nobody else is handed them, and a connect to
    one is refused until a server of ours listens there."""

    def __init__(self):
        self.held = []

    def __call__(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        self.held.append(s)
        return s.getsockname()[1]

    def close(self):
        for s in self.held:
            s.close()


# ---- the config ------------------------------------------------------------

AGENT_REPLIES = {
    "ag_up": b'up 75% # all, "good"\n',
    "ag_drain": b"drain\n",
    "ag_down": b"down # agent, says no\n",
}

# The backends a targeted poll names, in its order, with whether it asks
# for their server rows (6) or not (2). "nosuch" does not exist.
TARGETED = [("web", 6), ("api.v2:x-1", 2), ("nosuch", 2), ("agents", 6),
            ("bk_first", 2), ("bk_all", 2), ("bkonly", 6), ("empty", 2),
            ("drained", 6), ("alldown", 2), ("be", 6), ("slow", 6),
            ("off", 2)]
UNPUB = ["unpub", "unpub_down", "unpub_empty", "unpub_bk"]
ALLBACKUPS = {"bk_all"}
CHK = "check inter 300ms fall 1 rise 1"


def config_backends(p):
    s = "\tserver %s 127.0.0.1:%d %s"
    return [
        "# 3 actives: 2 UP, 1 DOWN -> nbsrv 2, capacity 66",
        "backend web",
        "\toption httpchk GET /health",
        s % ("s1", p["up1"], CHK),
        s % ("s2", p["up2"], CHK),
        s % ("s3", p["closed"], CHK),
        "",
        "# no health check, a name with '.', ':' and '-'; one at weight 0",
        "backend api.v2:x-1",
        s % ("n1", p["up1"], ""),
        s % ("n2", p["up1"], "weight 0"),
        "",
        "# 1 active DOWN, 2 backups UP, no allbackups -> nbsrv 1",
        "backend bk_first",
        "\toption httpchk GET /health",
        s % ("a1", p["closed"], CHK),
        s % ("b1", p["up1"], CHK + " backup"),
        s % ("b2", p["up2"], CHK + " backup"),
        "",
        "# the same with allbackups -> nbsrv 2",
        "backend bk_all",
        "\toption allbackups",
        "\toption httpchk GET /health",
        s % ("a1", p["closed"], CHK),
        s % ("b1", p["up1"], CHK + " backup"),
        s % ("b2", p["up2"], CHK + " backup"),
        "",
        "# backups only, both UP -> act 0, bck 2, nbsrv 1",
        "backend bkonly",
        "\toption httpchk GET /health",
        s % ("b1", p["up1"], CHK + " backup"),
        s % ("b2", p["up2"], CHK + " backup"),
        "",
        "# no server: status UP, act 0, bck 0, nbsrv 0",
        "backend empty",
        "",
        "# actives drained (CLI) and at weight 0 (CLI), a backup UP",
        "backend drained",
        "\toption httpchk GET /health",
        s % ("d1", p["up1"], CHK),
        s % ("d2", p["up2"], CHK),
        s % ("d3", p["up1"], CHK + " backup"),
        "",
        "# every server DOWN: status DOWN",
        "backend alldown",
        "\toption httpchk GET /health",
        s % ("x1", p["closed"], CHK),
        s % ("x2", p["closed"], CHK + " backup"),
        "",
        "# one server per state",
        "backend be",
        "\toption httpchk GET /health",
        "\thttp-check disable-on-404",
        s % ("up1", p["up1"], CHK),
        s % ("maint1", p["up1"], CHK),
        s % ("drain1", p["up2"], CHK),
        s % ("nolb1", p["notfound"], CHK),
        s % ("w0", p["up2"], CHK),
        s % ("down1", p["closed"], CHK),
        s % ("nochk", p["up1"], ""),
        s % ("trk", p["up2"], "track be/maint1"),
        s % ("goingup", p["goingup"], "check inter 300ms downinter 300ms "
             "fastinter 30s rise 2 fall 1"),
        s % ("cfgoff", p["up1"], CHK + " disabled"),
        s % ("goingdown", p["goingdown"], "check inter 300ms fastinter 30s "
             "rise 1 fall 2"),
        s % ("bk1", p["up2"], CHK + " backup"),
        "",
        "# the default rise 2 fall 3: before its first check a server is",
        "# \"UP 1/3\", and \"UP -1/3\" on 3.4 (hapMN_show_stat_startup.csv)",
        "backend slow",
        "\toption httpchk GET /health",
        s % ("s1", p["up1"], "check inter 300ms"),
        s % ("s2", p["up2"], "check inter 300ms"),
        s % ("s3", p["up1"], "check inter 300ms"),
        "",
        "# agent-only servers: the agent's word alone (weight 100: 75% is 75)",
        "backend agents"] + [
        s % (name, p["up1"], "weight 100 agent-check agent-port %d "
             "agent-inter 300ms" % p[name]) for name in AGENT_REPLIES] + [
        "",
        "# disabled in the config",
        "backend off",
        "\tdisabled",
        s % ("o1", p["up1"], "")]


def config_unpub(p):
    s = "\tserver %s 127.0.0.1:%d %s"
    return [
        "",
        "# 3.4: made unpublished with the CLI (unpublish backend)",
        "backend unpub",
        "\toption httpchk GET /health",
        s % ("s1", p["up1"], CHK),
        s % ("s2", p["up2"], CHK),
        s % ("s3", p["closed"], CHK),
        "backend unpub_down",
        "\toption httpchk GET /health",
        s % ("s1", p["closed"], CHK),
        "backend unpub_empty",
        "backend unpub_bk",
        "\toption httpchk GET /health",
        s % ("s1", p["closed"], CHK),
        s % ("b1", p["up1"], CHK + " backup")]


def config(d, p, unpub):
    b = ["global",
         "\tstats socket %s/admin.sock level admin" % d,
         "\tstats socket %s/operator.sock level operator" % d,
         "\tstats socket %s/user.sock level user" % d,
         "\tstats timeout 10s",
         "",
         "defaults",
         "\tmode http",
         "\ttimeout connect 1s",
         "\ttimeout client 5s",
         "\ttimeout server 5s",
         "",
         "frontend fe_only",
         "\tbind 127.0.0.1:%d" % p["fe"],
         "\tdefault_backend web",
         "",
         "# HAProxy's own nbsrv() of every backend: GET /nbsrv/<backend>",
         "frontend hw_nbsrv",
         "\tbind 127.0.0.1:%d" % p["nbsrv"]]
    for be in backends(unpub):
        b.append('\thttp-request return status 200 content-type text/plain '
                 'lf-string "%%[nbsrv(%s)]" if { path /nbsrv/%s }' % (be, be))
    b += ["\thttp-request return status 404",
          "",
          "listen stats",
          "\tbind 127.0.0.1:%d" % p["stats"],
          "\tstats enable",
          "\tstats uri /stats",
          ""]
    b += config_backends(p)
    if unpub:
        b += config_unpub(p)
    return "\n".join(b) + "\n"


def backends(unpub):
    """Every backend of the config, in its order."""
    out = [be for be, _ in TARGETED if be != "nosuch"]
    return out + (UNPUB if unpub else [])


# Every server's status once the world is set, in HAProxy's words (the
# same on every version: one that words a state otherwise stops the
# capture).
WANT_STATUS = {
    ("web", "s1"): "UP", ("web", "s2"): "UP", ("web", "s3"): "DOWN",
    ("api.v2:x-1", "n1"): "no check", ("api.v2:x-1", "n2"): "no check",
    ("bk_first", "a1"): "DOWN", ("bk_first", "b1"): "UP",
    ("bk_first", "b2"): "UP",
    ("bk_all", "a1"): "DOWN", ("bk_all", "b1"): "UP", ("bk_all", "b2"): "UP",
    ("bkonly", "b1"): "UP", ("bkonly", "b2"): "UP",
    ("drained", "d1"): "DRAIN", ("drained", "d2"): "UP",
    ("drained", "d3"): "UP",
    ("alldown", "x1"): "DOWN", ("alldown", "x2"): "DOWN",
    ("be", "up1"): "UP", ("be", "maint1"): "MAINT", ("be", "drain1"): "DRAIN",
    ("be", "nolb1"): "NOLB", ("be", "w0"): "UP", ("be", "down1"): "DOWN",
    ("be", "nochk"): "no check", ("be", "trk"): "MAINT (via be/maint1)",
    ("be", "goingup"): "DOWN 1/2", ("be", "cfgoff"): "MAINT",
    ("be", "goingdown"): "UP 1/2", ("be", "bk1"): "UP",
    ("slow", "s1"): "UP", ("slow", "s2"): "UP", ("slow", "s3"): "UP",
    ("agents", "ag_up"): "no check", ("agents", "ag_drain"): "DRAIN (agent)",
    ("agents", "ag_down"): "DOWN (agent)",
    ("unpub", "s1"): "UP", ("unpub", "s2"): "UP", ("unpub", "s3"): "DOWN",
    ("unpub_down", "s1"): "DOWN",
    ("unpub_bk", "s1"): "DOWN", ("unpub_bk", "b1"): "UP",
}
# Set by the CLI, or transitional: reached in set_states(), not at start.
LATER = {("drained", "d1"), ("drained", "d2"), ("be", "maint1"),
         ("be", "drain1"), ("be", "w0"), ("be", "trk"), ("be", "goingup"),
         ("be", "goingdown")}


def parse_csv(text):
    """show stat CSV -> {(pxname, svname): row dict}."""
    lines = text.rstrip("\n").split("\n")
    if not lines[0].startswith("# "):
        raise ValueError("not show stat output: %r" % text[:100])
    rd = list(csv.reader(io.StringIO("\n".join([lines[0][2:]] + lines[1:]))))
    return {(r[0], r[1]): dict(zip(rd[0], r)) for r in rd[1:]}


def usable(row):
    """srv_currently_usable() from a server row (HAPROXY.md section 3)."""
    return int(row["weight"] or 0) > 0 and (
        row["status"] in ("UP", "no check") or
        re.fullmatch(r"UP -?\d+/\d+", row["status"]) is not None)


# ---- talking to HAProxy -------------------------------------------------

class World:
    def __init__(self, version):
        self.cmd = haproxy_cmd(version)
        out = subprocess.run(self.cmd + ["-v"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout
        m = re.search(r"version (\d+)\.(\d+)\.(\d+)", out)
        if not m:
            sys.exit("cannot tell HAProxy %s's version: %r" % (version, out))
        self.vt = tuple(int(x) for x in m.groups())
        self.prefix = "hap%d%d" % self.vt[:2]
        self.unpub = self.vt >= (3, 4)
        self.dir = tempfile.mkdtemp(prefix="hapwatch-capture.")
        self.ports = Ports()
        self.servers = []
        self.proc = None
        self.goingdown = self.goingup = None
        self.unpublish_reply = None

    def start(self):
        p = self.p = {k: self.ports() for k in (
            "fe", "nbsrv", "stats", "up1", "up2", "notfound", "closed",
            "goingup", "goingdown")}
        for name in AGENT_REPLIES:
            p[name] = self.ports()
        self.servers.append(HTTPBackend(p["up1"]))
        self.servers.append(HTTPBackend(p["up2"]))
        self.servers.append(HTTPBackend(p["notfound"], 404))
        self.goingdown = HTTPBackend(p["goingdown"])
        for name, reply in AGENT_REPLIES.items():
            self.servers.append(Agent(p[name], reply))
        self.cfg = config(self.dir, p, self.unpub)
        with open(os.path.join(self.dir, "haproxy.cfg"), "w") as f:
            f.write(self.cfg)
        log = open(os.path.join(self.dir, "haproxy.log"), "wb")
        self.proc = subprocess.Popen(
            self.cmd + ["-db", "-f", os.path.join(self.dir, "haproxy.cfg")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()

        def answers():
            if self.proc.poll() is not None:
                sys.exit("HAProxy exited: %s" % self.tail())
            pid = self.info().get("Pid")
            return pid == str(self.proc.pid), pid
        wait_for(answers, "HAProxy to answer on its stats socket")

    def tail(self):
        with open(os.path.join(self.dir, "haproxy.log"), "rb") as f:
            return f.read()[-3000:].decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for s in self.servers + [self.goingdown, self.goingup]:
            if s is not None:
                try:
                    s.stop()
                except OSError:
                    pass
        self.ports.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def cli(self, cmd, sock="admin"):
        """One command line as hapwatch sends it: a bare LF, no
        half-close, read to EOF."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        try:
            s.connect(os.path.join(self.dir, sock + ".sock"))
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while True:
                b = s.recv(65536)
                if not b:
                    return out
                out += b
        finally:
            s.close()

    def cli_ok(self, cmd):
        out = self.cli(cmd)
        if out.strip() != b"":
            sys.exit("HAProxy refused %r: %r" % (cmd, out))

    def info(self):
        out = {}
        for line in self.cli("show info").decode().splitlines():
            k, sep, v = line.partition(": ")
            if sep:
                out[k] = v
        return out

    def rows(self, args="-1 6 -1"):
        return parse_csv(self.cli("show stat " + args).decode())

    def statuses(self):
        return {k: v["status"] for k, v in self.rows().items()
                if v["type"] == "2"}

    def nbsrv(self, be):
        with urllib.request.urlopen("http://127.0.0.1:%d/nbsrv/%s" % (
                self.p["nbsrv"], be), timeout=10) as r:
            return int(r.read())

    # ---- getting the world into its states ----

    def wanted(self, keys=None):
        return [k for k in (keys or WANT_STATUS)
                if self.unpub or k[0] not in UNPUB]

    def settled(self, keys):
        st = self.statuses()
        bad = {k: (st.get(k), WANT_STATUS[k]) for k in keys
               if st.get(k) != WANT_STATUS[k]}
        return not bad, "not yet (seen, wanted): %r" % bad

    def set_states(self):
        wait_for(lambda: self.settled(self.wanted(
            [k for k in WANT_STATUS if k not in LATER])),
            "the first health checks")
        self.cli_ok("set server drained/d1 state drain")
        self.cli_ok("set weight drained/d2 0")
        self.cli_ok("disable server be/maint1")
        self.cli_ok("set server be/drain1 state drain")
        self.cli_ok("set weight be/w0 0")
        # goingdown: fully UP, then its port closes: one failed check
        # (fall 2) makes it "UP 1/2", and fastinter 30s holds it there.
        wait_for(lambda: (self.statuses()[("be", "goingdown")] == "UP",
                          self.statuses()[("be", "goingdown")]),
                 "be/goingdown to be fully UP")
        self.goingdown.stop()
        # goingup: DOWN (fall 1) on a closed port, then a server comes: one
        # good check (rise 2) makes it "DOWN 1/2".
        wait_for(lambda: (self.statuses()[("be", "goingup")] == "DOWN",
                          self.statuses()[("be", "goingup")]),
                 "be/goingup to be DOWN")
        self.goingup = HTTPBackend(self.p["goingup"])
        if self.unpub:
            for be in UNPUB:
                self.unpublish_reply = self.cli("unpublish backend " + be)
        wait_for(lambda: self.settled(self.wanted()),
                 "every server in its state")

    def expect(self):
        """HAProxy's own word: Pid, Version, and per backend its nbsrv()
        and backend row, and every server's status."""
        info = self.info()
        rows = self.rows("-1 6 -1")
        out = ["pid %s" % info["Pid"], "version %s" % info["Version"]]
        for be in backends(self.unpub):
            r = rows.get((be, "BACKEND"))
            srv = [v for (px, sv), v in rows.items()
                   if px == be and v["type"] == "2"]
            nact = sum(1 for v in srv if v["bck"] == "0")
            out.append("backend %s nbsrv %d allbackups %d present %d act %s "
                       "bck %s actives %d backups %d status %s" % (
                           be, self.nbsrv(be), be in ALLBACKUPS, r is not None,
                           r["act"] if r else "-", r["bck"] if r else "-",
                           nact, len(srv) - nact,
                           r["status"] if r else "-"))
        st = self.statuses()
        for k in sorted(st):
            out.append("server %s %s %s" % (k[0], k[1], st[k]))
        return out


# ---- the capture ---------------------------------------------------------

def poll_line(targets):
    """checks/poller.c poller_build_line() for a targeted plan."""
    return "show info" + "".join(";show stat %s %d -1" % t for t in targets)


def check_startup(text):
    """The startup capture must be one consistent moment: in each backend
    row, act and bck are the usable servers of its rows."""
    rows = parse_csv(text.decode())
    for (px, sv), r in rows.items():
        if sv != "BACKEND":
            continue
        srv = [v for (p, _), v in rows.items() if p == px and v["type"] == "2"]
        act = sum(usable(v) for v in srv if v["bck"] == "0")
        bck = sum(usable(v) for v in srv if v["bck"] != "0")
        if (act, bck) != (int(r["act"]), int(r["bck"])):
            sys.exit("startup capture: %s changed while it was dumped "
                     "(rows %d/%d, backend row %s/%s): run again" % (
                         px, act, bck, r["act"], r["bck"]))


def reversed_csv(text):
    """The same CSV with its columns in reverse order (a derived file:
    every column the parser reads moves)."""
    lines = text.decode().rstrip("\n").split("\n")
    hdr = lines[0][2:].rstrip(",").split(",")

    def enc(v):
        return '"' + v.replace('"', '""') + '"' if any(
            c in v for c in ',"\r\n') else v
    out = ["# " + "".join(c + "," for c in reversed(hdr))]
    for row in csv.reader(io.StringIO("\n".join(lines[1:]) + "\n")):
        out.append("".join(enc(v) + "," for v in reversed(row[:-1])))
    return ("\n".join(out) + "\n\n").encode()


class Capture:
    def __init__(self, world):
        self.w = world
        self.files = {}
        self.manifest = []
        self.texts = []

    def put(self, name, data, how):
        self.files[name] = data
        self.manifest.append("%s_%s\t%s" % (self.w.prefix, name, how))

    def cli(self, name, cmd, sock="admin"):
        self.put(name, self.w.cli(cmd, sock), "%s socket: %s" % (sock, cmd))

    def text(self, cmd, sock="admin", note=None):
        """An answer gathered in hapMN_cli_texts.txt."""
        self.texts.append((cmd, sock, note, self.w.cli(cmd, sock)))

    def stats(self):
        w = self.w
        self.cli("show_info.txt", "show info")
        self.cli("show_stat.csv", "show stat")
        self.put("show_stat_reversed.csv", reversed_csv(
            self.files["show_stat.csv"]), "show_stat.csv, columns reversed "
            "(derived, not HAProxy's)")
        for f in ("-1 2 -1", "-1 6 -1", "-1 4 -1"):
            self.cli("show_stat_%s.csv" % f.replace(" ", "_"),
                     "show stat " + f)
        self.cli("show_stat_-1_2_-1_up.csv", "show stat -1 2 -1 up")
        self.cli("show_stat_-1_6_-1_user.csv", "show stat -1 6 -1", "user")
        for be, t in (("web", 2), ("web", 6), ("be", 6), ("agents", 6)) + (
                (("unpub", 6),) if w.unpub else ()):
            self.cli("show_stat_%s_%d_-1.csv" % (be, t),
                     "show stat %s %d -1" % (be, t))
        self.cli("show_stat_fe_only_2_-1.txt", "show stat fe_only 2 -1")
        self.cli("show_stat_nosuch_2_-1.txt", "show stat nosuch 2 -1")
        self.cli("show_stat_multi.txt", "show stat bk_first 6 -1;show stat "
                 "bk_all 6 -1;show stat empty 6 -1;show stat drained 6 -1")
        # Whole replies to lines as checks/poller.c builds them.
        targets = TARGETED + ([(be, 6) for be in UNPUB] if w.unpub else [])
        self.cli("poll_targeted.txt", poll_line(targets))
        self.cli("poll_error_mid.txt", poll_line([("web", 2), ("nosuch", 2),
                                                  ("be", 6)]))
        self.cli("poll_all2.txt", "show info;show stat -1 2 -1")
        self.cli("poll_all6.txt", "show info;show stat -1 6 -1")
        self.cli("show_servers_state.txt", "show servers state")
        url = "http://127.0.0.1:%d/stats;csv" % w.p["stats"]
        with urllib.request.urlopen(url, timeout=10) as r:
            self.put("stats_page.csv", r.read(), "GET /stats;csv")

    def errors(self):
        w = self.w
        self.text("show infox", note="unknown command")
        self.text("show stat domain dns", note="2.6's doc says dns")
        self.text("show stat nosuch 2 -1")
        self.text("show servers state nosuch")
        self.text("disable server be/up1", "user")
        self.text("disable server be/up1", "operator")
        self.text("disable frontend fe_only", "operator")
        self.text("set server nosuch/s1 state ready")
        self.text("set server web/nosuch state ready")
        self.text("set server web/s1 state bogus")
        self.text("disable frontend nosuch")
        self.text("disable frontend web", note="a backend's name")
        self.text("disable frontend fe_only", note="success: a blank line")
        self.text("disable frontend fe_only", note="again")
        fe = w.rows("fe_only 1 -1")[("fe_only", "FRONTEND")]["status"]
        self.texts.append(("(fe_only's status in show stat while disabled)",
                           "admin", None, fe.encode() + b"\n\n"))
        self.text("enable frontend fe_only")
        self.text("enable frontend fe_only", note="again")
        self.text("show stat web 2 -1\r", note="a line ending in CRLF")
        if w.unpub:
            self.texts.append(("unpublish backend unpub", "admin",
                               "when the capture made it unpublished",
                               w.unpublish_reply))
            self.text("unpublish backend unpub", note="again")
            self.text("unpublish backend nosuch")
            self.text("unpublish backend unpub", "operator")
            self.text("publish backend off", note="a disabled backend")
        out = []
        for cmd, sock, note, reply in self.texts:
            out.append(">>> %s%s%s\n" % (
                cmd.replace("\r", "\\r"),
                "" if sock == "admin" else "  [%s socket]" % sock,
                "  (%s)" % note if note else ""))
            out.append(reply.decode("utf-8", "replace"))
        self.put("cli_texts.txt", "".join(out).encode(),
                 "each command on a line of its own, after '>>> ' (its socket "
                 "when not admin), then the answer as it came")


def run(version, out_dir):
    w = World(version)
    c = Capture(w)
    try:
        w.start()
        # At once, before most first health checks: 2.6-3.2 show "UP 1/3",
        # 3.4 "UP -1/3" (slow's rise 2 fall 3) and "UP 0/1" (rise 1).
        c.cli("show_stat_startup.csv", "show stat -1 6 -1")
        c.manifest[-1] += " (right after start)"
        check_startup(c.files["show_stat_startup.csv"])
        w.set_states()
        before = w.expect()
        c.stats()
        c.errors()
        after = w.expect()
        if before != after:
            sys.exit("HAProxy %s changed during the capture:\n%s" % (
                version, "\n".join(sorted(set(before) ^ set(after)))))
        c.put("expect.txt", ("# HAProxy's own word while the capture ran "
                             "(test/fuzz/capture_versions.py)\n" +
                             "\n".join(before) + "\n").encode(),
              "Pid, Version, nbsrv() per backend, rows")
        c.put("haproxy.cfg", w.cfg.replace(w.dir, "/tmp/hapcap").encode(),
              "the config")
    finally:
        w.stop()
    c.files["captures.txt"] = ("# HAProxy %s, test/fuzz/capture_versions.py"
                               "\n" % ".".join(map(str, w.vt)) +
                               "\n".join(c.manifest) + "\n").encode()
    for name, data in c.files.items():
        with open(os.path.join(out_dir, "%s_%s" % (w.prefix, name)),
                  "wb") as f:
            f.write(data)
    print("%s: %d files from HAProxy %s" % (w.prefix, len(c.files),
                                           ".".join(map(str, w.vt))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("versions", nargs="*",
                    default=["host", "3.0", "3.2", "3.4"])
    ap.add_argument("--out", default=DATA)
    args = ap.parse_args()
    for v in args.versions:
        run(v, args.out)


if __name__ == "__main__":
    main()
