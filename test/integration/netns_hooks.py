"""netns_hooks.py: what the "act and tell" tests (checks, hooks,
webhooks, failover, keepalived, stats page) act with, on top of harness.py:
scripts and hooks that record what they were given (record_hook), process
and process-group checks, HAProxy, backends and hapwatch in network
namespaces of their own (a peer pair with an address that moves), and the
JSON-with-comments configs they read.

Standard library only. Nothing here sleeps in the hope that something
happened: waits go through harness.wait_for (deadlines scaled by
HAPWATCH_TIMEOUT_SCALE).
"""
import json
import os
import signal
import stat
import subprocess
import sys
import time

import harness as H

TOOLS = os.path.join(H.SRC, "test", "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import webhook_receiver  # noqa: E402  (test/tools, put on the path above)

Receiver = webhook_receiver.Receiver
HANG = webhook_receiver.HANG

HOOKS_DIR = os.path.join(H.SRC, "conf", "hooks")
EXAMPLES_DIR = os.path.join(H.SRC, "conf", "examples")


# ---- files and scripts ---------------------------------------------------

def write_file(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def write_script(path, text):
    """An executable script (give it a #! line)."""
    return write_file(path, text, 0o755)


def read_text(path):
    """The file's text, or None if it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def read_jsonl(path):
    """Every complete JSON line of path ([] if it does not exist)."""
    try:
        with open(path) as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


# A hook (and exec check) that records what it was given: one JSON line per
# run appended to OUT with its HAPWATCH_* environment, argv, pid, process
# group, and start/end wall-clock times; then it sleeps SLEEP seconds,
# prints PRINT and exits CODE.
RECORD_HOOK = r'''#!/usr/bin/python3
import json, os, sys, time
start = time.time()
out, sleep, code = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
text = sys.argv[4] if len(sys.argv) > 4 else ""
env = {k: v for k, v in os.environ.items()}
rec = {"start": start, "pid": os.getpid(), "pgid": os.getpgid(0),
       "argv": sys.argv[1:], "env": env}
if sleep > 0:
    time.sleep(sleep)
rec["end"] = time.time()
fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, (json.dumps(rec) + "\n").encode())
os.close(fd)
if text:
    sys.stdout.write(text)
    sys.stdout.flush()
sys.exit(code)
'''


def record_hook(env, name="record-hook.py"):
    return write_script(env.path(name), RECORD_HOOK)


# ---- processes -----------------------------------------------------------

def proc_state(pid):
    """The state letter of /proc/PID/stat, or None if there is no such
    process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data.rpartition(")")[2].split()[0]


def gone(pid):
    """True if pid has exited (a zombie nobody reaped yet counts as gone:
    it runs nothing and holds nothing)."""
    return proc_state(pid) in (None, "Z", "X")


def pids_in_group(pgid):
    """Live processes whose process group is pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(int(d))
    return out


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# ---- hapwatch's admin routes ---------------------------------------------

def post(port, path):
    st, _, body = H.http("POST", port, path)
    return st, body.decode("utf-8", "replace")


def override(hw, svc, what):
    """drain|ready|maint one service through POST /services/NAME/WHAT."""
    st, body = post(hw.admin_port, "/services/%s/%s" % (svc, what))
    if st // 100 != 2:
        raise AssertionError("POST /services/%s/%s answered %d %r" % (
            svc, what, st, body))


log_lines = H.log_lines


def minimal_haproxy(case, backend_ports, name="haproxy", extra=""):
    """A real HAProxy with backend `app` on backend_ports (100ms checks),
    started; `extra` is appended to its config (e.g. a listen stats)."""
    return case.haproxy(H.hap_backend("app", backend_ports) + extra,
                        name=name).start()


# ---- network namespaces (test_keepalived) --------------------------------

IP = "/usr/sbin/ip"


def ip(*args, check=True):
    p = subprocess.run([IP] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError("ip %s: exit %d: %s" % (
            " ".join(args), p.returncode, p.stderr.decode().strip()))
    return p.stdout.decode()


def netns_list():
    out = ip("netns", "list", check=False)
    return [l.split()[0] for l in out.splitlines() if l.strip()]


def netns_destroy(name):
    """Kill every process in namespace `name`, then delete it (its veths
    go with it)."""
    for _ in range(50):
        pids = [int(p) for p in ip("netns", "pids", name,
                                   check=False).split()]
        if not pids:
            break
        for p in pids:
            kill_quietly(p)
        time.sleep(0.05)
    ip("netns", "del", name, check=False)


def netns_clean_stale(prefix):
    """Delete namespaces named PREFIX<pid>-... left by a test process that
    no longer exists (a crashed run)."""
    for ns in netns_list():
        if not ns.startswith(prefix):
            continue
        owner = ns[len(prefix):].split("-", 1)[0]
        if owner.isdigit() and (int(owner) == os.getpid() or
                                not gone(int(owner))):
            continue
        H.log("removing stale namespace %s" % ns)
        netns_destroy(ns)


class NsHAProxy(H.HAProxy):
    """harness.HAProxy run inside a network namespace. `ip netns exec`
    execs the command in place, so the pid is HAProxy's own; the stats
    socket is a file, reachable from every namespace."""

    def __init__(self, env, body, netns, **kw):
        super().__init__(env, body, **kw)
        self.netns = netns

    def _spawn(self, extra):
        self.generation += 1
        p = self.env.spawn(self.name, [IP, "netns", "exec", self.netns] +
                           H.haproxy_cmd() + ["-db", "-f", self.cfg] + extra)
        self.procs.append(p)
        return p


class NsBackends(H.Backends):
    """harness.Backends inside a network namespace (ports are only a
    number there: the harness's reservation is in the root namespace,
    and the namespace's loopback is empty)."""

    def __init__(self, env, netns, base_port):
        super().__init__(env)
        self.netns = netns
        self._next = base_port

    def add(self, name, start=True):
        self.ports[name] = self._next
        self._next += 1
        if start:
            self.start(name)
        return self.ports[name]

    def start(self, *names):
        for name in names:
            if self.running(name):
                continue
            self.procs[name] = self.env.spawn(
                "backend-%s-%s" % (self.netns, name),
                [IP, "netns", "exec", self.netns, H.PYTHON, "-B",
                 H.BACKEND_TOOL, "--port", str(self.ports[name]),
                 "--name", name], stdout_pipe=True)
        for name in names:
            self._wait_ready(self.procs[name])


class NsHapwatch(H.Hapwatch):
    """harness.Hapwatch inside a network namespace, its admin listener on
    a unix socket (a file: reachable from the test's namespace)."""

    def __init__(self, env, config, netns, name="hapwatch"):
        self.admin_sock = env.path(name + "-admin.sock")
        config = dict(config)
        config["listen"] = list(config.get("listen", [])) + [
            {"http": "unix:" + self.admin_sock, "admin": True}]
        super().__init__(env, config, name=name)
        self.netns = netns

    def start(self, wait=True):
        self.write()
        self.proc = self.env.spawn(self.name, [
            IP, "netns", "exec", self.netns, H.hapwatch_bin(), "-f",
            self.cfg, "--log-level", "debug"])
        if wait:
            def up():
                self.proc.check_alive()
                return self.status() is not None
            H.wait_for(up, H.T_START, "%s to answer on %s" % (
                self.name, self.admin_sock))
        return self

    def status(self):
        st, _, body = H.unix_http(self.admin_sock, "GET", "/status")
        body = body.decode("utf-8", "replace")
        if st != 200:
            raise AssertionError("/status answered %d: %r" % (st, body))
        return json.loads(body)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ---- JSON with comments (hapwatch's config syntax) ------------------------

def strip_comments(text):
    """Remove // and /* */ comments outside strings."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def load_jsonc(path):
    with open(path) as f:
        return json.loads(strip_comments(f.read()))


def check_config(path):
    """hapwatch -c -f path -> (exit status, stdout, stderr)."""
    p = subprocess.run([H.hapwatch_bin(), "-c", "-f", path],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30 * H.SCALE)
    return p.returncode, p.stdout.decode(), p.stderr.decode()
