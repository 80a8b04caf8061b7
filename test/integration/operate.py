"""operate.py: helpers of the "operate it" tests (admin API and ctl,
metrics, sd_notify, reload, state file, systemd unit, package), on top of
harness.py. Python 3 standard library only.

The same rules as harness.py: every wait has a deadline (wait_for), every
process is the test's and is killed, and a missing tool is a failure that
names the Debian package to install, never a skip.
"""
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time

import harness as H

# Tools the tests run, and the Debian package of each (./dev deps).
TOOLS = {
    "promtool": ("/usr/bin/promtool", "prometheus"),
    "systemd-analyze": ("/usr/bin/systemd-analyze", "systemd"),
    "systemd-sysusers": ("/usr/bin/systemd-sysusers", "systemd"),
    "cmake": ("/usr/bin/cmake", "cmake"),
    "cpack": ("/usr/bin/cpack", "cmake"),
    "dpkg-deb": ("/usr/bin/dpkg-deb", "dpkg"),
    "dpkg-shlibdeps": ("/usr/bin/dpkg-shlibdeps", "dpkg-dev"),
    "file": ("/usr/bin/file", "file"),
    "man": ("/usr/bin/man", "man-db"),
    "groff": ("/usr/bin/groff", "groff-base"),
    "gzip": ("/bin/gzip", "gzip"),
    "shellcheck": ("/usr/bin/shellcheck", "shellcheck"),
}


def tool(name):
    """The path of a tool the test needs; fail (never skip) without it."""
    path, pkg = TOOLS[name]
    if not os.access(path, os.X_OK):
        raise AssertionError("%s is missing: install Debian's %s package "
                             "(./dev deps)" % (path, pkg))
    return path


def run(argv, timeout=60.0, check=False, **kw):
    """Run argv to its end -> CompletedProcess with text stdout/stderr.
    check: fail with both outputs unless it exits 0."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True,
                           timeout=timeout * H.SCALE, **kw)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s did not finish within %.0fs; output so "
                             "far:\n%s%s" % (" ".join(argv), timeout * H.SCALE,
                                             e.stdout or "", e.stderr or ""))
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d:\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(argv), r.returncode, r.stdout, r.stderr))
    return r


def ctl(socket_or_url, *args, token=None, env=None, timeout=30.0):
    """hapwatch ctl -s SOCKET ARGS... -> (exit status, stdout, stderr)."""
    argv = [H.hapwatch_bin(), "ctl", "-s", socket_or_url]
    if token is not None:
        argv += ["--token", token]
    e = dict(os.environ)
    e.pop("HAPWATCH_TOKEN", None)
    e.update(env or {})
    r = run(argv + list(args), timeout=timeout, env=e)
    H.log("ctl %s -> %d %r %r" % (" ".join(args), r.returncode,
                                  r.stdout[-300:], r.stderr[-300:]))
    return r.returncode, r.stdout, r.stderr


# HTTP over a unix socket: the harness's.
unix_http = H.unix_http


# ---- starting hapwatch with its own environment --------------------------

def start_hapwatch(hw, extra_env=None, wait=True):
    """Start a harness.Hapwatch like hw.start(), with extra environment
    variables (NOTIFY_SOCKET, WATCHDOG_USEC, JOURNAL_STREAM...)."""
    hw.write()
    e = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
              "JOURNAL_STREAM", "HAPWATCH_TOKEN"):
        e.pop(k, None)
    e.update(extra_env or {})
    hw.proc = hw.env.spawn(hw.name, [H.hapwatch_bin(), "-f", hw.cfg,
                                     "--log-level", "debug"] + hw.args,
                           env=e)
    if wait:
        hw.wait_listening()
    return hw


def write_json(path, obj):
    """Write JSON atomically (a reader never sees half a file)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.rename(tmp, path)


def log_has(proc, pattern):
    """The first line of proc's log that matches the regex, or None."""
    lines = H.log_lines(proc, pattern)
    return lines[0] if lines else None


# ---- sd_notify receiver --------------------------------------------------

class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET: a thread
    records every message with its arrival time (time.monotonic())."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []		# (t, text)
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if not r:
                continue
            data = self.sock.recv(4096)
            t = time.monotonic()
            with self._lock:
                self.msgs.append((t, data.decode("utf-8", "replace")))

    def messages(self, start=0):
        with self._lock:
            return list(self.msgs[start:])

    def count(self):
        with self._lock:
            return len(self.msgs)

    def find(self, field, start=0):
        """[(index, t, text)] of the messages from index `start` that carry
        the line `field` (e.g. "READY=1")."""
        out = []
        for i, (t, m) in enumerate(self.messages(start), start):
            if field in m.split("\n"):
                out.append((i, t, m))
        return out

    def wait(self, field, start=0, timeout=H.T_STATE, proc=None):
        """The first message from index `start` carrying `field`."""
        def seen():
            if proc is not None:
                proc.check_alive()
            got = self.find(field, start)
            return got[0] if got else None
        return H.wait_for(seen, timeout, "%s on NOTIFY_SOCKET (after "
                          "message %d)" % (field, start))

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()


def status_field(msg):
    """The value of the STATUS= line of a notify message, or None."""
    for line in msg.split("\n"):
        if line.startswith("STATUS="):
            return line[len("STATUS="):]
    return None


# ---- a stats socket that answers only when the test says so --------------

class GatedUnixRelay:
    """A unix socket in front of HAProxy's stats socket. Connections are
    accepted at once but relayed to HAProxy only after open_gate(): the
    test decides when hapwatch's first poll is answered."""

    def __init__(self, path, target):
        self.path = path
        self.target = target
        self.gate = threading.Event()
        self.gate_time = None
        self.accepted = 0
        self.relayed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(path)
        self.lsock.listen(64)
        self.lsock.settimeout(0.05)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        try:
            while not self.gate.wait(0.05):
                if self._stop.is_set():
                    return
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as u:
                u.connect(self.target)
                with self._lock:
                    self.relayed += 1
                self._pump(c, u)
        except OSError:
            pass
        finally:
            c.close()

    def _pump(self, a, b):
        """Copy both ways until both sides are done (half-closes kept)."""
        socks = {a: b, b: a}
        open_ = {a, b}
        while open_ and not self._stop.is_set():
            r, _, _ = select.select(list(open_), [], [], 0.1)
            for s in r:
                data = s.recv(65536)
                if data:
                    socks[s].sendall(data)
                else:
                    open_.discard(s)
                    try:
                        socks[s].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass

    def open_gate(self):
        self.gate_time = time.monotonic()
        self.gate.set()

    def close(self):
        self._stop.set()
        self.lsock.close()
        self._thread.join(5)


# ---- Prometheus text format: the harness's -------------------------------

parse_metrics = H.parse_metrics
metric = H.metric
metric_series = H.metric_series


def promtool_check(text):
    """promtool check metrics on text -> (exit status, its output)."""
    r = subprocess.run([tool("promtool"), "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30 * H.SCALE)
    return r.returncode, (r.stdout + r.stderr).strip()


# ---- processes -----------------------------------------------------------

def terminate_rc(proc, timeout=H.T_STOP):
    """SIGTERM proc and return its exit status (SIGKILL and fail if it
    does not exit in time)."""
    proc.signal(signal.SIGTERM)
    rc = proc.wait(timeout)
    if rc is None:
        proc.kill()
        raise AssertionError("%s did not exit within %.0fs of SIGTERM" % (
            proc.name, timeout * H.SCALE))
    return rc
