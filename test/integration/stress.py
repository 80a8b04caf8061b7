"""stress.py: helpers of the robustness tests (faults, reload storms,
abuse, valgrind, privilege) and of test/bench/soak.py, on top of harness.py
(which they import and never change).

* spawn(): Env.spawn with a file-descriptor limit, extra environment and
  an argv prefix (valgrind, setpriv), still killed with the test.
* Hapwatch: harness.Hapwatch started through spawn().
* FaultProxy: test/tools/faultproxy.py between hapwatch and HAProxy.
* MasterWorkerHAProxy: HAProxy in master-worker mode (-W), reloaded with
  SIGUSR2 to the master.
* ExtProber: a prober in its own process (the GIL of a test that is busy
  generating load must not count as hapwatch's latency).
* /proc readers (RSS, CPU time, fds) and a Prometheus text parser.
"""
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import time

import harness as H

HERE = os.path.dirname(os.path.abspath(__file__))
FAULTPROXY = os.path.join(H.SRC, "test", "tools", "faultproxy.py")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    H.log(msg)


# ---- limits and processes ------------------------------------------------

def raise_nofile(want=None):
    """Raise this process's soft RLIMIT_NOFILE (to the hard limit unless
    want is smaller); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if want is None else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def spawn(env, name, argv, nofile=None, extra_env=None, stdout_pipe=False,
          umask=None):
    """Env.spawn with a soft RLIMIT_NOFILE of `nofile` for the child, extra
    environment variables and a umask; the process is the test's like any
    other (killed on every exit path, log tail printed on failure)."""
    log_path = env.path(name + ".log")
    logf = open(log_path, "ab")
    child_env = None
    if extra_env:
        child_env = dict(os.environ)
        child_env.update(extra_env)

    def setup():
        H._child_setup()
        if nofile is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
        if umask is not None:
            os.umask(umask)
    try:
        logf.write(("==== %s: %s%s\n" % (
            time.strftime("%H:%M:%S"), " ".join(argv),
            " (RLIMIT_NOFILE %d)" % nofile if nofile else "")).encode())
        logf.flush()
        p = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else logf, stderr=logf,
            cwd=env.dir, env=child_env, preexec_fn=setup)
    finally:
        logf.close()
    proc = H.Proc(env, name, argv, log_path, p)
    env.procs.append(proc)
    return proc


def wait_line(proc, prefix, timeout=H.T_START):
    """Read proc's piped stdout until a line starting with prefix."""
    sel = selectors.DefaultSelector()
    sel.register(proc.popen.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout * H.SCALE
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError("%s: no %r line within %.0fs" % (
                    proc.name, prefix, timeout * H.SCALE))
            line = proc.popen.stdout.readline()
            if line.startswith(prefix.encode()):
                return line.decode().strip()
            if not line:
                proc.popen.wait()
                raise AssertionError("%s exited (%s):\n%s" % (
                    proc.name, proc.popen.returncode, H.tail(proc.log_path,
                                                             30)))
    finally:
        sel.close()


def is_sanitized(binary):
    """True if binary was built with AddressSanitizer."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


class Hapwatch(H.Hapwatch):
    """harness.Hapwatch with an fd limit, extra environment and an argv
    prefix (a wrapper such as valgrind or setpriv)."""

    def __init__(self, env, config, name="hapwatch", args=(), nofile=None,
                 wrapper=(), extra_env=None, binary=None, umask=None):
        super().__init__(env, config, name=name, args=args)
        self.nofile = nofile
        self.umask = umask
        self.wrapper = list(wrapper)
        self.extra_env = extra_env
        self.binary = binary

    def argv(self):
        return self.wrapper + [self.binary or H.hapwatch_bin(), "-f",
                               self.cfg, "--log-level", "debug"] + self.args

    def start(self, wait=True):
        self.write()
        self.proc = spawn(self.env, self.name, self.argv(),
                          nofile=self.nofile, extra_env=self.extra_env,
                          umask=self.umask)
        if wait:
            self.wait_listening()
        return self

    def stats_errors(self):
        """(errors_by_reason from /status, hapwatch_stats_errors_total by
        reason from /metrics), read one after the other."""
        by_reason = dict(self.status()["haproxy"]["errors_by_reason"])
        prom = {dict(labels)["reason"]: v for labels, v in H.metric_series(
            self.metrics(), "hapwatch_stats_errors_total").items()}
        return by_reason, prom


# ---- /proc ---------------------------------------------------------------

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def cpu_seconds(pid):
    """utime + stime of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


# ---- Prometheus text format: the harness's -------------------------------

metric = H.metric


# ---- the fault proxy -----------------------------------------------------

class FaultProxy:
    """test/tools/faultproxy.py: listens on <dir>/<name>.sock, forwards to
    upstream (a unix socket path); set() switches the fault."""

    def __init__(self, env, upstream, name="faultproxy"):
        self.env = env
        self.upstream = upstream
        self.sock = env.path(name + ".sock")
        self.control = env.path(name + ".ctl")
        self.name = name
        self.proc = None

    @property
    def stats_url(self):
        return "unix:" + self.sock

    def start(self):
        self.proc = self.env.spawn(self.name, [
            H.PYTHON, "-B", FAULTPROXY, "--listen", self.sock,
            "--upstream", self.upstream, "--control", self.control],
            stdout_pipe=True)
        wait_line(self.proc, "ready")
        return self

    def command(self, line):
        self.proc.check_alive()
        return H.unix_request(self.control, line.encode() + b"\n").decode().strip()

    def set(self, mode, *args):
        r = self.command(" ".join(["mode", mode] + [str(a) for a in args]))
        if r != "ok":
            raise AssertionError("faultproxy refused mode %s: %s" % (mode, r))

    def stats(self):
        return json.loads(self.command("stats"))


# ---- HAProxy in master-worker mode ---------------------------------------

class MasterWorkerHAProxy(H.HAProxy):
    """haproxy -W -db -f cfg: the master stays in the foreground (its pid
    is the harness's), the worker serves the global section's stats
    socket. reload() sends SIGUSR2 to the master and returns the new
    worker's pid once it answers on the stats socket."""

    def master_ready(self):
        """The master catches SIGUSR2 and does not block it: until then
        (while it starts, and again after each re-exec on reload) a
        SIGUSR2 is lost."""
        self.proc.check_alive()
        st = proc_status(self.proc.pid)
        bit = 1 << (signal.SIGUSR2 - 1)
        return bool(int(st["SigCgt"], 16) & bit) and \
            not int(st["SigBlk"], 16) & bit

    def worker_pid(self):
        info = self.info()
        if info.get("Stopping") not in (None, "0"):
            return None
        return int(info["Pid"])

    def start(self):
        self._write()
        p = self._spawn(["-W"])

        def answered():
            p.check_alive()
            pid = self.worker_pid()
            return pid if pid is not None and pid != p.pid else None
        self.worker = H.wait_for(answered, H.T_START,
                                 "the master-worker HAProxy to answer")
        H.wait_for(self.master_ready, H.T_START,
                   "the HAProxy master to take SIGUSR2")
        return self

    def reload(self, body=None):
        if body is not None:
            self.body = body
        self._write()
        old = self.worker
        master = self.proc
        master.signal(signal.SIGUSR2)

        def answered():
            master.check_alive()
            pid = self.worker_pid()
            return pid if pid not in (None, old) else None
        self.worker = H.wait_for(answered, H.T_START,
                                 "a new worker after SIGUSR2 (old %d)" % old)
        H.wait_for(self.master_ready, H.T_START,
                   "the HAProxy master to take SIGUSR2 again")
        self.generation += 1
        return self.worker

    def kill_worker(self):
        os.kill(self.worker, signal.SIGKILL)


# ---- a prober in its own process -----------------------------------------

class ExtProber:
    """Like harness.Prober (same results: (t_sent, t_done, status or None,
    detail)), but run by another python process that writes one line per
    probe. kind: "http" (GET path, new connection each time, as a load
    balancer does), "agent" (connect, read the line) or "tcp" (connect,
    read "<state>\\n"; a refused connect is the answer "refused").
    time.monotonic() is CLOCK_MONOTONIC, the same in both processes."""

    def __init__(self, env, port, path="/", interval=0.02, kind="http",
                 name=None):
        self.env = env
        self.port = port
        self.path = path
        self.interval = interval
        self.kind = kind
        self.name = name or "prober-%s-%d%s" % (
            kind, port, path.replace("/", "-").rstrip("-"))
        self.out = env.path(self.name + ".out")
        self.proc = None
        self.results = []

    def start(self):
        self.proc = self.env.spawn(self.name, [
            H.PYTHON, "-B", os.path.abspath(__file__), "probe", self.kind,
            str(self.port), self.path, str(self.interval), self.out],
            stdout_pipe=True)
        wait_line(self.proc, "ready")
        return self

    def read(self):
        """The results so far (the prober keeps running)."""
        res = []
        try:
            with open(self.out) as f:
                for line in f:
                    if not line.endswith("\n"):
                        break
                    t0, t1, st, detail = line.rstrip("\n").split(" ", 3)
                    res.append((float(t0), float(t1),
                                None if st == "-" else
                                (int(st) if st.isdigit() else st),
                                json.loads(detail)))
        except FileNotFoundError:
            pass
        self.results = res
        return res

    def stop(self):
        if self.proc is not None and self.proc.alive():
            self.proc.signal(signal.SIGTERM)
            if self.proc.wait(10) is None:
                self.proc.kill()
        if self.proc is not None and self.proc.popen.stdout is not None:
            self.proc.popen.stdout.close()
        return self.read()

    def counts(self, results=None):
        out = {}
        for r in (self.results if results is None else results):
            out[r[2]] = out.get(r[2], 0) + 1
        return out


def _probe_main(kind, port, path, interval, out):
    port = int(port)
    interval = float(interval)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    f = open(out, "w", buffering=1)
    print("ready", flush=True)
    while not stop:
        t0 = time.monotonic()
        try:
            if kind == "http":
                st, _, body = H.http("GET", port, path, timeout=5)
                detail = body.decode("utf-8", "replace")
            elif kind == "agent":
                body = H.agent(port, timeout=5)
                st = "line"
                detail = body.decode("utf-8", "replace")
            else:
                try:
                    body = H.tcp_read(port, timeout=5)
                    st = "line"
                    detail = body.decode("utf-8", "replace")
                except ConnectionRefusedError:
                    st, detail = "refused", ""
        except Exception as e:  # noqa: BLE001 - recorded, judged later
            st, detail = "-", "%s: %s" % (type(e).__name__, e)
        t1 = time.monotonic()
        f.write("%.6f %.6f %s %s\n" % (t0, t1, st, json.dumps(detail)))
        left = interval - (time.monotonic() - t0)
        if left > 0 and not stop:
            time.sleep(left)
    f.close()


# ---- judging probe results -----------------------------------------------

def summary(results):
    counts = {}
    for r in results:
        k = r[2] if r[2] is not None else "failed"
        counts[k] = counts.get(k, 0) + 1
    return ", ".join("%s: %d" % kv for kv in sorted(
        counts.items(), key=lambda kv: str(kv[0])))


# "The loop never stalls", judged so that a loaded machine cannot fail it.
# A stalled event loop (a blocking call, a busy loop) delays every probe
# that comes while it lasts, again and again; a loaded machine delays one
# now and then (the prober or hapwatch waits for a CPU: 230ms was seen
# with the other core busy). So: at most STALL_FRACTION of the probes may
# take `bound` or more, and none STALL_MAX or more (times SCALE). A poll
# blocking for a 400ms timeout every 500ms makes about a quarter of a
# sequential prober's probes slow, each by up to 400ms.
STALL_FRACTION = 0.10
STALL_MAX = 1.0


def stall(results, bound, t_from=None, t_to=None):
    """None if the probes sent in [t_from, t_to] show no stall of the
    loop under the rule above, else why (a sentence naming the worst)."""
    sel = [r for r in results
           if (t_from is None or r[0] >= t_from) and
           (t_to is None or r[0] <= t_to) and r[1] is not None]
    if not sel:
        return None
    slow = [r for r in sel if r[1] - r[0] >= bound]
    lat, worst = max_latency(sel)
    if lat >= STALL_MAX * H.SCALE:
        return "a probe took %.0fms (at most %.0fms): %r" % (
            lat * 1000, STALL_MAX * H.SCALE * 1000, worst)
    if len(slow) > STALL_FRACTION * len(sel):
        return "%d of %d probes took %.0fms or more (at most %d%%); " \
            "slowest %.0fms: %r" % (len(slow), len(sel), bound * 1000,
                                    STALL_FRACTION * 100, lat * 1000,
                                    worst)
    return None


def max_latency(results, t_from=None, t_to=None):
    """(max latency in s, its probe) of the probes sent in [t_from, t_to]."""
    sel = [r for r in results
           if (t_from is None or r[0] >= t_from) and
           (t_to is None or r[0] <= t_to)]
    if not sel:
        return 0.0, None
    worst = max(sel, key=lambda r: r[1] - r[0])
    return worst[1] - worst[0], worst


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "probe":
        _probe_main(*sys.argv[2:])
    else:
        sys.exit("usage: stress.py probe http|agent|tcp PORT PATH "
                 "INTERVAL OUTFILE")
