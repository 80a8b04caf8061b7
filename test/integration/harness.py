"""harness.py: the integration test harness (Python 3 standard library only).

Every test runs real processes on loopback: HAProxy (Debian's, in the
foreground so the harness owns its pid: the host's /usr/sbin/haproxy, or
with HAPWATCH_HAPROXY=3.0|3.2|3.4 the one of a Debian root made by
test/tools/mkroot and run by test/tools/inroot), small
HTTP backends (test/tools/backend.py) and hapwatch itself ($HAPWATCH_BIN).

Rules the tests follow:

* Each test has its own temp dir (kept when HAPWATCH_KEEP=1) and its own
  loopback ports. A port is taken with bind(127.0.0.1:0), so it comes from
  the ephemeral range, and the harness keeps that socket bound (with
  SO_REUSEADDR, never listening) until the test ends: parallel ctest jobs
  cannot be handed the same port, no outgoing connection can use it as its
  source port (so a connect to a closed test port can never connect to
  itself), and a connect to it is refused until the real server listens.
  Every server used here sets SO_REUSEADDR, which makes its bind succeed.
* Nothing sleeps in the hope that something happened: wait_for() polls a
  condition until a deadline and fails with what it last saw. Deadlines are
  generous (a loaded 2-core machine, an ASan build); HAPWATCH_TIMEOUT_SCALE
  multiplies them all.
* Every process is killed on every exit path (the test's cleanup, and
  PR_SET_PDEATHSIG should the test process itself die). On a failure the
  tail of every process's log is printed.
"""
import copy
import csv
import ctypes
import io
import json
import os
import re
import shlex
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HAPWATCH_SRC") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
TOOLS = os.path.join(SRC, "test", "tools")
PYTHON = "/usr/bin/python3"
BACKEND_TOOL = os.path.join(SRC, "test", "tools", "backend.py")
KEEP = os.environ.get("HAPWATCH_KEEP") == "1"
SCALE = float(os.environ.get("HAPWATCH_TIMEOUT_SCALE") or "1")

# Deadlines (seconds, before SCALE). A condition that holds returns at once,
# so these cost nothing when all is well.
T_START = 20.0		# a process starts and answers
T_STATE = 20.0		# a state change propagates HAProxy -> hapwatch -> client
T_STOP = 15.0		# a clean stop
T_IO = 10.0		# one socket operation


def hapwatch_bin():
    """The binary under test: $HAPWATCH_BIN (set by ctest)."""
    b = os.environ.get("HAPWATCH_BIN")
    if not b:
        for cand in ("build-it", "build"):
            p = os.path.join(SRC, cand, "hapwatch")
            if os.access(p, os.X_OK):
                b = p
                break
    if not b or not os.access(b, os.X_OK):
        raise AssertionError("HAPWATCH_BIN is not set to an executable "
                             "hapwatch (got %r); run through ctest" % b)
    return b


def _haproxy_cmd():
    """The command that runs the HAProxy under test, from the one setting
    HAPWATCH_HAPROXY: unset, "" or "host" for the host's; a version of the
    matrix (3.0, 3.2, 3.4) for Debian's HAProxy of that version in a root
    of its own that shares this host's network, pids and /tmp (built once
    by test/tools/mkroot, cached)."""
    want = os.environ.get("HAPWATCH_HAPROXY", "") or "host"
    if want == "host":
        return ["/usr/sbin/haproxy"], want
    r = subprocess.run([os.path.join(TOOLS, "mkroot"), "haproxy-" + want],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise AssertionError("HAProxy %s: cannot build its root: %s" % (
            want, r.stderr.strip()))
    return [os.path.join(TOOLS, "inroot"), r.stdout.strip(),
            "/usr/sbin/haproxy"], want


_HAPROXY = None


def haproxy_cmd():
    """argv prefix that runs HAProxy (then "-db", "-f", cfg...). Its pid is
    HAProxy's own: inroot execs it in place."""
    global _HAPROXY
    if _HAPROXY is None:
        _HAPROXY = _haproxy_cmd()
    return list(_HAPROXY[0])


_HAPROXY_VERSION = None


def haproxy_version():
    """The HAProxy under test's version, as a tuple of ints: (2, 6, 12)."""
    global _HAPROXY_VERSION
    if _HAPROXY_VERSION is None:
        out = subprocess.run(haproxy_cmd() + ["-v"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout
        m = re.search(r"version (\d+)\.(\d+)\.(\d+)", out)
        if not m:
            raise AssertionError("cannot tell HAProxy's version: %r" % out)
        _HAPROXY_VERSION = tuple(int(x) for x in m.groups())
    return _HAPROXY_VERSION


def require_haproxy():
    """A missing HAProxy is a failure, never a skip."""
    cmd = haproxy_cmd()
    if not os.access(cmd[-1] if len(cmd) == 1 else cmd[0], os.X_OK):
        raise AssertionError("%s is missing: install Debian's haproxy "
                             "package (./dev deps)" % cmd[-1])


def log(msg):
    """A line of test output (ctest shows it with -V or on failure)."""
    sys.stdout.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


# ---- waiting -------------------------------------------------------------

class _Fatal(Exception):
    """Raised by a predicate to stop waiting at once (a process died)."""


def wait_for(pred, timeout, what, interval=0.02):
    """Poll pred() every interval until it returns a true value, which is
    returned. Exceptions other than AssertionError count as "not yet" and are
    remembered. On the deadline, fail with `what` and the last value seen."""
    deadline = time.monotonic() + timeout * SCALE
    last = "<never evaluated>"
    while True:
        try:
            v = pred()
            last = v
        except (AssertionError, _Fatal):
            raise
        except Exception as e:  # noqa: BLE001 - any error means "not yet"
            v = None
            last = "%s: %s" % (type(e).__name__, e)
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s; last "
                                 "seen: %r" % (timeout * SCALE, what, last))
        time.sleep(interval)


# ---- processes -----------------------------------------------------------

# Children die with the test process, whatever kills it (ctest's timeout,
# ^C): util-linux's setpriv sets PR_SET_PDEATHSIG and execs the command (so
# the pid is the command's). preexec_fn could do it too, but is not safe
# with the probe threads some tests run.
SETPRIV = ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] \
    if os.access("/usr/bin/setpriv", os.X_OK) else []


def _child_setup():
    """PR_SET_PDEATHSIG(SIGKILL) from a preexec_fn (kept for callers that
    spawn their own processes; Env.spawn uses setpriv)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)	# PR_SET_PDEATHSIG


class Proc:
    """A process the test started, with its log file."""

    def __init__(self, env, name, argv, log_path, popen):
        self.env = env
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.popen = popen

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def check_alive(self):
        """Raise _Fatal (stops any wait_for) if the process has exited."""
        rc = self.popen.poll()
        if rc is not None:
            raise _Fatal("%s (pid %d) exited with %s; log tail:\n%s" % (
                self.name, self.pid, rc, tail(self.log_path, 40)))

    def signal(self, sig):
        if self.alive():
            try:
                self.popen.send_signal(sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout * SCALE)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        self.signal(signal.SIGKILL)
        self.popen.wait()

    def terminate(self, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status."""
        self.signal(signal.SIGTERM)
        rc = self.wait(timeout)
        if rc is None:
            self.kill()
            rc = self.popen.returncode
        return rc


def tail(path, n):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "<cannot read %s: %s>" % (path, e)
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-n:])


class Env:
    """One test's world: temp dir, ports and processes."""

    def __init__(self, test_id):
        self.dir = tempfile.mkdtemp(prefix="hw-")
        self.test_id = test_id
        self._ports = []
        self.procs = []
        # hapwatch keeps the operators' overrides under its state
        # directory: this test's own, never the machine's /var/lib/hapwatch
        # (and never another test's). Every process started from now on
        # inherits it, as systemd's StateDirectory= would set it.
        os.environ["STATE_DIRECTORY"] = self.path("state")

    def path(self, name):
        return os.path.join(self.dir, name)

    def port(self):
        """A free loopback port, reserved for this test (see the top)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        self._ports.append(s)
        return s.getsockname()[1]

    def spawn(self, name, argv, stdout_pipe=False, env=None):
        """Start argv with stderr (and stdout unless piped) appended to
        <dir>/<name>.log."""
        log_path = self.path(name + ".log")
        logf = open(log_path, "ab")
        try:
            logf.write(("==== %s: %s\n" % (time.strftime("%H:%M:%S"),
                                          " ".join(argv))).encode())
            logf.flush()
            p = subprocess.Popen(
                SETPRIV + argv, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout_pipe else logf,
                stderr=logf, cwd=self.dir, env=env)
        finally:
            logf.close()
        proc = Proc(self, name, argv, log_path, p)
        self.procs.append(proc)
        return proc

    def close(self, failed):
        for p in reversed(self.procs):
            if p.alive():
                if p.argv[0] in (haproxy_cmd()[0], PYTHON):
                    p.kill()
                else:
                    p.terminate(5.0)
            if p.popen.stdout is not None:
                p.popen.stdout.close()
        if failed:
            seen = set()
            for p in self.procs:
                if p.log_path in seen:
                    continue
                seen.add(p.log_path)
                n = 120 if "hapwatch" in p.name else 25
                sys.stderr.write("\n---- %s: last %d lines of %s ----\n%s\n" % (
                    self.test_id, n, p.log_path, tail(p.log_path, n)))
        for s in self._ports:
            s.close()
        if KEEP or failed:
            sys.stderr.write("test files of %s: %s%s\n" % (
                self.test_id, self.dir, "" if KEEP else " (removed)"))
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---- raw clients ---------------------------------------------------------

class ConnClosed(Exception):
    """The peer closed before a complete response."""


class Conn:
    """One client TCP connection for exact HTTP tests."""

    def __init__(self, port, host="127.0.0.1", timeout=T_IO):
        self.sock = socket.create_connection((host, port),
                                             timeout=timeout * SCALE)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, path, headers=None, version="1.1", body=b""):
        self.send(build_request(method, path, headers, version, body))

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnClosed("connection closed; unparsed bytes: %r" %
                             self.buf[:200])
        self.buf += chunk

    def response(self, head=False):
        """Read one response: (status, headers, body). headers maps
        lower-case names to values (repeated ones joined by ", ")."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise AssertionError("bad status line %r" % lines[0])
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = headers[name] + ", " + value if name in headers \
                else value
        headers[":status-line"] = lines[0]
        if head or status in (204, 304) or 100 <= status < 200:
            return status, headers, b""
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
            return status, headers, body
        body = self.read_to_eof()
        return status, headers, body

    def read_to_eof(self):
        """Everything until the peer closes (EOF or reset)."""
        data, self.buf = self.buf, b""
        return data + recv_all(self.sock)

    def closed_without_data(self):
        """True if the peer closes and sends nothing more (else the bytes
        that came, or a socket.timeout)."""
        data = self.read_to_eof()
        return True if data == b"" else data

    def close(self):
        self.sock.close()


def recv_all(sock, reset_ok=True):
    """Every byte until the peer closes (EOF, or, if reset_ok, a reset
    after what came); the socket's own timeout bounds each wait."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            if not reset_ok:
                raise
            return data
        if not chunk:
            return data
        data += chunk


def unix_request(path, payload, timeout=T_IO):
    """Send payload on a fresh unix-socket connection and read to EOF."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout * SCALE)
    try:
        s.connect(path)
        s.sendall(payload)
        return recv_all(s)
    finally:
        s.close()


def unix_http(path, method, target, headers=None, timeout=T_IO):
    """One HTTP/1.1 request on a fresh unix-socket connection (hapwatch's
    admin socket) -> (status, headers with lower-case names, body)."""
    h = {"Connection": "close"}
    h.update(headers or {})
    data = unix_request(path, build_request(method, target, h), timeout)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split(" ", 2)[1]), hdrs, body


def build_request(method, path, headers=None, version="1.1", body=b""):
    h = {"Host": "127.0.0.1"}
    h.update(headers or {})
    if body and "Content-Length" not in h:
        h["Content-Length"] = str(len(body))
    out = "%s %s HTTP/%s\r\n" % (method, path, version)
    out += "".join("%s: %s\r\n" % kv for kv in h.items())
    return out.encode("latin-1") + b"\r\n" + body


def http(method, port, path="/", headers=None, raw=None, version="1.1",
         timeout=T_IO):
    """One request on a fresh connection -> (status, headers, body).
    HTTP/1.1 requests get "Connection: close" unless headers say otherwise.
    raw: bytes sent as they are instead of a built request."""
    c = Conn(port, timeout=timeout)
    try:
        if raw is not None:
            c.send(raw)
        else:
            h = dict(headers or {})
            if version == "1.1" and not any(k.lower() == "connection"
                                            for k in h):
                h["Connection"] = "close"
            c.request(method, path, h, version)
        return c.response(head=(method == "HEAD"))
    finally:
        c.close()


def get(port, path):
    """GET -> (status, body as str)."""
    st, _, body = http("GET", port, path)
    return st, body.decode("utf-8", "replace")


def agent(port, send=None, timeout=T_IO, host="127.0.0.1"):
    """An agent-check exchange: connect, send `send` if given, return every
    byte received until the peer closes."""
    with socket.create_connection((host, port),
                                  timeout=timeout * SCALE) as s:
        if send is not None:
            s.sendall(send)
        return recv_all(s)


tcp_read = agent	# a TCP listener's "<state>\n", read the same way


def tcp_refused(port, timeout=T_IO):
    """True if a connect to 127.0.0.1:port gets ECONNREFUSED; False if it
    connects (or hangs: a backlog that takes SYNs is not refused)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout * SCALE)
    try:
        s.connect(("127.0.0.1", port))
        return False
    except ConnectionRefusedError:
        return True
    except socket.timeout:
        return False
    finally:
        s.close()


def proxy_v1(src="192.0.2.10", dst="127.0.0.1", sport=51234, dport=80):
    return ("PROXY TCP4 %s %s %d %d\r\n" % (src, dst, sport, dport)).encode()


PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2_local():
    """A v2 LOCAL header (what a load balancer's own health check sends)."""
    return PP2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)


def proxy_v2_tcp4(src="192.0.2.10", dst="127.0.0.1", sport=51234, dport=80):
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!HH", sport, dport)
    return PP2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs)) + \
        addrs


class Prober:
    """A thread that GETs a health path every `interval` seconds on a fresh
    connection (as a load balancer does) and records every answer."""

    def __init__(self, port, path, interval=0.02):
        self.port = port
        self.path = path
        self.interval = interval
        self.results = []	# (t_sent, t_done, status or None, detail)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                st, _, body = http("GET", self.port, self.path, timeout=5)
                r = (t0, time.monotonic(), st, body.decode("utf-8", "replace"))
            except Exception as e:  # noqa: BLE001 - recorded, judged later
                r = (t0, time.monotonic(), None, "%s: %s" % (
                    type(e).__name__, e))
            self.results.append(r)
            self._stop.wait(self.interval)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        return self.results

    def counts(self):
        out = {}
        for r in self.results:
            out[r[2]] = out.get(r[2], 0) + 1
        return out


# ---- HAProxy -------------------------------------------------------------

def hap_backend(name, ports, prefix="s", check="check inter 100ms fall 1 rise 1",
                backups=(), options=("option httpchk GET /",), extra=""):
    """A backend section: one server per port (named prefix1, prefix2...),
    then backup servers b1, b2... on `backups`."""
    lines = ["backend %s" % name]
    lines += ["    %s" % o for o in options]
    for i, p in enumerate(ports, 1):
        lines.append("    server %s%d 127.0.0.1:%d %s %s" % (prefix, i, p,
                                                           check, extra))
    for i, p in enumerate(backups, 1):
        lines.append("    server b%d 127.0.0.1:%d backup %s %s" % (i, p, check,
                                                                 extra))
    return "\n".join(l.rstrip() for l in lines) + "\n"


def hap_frontend(name, port, backend):
    """A frontend on 127.0.0.1:port sending to backend."""
    return "frontend %s\n    bind 127.0.0.1:%d\n    default_backend %s\n" % (
        name, port, backend)


def parse_csv(text):
    """`show stat` CSV -> list of dicts keyed by header name."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines or not lines[0].startswith("# "):
        raise ValueError("not show stat output: %r" % text[:200])
    rows = list(csv.reader(io.StringIO("\n".join(
        [lines[0][2:]] + lines[1:]))))
    header = rows[0]
    return [dict(zip(header, r)) for r in rows[1:]]


class HAProxy:
    """A real HAProxy run in the foreground (-db) by the harness.

    body: the config after global/defaults (backends, frontends). nbsrv:
    backend names whose HAProxy nbsrv() is served on
    http://127.0.0.1:<nbsrv_port>/nbsrv/<backend> (the differential test's
    oracle)."""

    def __init__(self, env, body, name="haproxy", nbsrv=(), mode="http",
                 global_extra=""):
        require_haproxy()
        self.env = env
        self.name = name
        self.body = body
        self.mode = mode
        self.global_extra = global_extra
        self.sock = env.path(name + ".sock")
        self.cfg = env.path(name + ".cfg")
        self.nbsrv_backends = list(nbsrv)
        self.nbsrv_port = env.port() if nbsrv else None
        self.procs = []
        self.generation = 0

    @property
    def stats_url(self):
        return "unix:" + self.sock

    def render(self):
        out = ["global",
               "    stats socket %s level admin" % self.sock,
               "    stats timeout 10s",
               "    hard-stop-after 10s"]
        if self.global_extra:
            out.append(self.global_extra)
        out += ["",
                "defaults",
                "    mode %s" % self.mode,
                "    timeout connect 2s",
                "    timeout client 10s",
                "    timeout server 10s",
                ""]
        if self.nbsrv_backends:
            out += ["frontend hw_nbsrv",
                    "    bind 127.0.0.1:%d" % self.nbsrv_port,
                    "    mode http"]
            for be in self.nbsrv_backends:
                out.append('    http-request return status 200 content-type '
                           'text/plain lf-string "%%[nbsrv(%s)]" if '
                           '{ path /nbsrv/%s }' % (be, be))
            out += ["    http-request return status 404", ""]
        out.append(self.body)
        return "\n".join(out) + "\n"

    def _write(self):
        with open(self.cfg, "w") as f:
            f.write(self.render())

    @property
    def proc(self):
        return self.procs[-1]

    def _spawn(self, extra):
        self.generation += 1
        p = self.env.spawn(self.name, haproxy_cmd() + ["-db", "-f", self.cfg] +
                           extra)
        self.procs.append(p)
        return p

    def _wait_pid(self, p, what):
        def answered():
            p.check_alive()
            return self.info().get("Pid") == str(p.pid)
        wait_for(answered, T_START, "%s (pid %d) to answer on %s" % (
            what, p.pid, self.sock))

    def start(self):
        self._write()
        p = self._spawn([])
        self._wait_pid(p, self.name)
        return self

    def reload(self, body=None):
        """A new process with -sf <old pid>; returns once the new Pid
        answers on the stats socket."""
        if body is not None:
            self.body = body
        self._write()
        old = self.proc
        for q in self.procs[:-1]:
            q.popen.poll()		# reap the finished ones
        p = self._spawn(["-sf", str(old.pid)])
        self._wait_pid(p, "%s after reload" % self.name)
        return p.pid

    def stop(self):
        """Stop every process (SIGTERM: HAProxy's immediate stop)."""
        for p in self.procs:
            if p.alive():
                p.terminate(10.0)

    def kill(self):
        for p in self.procs:
            if p.alive():
                p.kill()

    def cli(self, cmd, timeout=T_IO):
        """One-shot CLI request: "cmd\\n", read to EOF."""
        return unix_request(self.sock, cmd.encode() + b"\n",
                            timeout).decode("utf-8", "replace")

    def cli_ok(self, cmd):
        """A command that succeeds silently ("\\n"); fail otherwise."""
        out = self.cli(cmd)
        if out.strip() != "":
            raise AssertionError("HAProxy refused %r: %r" % (cmd, out))

    def info(self):
        out = {}
        for line in self.cli("show info").splitlines():
            k, sep, v = line.partition(":")
            if sep:
                out[k.strip()] = v.strip()
        return out

    def pid(self):
        return int(self.info()["Pid"])

    def show_stat(self, args="-1 -1 -1"):
        return parse_csv(self.cli("show stat %s" % args))

    def row(self, px, sv):
        for r in self.show_stat():
            if r["pxname"] == px and r["svname"] == sv:
                return r
        raise KeyError("%s/%s not in show stat" % (px, sv))

    def nbsrv(self, be):
        """HAProxy's own nbsrv(be), through the hw_nbsrv frontend."""
        st, body = get(self.nbsrv_port, "/nbsrv/" + be)
        if st != 200:
            raise AssertionError("nbsrv frontend answered %d %r" % (st, body))
        return int(body)


# ---- backends ------------------------------------------------------------

class Backends:
    """Small HTTP servers (test/tools/backend.py), one process each, that
    can be killed and started again on the same port."""

    def __init__(self, env):
        self.env = env
        self.ports = {}
        self.procs = {}

    def add(self, name, start=True):
        self.ports[name] = self.env.port()
        if start:
            self.start(name)
        return self.ports[name]

    def add_many(self, prefix, n, start=True):
        return [self.add("%s%d" % (prefix, i), start) for i in range(1, n + 1)]

    def start(self, *names):
        for name in names:
            if self.running(name):
                continue
            p = self.env.spawn("backend-" + name, [
                PYTHON, "-B", BACKEND_TOOL, "--port", str(self.ports[name]),
                "--name", name], stdout_pipe=True)
            self.procs[name] = p
        for name in names:
            self._wait_ready(self.procs[name])

    def _wait_ready(self, p):
        sel = selectors.DefaultSelector()
        sel.register(p.popen.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + T_START * SCALE
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise AssertionError("backend %s: no \"ready\" within "
                                         "%.0fs" % (p.name, T_START * SCALE))
                line = p.popen.stdout.readline()
                if line.startswith(b"ready"):
                    return
                if not line:
                    p.popen.wait()
                    raise AssertionError("backend %s exited (%s):\n%s" % (
                        p.name, p.popen.returncode, tail(p.log_path, 20)))
        finally:
            sel.close()

    def stop(self, *names):
        """Kill (SIGKILL: every socket closes at once, like a crash)."""
        for name in names:
            p = self.procs.pop(name, None)
            if p is not None:
                p.kill()
                p.popen.stdout.close()

    def running(self, name):
        p = self.procs.get(name)
        return p is not None and p.alive()


def log_lines(proc, pattern):
    """Lines of proc's log matching the regex pattern."""
    with open(proc.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    rx = re.compile(pattern)
    return [l for l in text.splitlines() if rx.search(l)]


# ---- Prometheus text format ----------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Samples of a Prometheus text exposition ->
    {(name, frozenset of (label, value)): float}. Fails on a line that is
    not a comment, a blank or a sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        labels = frozenset((k, v.replace('\\"', '"').replace("\\n", "\n")
                            .replace("\\\\", "\\"))
                           for k, v in _LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        if key in out:
            raise AssertionError("duplicate sample: %r" % line)
        out[key] = float(m.group(4))
    return out


def metric(samples, name, **labels):
    """The value of one sample; KeyError if absent."""
    return samples[(name, frozenset(labels.items()))]


def metric_series(samples, name):
    """{frozenset of labels: value} of every sample of a metric."""
    return {k[1]: v for k, v in samples.items() if k[0] == name}


# ---- hapwatch ------------------------------------------------------------

def _listen_port(address):
    host, _, port = address.rpartition(":")
    if host in ("127.0.0.1", "0.0.0.0", "[::1]", "localhost") and port.isdigit():
        return int(port)
    return None


class Hapwatch:
    """hapwatch under test: config written as JSON, run with --log-level
    debug, stderr in <dir>/<name>.log. An admin http listener is added to the
    config if it has none (for /status)."""

    def __init__(self, env, config, name="hapwatch", args=()):
        self.env = env
        self.name = name
        self.args = list(args)
        self.config = copy.deepcopy(config)
        self.cfg = env.path(name + ".json")
        listen = self.config.setdefault("listen", [])
        admin = [l for l in listen if l.get("admin")]
        if not admin:
            admin = [{"http": "127.0.0.1:%d" % env.port(), "admin": True}]
            listen.append(admin[0])
        self.admin_port = _listen_port(admin[0]["http"])
        self.proc = None

    def write(self):
        with open(self.cfg, "w") as f:
            json.dump(self.config, f, indent=2)

    def start(self, wait=True):
        self.write()
        # $HAPWATCH_WRAPPER runs hapwatch under a tool (./dev valgrind).
        wrap = shlex.split(os.environ.get("HAPWATCH_WRAPPER", ""))
        self.proc = self.env.spawn(self.name, wrap + [
            hapwatch_bin(), "-f", self.cfg, "--log-level", "debug"] +
            self.args)
        if wait:
            self.wait_listening()
        return self

    def always_open_ports(self):
        """Ports of listeners that listen whatever the services' state."""
        out = []
        for l in self.config.get("listen", []):
            if "tcp" in l:
                continue
            if "http" in l and l.get("close_when_down"):
                continue
            port = _listen_port(l.get("http") or l.get("agent") or "")
            if port is not None:
                out.append(port)
        return out

    def wait_listening(self):
        def up():
            self.proc.check_alive()
            return self.status() is not None and all(
                not tcp_refused(p) for p in self.always_open_ports())
        wait_for(up, T_START, "%s to listen" % self.name)

    def status(self):
        st, hdrs, body = http("GET", self.admin_port, "/status")
        if st != 200:
            raise AssertionError("/status answered %d: %r" % (st, body))
        return json.loads(body)

    def metrics(self):
        """/metrics, parsed (parse_metrics)."""
        st, hdrs, body = http("GET", self.admin_port, "/metrics")
        if st != 200:
            raise AssertionError("/metrics answered %d: %r" % (st, body))
        return parse_metrics(body.decode())

    def service(self, name):
        return self.status()["services"][name]

    def polls(self):
        """Stats polls so far, failed ones included."""
        return self.status()["haproxy"]["polls"]

    def polls_ok(self):
        """Successful stats polls so far (/status polls - errors)."""
        h = self.status()["haproxy"]
        return h["polls"] - h["errors"]

    def wait_fresh_poll(self, what="a stats poll sent after now"):
        """Return once a poll sent after this call has succeeded. The count
        is read now, when a poll may be in flight (sent before): the second
        success after it was sent after now. (/status last_poll has only
        one-second resolution, too coarse to tell.)"""
        n = self.polls_ok()

        def fresh():
            self.proc.check_alive()
            return self.polls_ok() >= n + 2
        wait_for(fresh, T_STATE, what)

    def wait_state(self, svc, state, timeout=T_STATE):
        def reached():
            self.proc.check_alive()
            s = self.service(svc)
            return s if s["state"] == state else None
        return wait_for(reached, timeout, "service %s to be %s" % (svc, state))

    def stop(self, timeout=T_STOP):
        """SIGTERM; the daemon must exit 0 within the deadline."""
        p = self.proc
        p.signal(signal.SIGTERM)
        rc = p.wait(timeout)
        if rc is None:
            p.kill()
            raise AssertionError("%s did not exit within %.0fs of SIGTERM; "
                                 "log tail:\n%s" % (self.name, timeout * SCALE,
                                                    tail(p.log_path, 40)))
        if rc != 0:
            raise AssertionError("%s exited with %d after SIGTERM (want 0); "
                                 "log tail:\n%s" % (self.name, rc,
                                                    tail(p.log_path, 40)))
        return rc


# ---- test case base ------------------------------------------------------

class Case(unittest.TestCase):
    """Base of every integration test: self.env is the test's world,
    cleaned up on every exit path."""

    maxDiff = None

    def setUp(self):
        self._failures_before = self._failures()
        self.env = Env(self.id())
        self.addCleanup(self._close_env)

    def _failures(self):
        # The result records a failure as soon as the test part fails, so
        # the cleanup can tell whether this test failed.
        res = getattr(getattr(self, "_outcome", None), "result", None)
        return len(getattr(res, "failures", ())) + \
            len(getattr(res, "errors", ()))

    def _close_env(self):
        self.env.close(self._failures() > self._failures_before)

    # Shorthands
    def haproxy(self, body, **kw):
        return HAProxy(self.env, body, **kw)

    def backends(self):
        return Backends(self.env)

    def app_haproxy(self, servers=2, frontend="fe_main", **kw):
        """The usual world: backends s1..sN (self.b), a started HAProxy
        (self.hap) with backend app over them and a frontend on self.fe
        sending to it."""
        self.b = self.backends()
        ports = self.b.add_many("s", servers)
        self.fe = self.env.port()
        self.hap = self.haproxy(hap_backend("app", ports) +
                                hap_frontend(frontend, self.fe, "app"),
                                **kw).start()
        return self.hap

    def hapwatch(self, config, **kw):
        return Hapwatch(self.env, config, **kw)


def main():
    unittest.main(verbosity=2)
