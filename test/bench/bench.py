#!/usr/bin/python3
"""bench.py: ./dev bench. hapwatch measured side by side with HAProxy on this
machine, the way ../shared/BENCHMARKS.md says holds on a noisy 2-core box:
servers pinned to CPU 1, the load generator to CPU 0, HAProxy with nbthread
1, A B A B alternation, medians, and server CPU time per request from
/proc/PID/task/*/schedstat rather than requests per second alone.

    ./dev bench [--haproxy host|3.0|3.2|3.4] [--parts health,detect,poll]
                [--baseline BIN] [--quick] [--out test/bench/RESULTS.md]

--haproxy picks the HAProxy measured against: the host's, or Debian's
HAProxy of that version from a root made by test/tools/mkroot (the matrix's,
run through test/tools/inroot, sharing this host's network, pids and /tmp).
The health endpoint is also measured against nginx's `return 200`, the
fastest peer. --baseline BIN adds another hapwatch binary to the health
rounds (an older build, to show what a change costs on the health path).

Prints, per part, a markdown table (anchor, target, measured, ratio,
verdict) and writes it, with the machine's description, into
test/bench/RESULTS.md: in the section of that HAProxy version, in place of
the same part of an earlier run; the other parts and versions stay.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAPWATCH = os.path.join(TOP, "build", "hapwatch")
BACKEND = os.path.join(TOP, "test", "tools", "backend.py")
MKROOT = os.path.join(TOP, "test", "tools", "mkroot")
INROOT = os.path.join(TOP, "test", "tools", "inroot")
SERVER_CPU, CLIENT_CPU = "1", "0"
HAPROXY = ["/usr/sbin/haproxy"]     # argv prefix; set by --haproxy


def haproxy_command(version):
    """argv prefix that runs the HAProxy of that version (see the module
    doc); inroot execs it in place, so the pid is HAProxy's."""
    if version == "host":
        return ["/usr/sbin/haproxy"]
    r = subprocess.run([MKROOT, "haproxy-" + version], stdout=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError("HAProxy %s: cannot build its root" % version)
    return [INROOT, r.stdout.strip(), "/usr/sbin/haproxy"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """CPU time of every thread of pid, in seconds, from the scheduler's
    nanosecond counters (/proc/PID/stat counts in ticks of 10 ms, too
    coarse for a figure of a tenth of a millisecond per poll)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:   # a thread that just ended
            pass
    return total / 1e9


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(pred, what, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise RuntimeError("timed out waiting for " + what)


def cli(sock, cmd):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock)
        s.sendall(cmd.encode() + b"\n")
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out.decode()
            out += b


def http_get(port, path, timeout=2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                       % path).encode())
            data = s.recv(4096)
        return int(data.split(b" ")[1])
    except OSError:
        return None


class Env:
    """A temp dir and the processes started in it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hw-bench-")
        self.procs = []

    def spawn(self, argv, cpu=SERVER_CPU, name="proc", env=None):
        out = open(os.path.join(self.dir, name + ".log"), "ab")
        p = subprocess.Popen(["taskset", "-c", cpu] + argv, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env)
        self.procs.append(p)
        return p

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def haproxy(self, cfg):
        p = self.spawn(HAPROXY + ["-db", "-f", self.write("haproxy.cfg", cfg)],
                       name="haproxy")
        sock = self.path("admin.sock")
        wait_for(lambda: os.path.exists(sock) and "Pid" in cli(sock, "show info"),
                 "HAProxy")
        return p, sock

    def hapwatch(self, conf, binary=HAPWATCH, name="hapwatch"):
        p = self.spawn([binary, "-f", self.write(name + ".json",
                                                 json.dumps(conf))],
                       name=name)
        return p

    def nginx(self, port):
        """nginx as BENCHMARKS.md ran it: one process, no access log."""
        conf = self.write("nginx.conf", NGINX.format(dir=self.dir, port=port))
        return self.spawn(["/usr/sbin/nginx", "-p", self.dir, "-e",
                           self.path("nginx.err"), "-c", conf], name="nginx")


def wrk(port, conns, secs, close):
    argv = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", "-c%d" % conns,
            "-d%ds" % secs, "--latency"]
    if close:
        argv += ["-H", "Connection: close"]
    out = subprocess.run(argv + ["http://127.0.0.1:%d/haproxy_status" % port],
                         capture_output=True, text=True, check=True).stdout
    req = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError("wrk saw errors:\n" + out)
    return req, p99


# ---- 1. the health endpoint ------------------------------------------

NGINX = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
events {{ worker_connections 5000; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-body;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /haproxy_status {{ return 200 "up\\n"; }}
    }}
}}
"""

HEALTH_HAP = """\
global
    stats socket {dir}/admin.sock level admin
    nbthread 1
    maxconn 5000
    no strict-limits
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend health
    bind 127.0.0.1:{hport}
    maxconn 5000
    monitor-uri /haproxy_status
    monitor fail if {{ nbsrv(webapp) lt 1 }}
backend webapp
    server s1 127.0.0.1:{bport}
"""


def bench_health(secs, rounds, baseline=None):
    env = Env()
    try:
        hport, nport, wport, bport = (free_port() for _ in range(4))
        hap, sock = env.haproxy(HEALTH_HAP.format(dir=env.dir, hport=hport,
                                                  bport=free_port()))
        ngx = env.nginx(nport)

        def conf(port):
            return {"haproxy": {"stats": "unix:" + sock},
                    "services": {"web": {"require": [{"backend": "webapp"}]}},
                    "listen": [{"http": "127.0.0.1:%d" % port,
                                "paths": {"/haproxy_status": "web"},
                                "max_connections": 5000}]}
        hw = env.hapwatch(conf(wport))
        servers = [("haproxy", hap, hport), ("nginx", ngx, nport),
                   ("hapwatch", hw, wport)]
        if baseline:
            servers.append(("baseline", env.hapwatch(
                conf(bport), binary=baseline, name="baseline"), bport))
        for name, _, port in servers:
            wait_for(lambda: http_get(port, "/haproxy_status") == 200,
                     name + " up")
        rows = {}
        for mode, conns, close in [("keep-alive", 50, False),
                                   ("close per request", 50, True),
                                   ("keep-alive", 1000, False)]:
            res = {name: [] for name, _, _ in servers}
            for _ in range(rounds):
                for name, proc, port in servers:
                    c0 = cpu_seconds(proc.pid)
                    req, p99 = wrk(port, conns, secs, close)
                    c1 = cpu_seconds(proc.pid)
                    res[name].append((req / secs, p99, (c1 - c0) * 1e6 / req))
                    log("  %-17s %4d conns %-8s %8.0f req/s p99 %6.2f ms "
                        "%6.2f us/req" % (mode, conns, name, req / secs, p99,
                                          (c1 - c0) * 1e6 / req))
            rows[(mode, conns)] = {
                k: tuple(statistics.median(x[i] for x in v) for i in range(3))
                for k, v in res.items()}
        return rows
    finally:
        env.close()


# ---- 2. detection latency --------------------------------------------

DETECT_HAP = """\
global
    stats socket {dir}/admin.sock level admin
    log 127.0.0.1:{logport} local0
    nbthread 1
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend webapp
    server s1 127.0.0.1:{bport} check inter 100ms fall 1 rise 1
"""


def bench_detect(trigger, samples):
    """From HAProxy's "has no server available!" line to hapwatch answering
    503 and refusing on its TCP port."""
    env = Env()
    try:
        relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        relay.bind(("127.0.0.1", 0))
        logport, hwlog = relay.getsockname()[1], free_port()
        bport, wport, tport = free_port(), free_port(), free_port()
        _, sock = env.haproxy(DETECT_HAP.format(dir=env.dir, logport=logport,
                                                bport=bport))
        conf = {"haproxy": {"stats": "unix:" + sock, "settle": "0s",
                            "interval": "1s" if trigger else "100ms"},
                "services": {"web": {"require": [{"backend": "webapp"}]}},
                "listen": [{"http": "127.0.0.1:%d" % wport,
                            "paths": {"/haproxy_status": "web"}},
                           {"tcp": "127.0.0.1:%d" % tport, "service": "web"}]}
        if trigger:
            conf["haproxy"]["log_listen"] = "udp:127.0.0.1:%d" % hwlog
        env.hapwatch(conf)
        lat = []
        relay.settimeout(0.001)
        for i in range(samples):
            be = env.spawn(["/usr/bin/python3", BACKEND, "--port", str(bport)],
                           cpu=CLIENT_CPU, name="backend")
            wait_for(lambda: http_get(wport, "/haproxy_status") == 200,
                     "up", timeout=30)
            drain_relay(relay, hwlog)
            be.kill()
            be.wait()
            t_log = None
            end = time.monotonic() + 10
            while time.monotonic() < end:
                got = drain_relay(relay, hwlog)
                if t_log is None and got is not None and \
                        b"has no server available" in got[1]:
                    t_log = got[0]
                if t_log is not None and \
                        http_get(wport, "/haproxy_status", 0.5) == 503 and \
                        tcp_refused(tport):
                    lat.append((time.monotonic() - t_log) * 1000)
                    break
            else:
                raise RuntimeError("no detection within 10s")
        return lat
    finally:
        env.close()


def drain_relay(relay, hwlog):
    """Forward HAProxy's log datagrams to hapwatch; return the last
    (arrival time, datagram) or None."""
    last = None
    while True:
        try:
            data = relay.recv(8192)
        except (BlockingIOError, socket.timeout):
            return last
        now = time.monotonic()
        relay.sendto(data, ("127.0.0.1", hwlog))
        if last is None or b"has no server available" in data:
            last = (now, data)


def tcp_refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return False
    except ConnectionRefusedError:
        return True


# ---- 3. what polling costs, at 1,000 backends x 10 servers ----------

def big_haproxy(env, nbe, nsrv, ports):
    lines = ["global", "    stats socket %s/admin.sock level admin" % env.dir,
             "    nbthread 1", "defaults", "    mode http",
             "    timeout connect 1s", "    timeout client 5s",
             "    timeout server 5s",
             # Checks run, but rarely: their cost is not the poll's.
             "    default-server check inter 1h"]
    for b in range(nbe):
        lines.append("backend be%04d" % b)
        lines += ["    server s%d 127.0.0.1:%d" % (s, ports[s])
                  for s in range(nsrv)]
    return env.haproxy("\n".join(lines) + "\n")


def status(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def service_state(port):
    try:
        return status(port)["services"]["web"]["state"]
    except (OSError, ValueError):
        return None


# 10,000 servers' health checks (plain TCP connects) land on these ports:
# accept and close, with a deep backlog, so that every server stays UP.
TCP_SINK = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(p)))
    s.listen(4096)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        try:
            while True:
                key.fileobj.accept()[0].close()
        except BlockingIOError:
            pass
"""


def bench_poll(secs, rounds):
    env = Env()
    try:
        ports = [free_port() for _ in range(10)]
        env.spawn(["/usr/bin/python3", "-c", TCP_SINK] + [str(p) for p in ports],
                  cpu=CLIENT_CPU, name="sink")
        hap, sock = big_haproxy(env, 1000, 10, ports)
        time.sleep(1)
        # HAProxy's own idle cost over the same time, to subtract.
        c0 = cpu_seconds(hap.pid)
        time.sleep(secs)
        idle = (cpu_seconds(hap.pid) - c0) / secs
        out = {"loop": {}}
        # The anchors' way: each command back to back, warm caches, side by
        # side with the anchor commands themselves on this machine today.
        # The commands take turns, round after round (A B C D A B C D...),
        # and each figure is the median of its rounds, so a burst of
        # noise from elsewhere lands on one round of one command only.
        # The client is this process: it runs on the client CPU.
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
        loops = [("anchor show stat", "show stat", 30),
                 ("anchor show stat -1 2 -1", "show stat -1 2 -1", 300),
                 ("show info alone", "show info", 3000),
                 ("hapwatch 3 backends", "show info;show stat be0001 2 -1;"
                  "show stat be0500 2 -1;show stat be0999 2 -1", 3000),
                 ("hapwatch all backends", "show info;show stat -1 2 -1", 300)]
        per = {name: [] for name, _, _ in loops}
        for _ in range(rounds):
            for name, cmd, n in loops:
                c0, t0 = cpu_seconds(hap.pid), time.monotonic()
                for _ in range(n):
                    cli(sock, cmd)
                dt = time.monotonic() - t0
                per[name].append(((cpu_seconds(hap.pid) - c0) - idle * dt)
                                 * 1000 / n)
        for name, v in per.items():
            out["loop"][name] = statistics.median(v)
            log("  back to back: %-26s %.3f ms HAProxy CPU (median of %s)" % (
                name, out["loop"][name], " ".join("%.3f" % x for x in v)))
        for name, require in [  # live: hapwatch polling every 10 ms
                ("3 backends", [{"backend": "be%04d" % b} for b in (1, 500, 999)]),
                ("all 1000 backends", [{"backend": "*"}])]:
            aport = free_port()
            hw = env.hapwatch({
                "haproxy": {"stats": "unix:" + sock, "interval": "10ms",
                            "timeout": "1s"},
                "services": {"web": {"require": require}},
                "listen": [{"http": "127.0.0.1:%d" % aport, "admin": True}]})
            try:
                wait_for(lambda: service_state(aport) == "up", "hapwatch up")
            except RuntimeError:
                with open(env.path("hapwatch.log")) as f:
                    log(f.read()[-2000:])
                raise
            p0 = status(aport)["haproxy"]["polls"]
            h0, w0 = cpu_seconds(hap.pid), cpu_seconds(hw.pid)
            time.sleep(secs)
            h1, w1 = cpu_seconds(hap.pid), cpu_seconds(hw.pid)
            st = status(aport)
            polls = st["haproxy"]["polls"] - p0
            out[name] = {
                "haproxy_ms": ((h1 - h0) - idle * secs) * 1000 / polls,
                "hapwatch_ms": (w1 - w0) * 1000 / polls,
                "rss_kib": rss_kib(hw.pid),
                "polls": polls, "errors": st["haproxy"]["errors"]}
            log("  %-18s %d polls: HAProxy %.3f ms/poll, hapwatch %.3f "
                "ms/poll, RSS %d KiB" % (name, polls, out[name]["haproxy_ms"],
                                         out[name]["hapwatch_ms"],
                                         out[name]["rss_kib"]))
            hw.send_signal(signal.SIGTERM)
            hw.wait(timeout=10)
        return out
    finally:
        env.close()


def quiet_check():
    """CPU busy fraction over one second, from /proc/stat."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t0, i0 = snap()
    time.sleep(1)
    t1, i1 = snap()
    return 1 - (i1 - i0) / (t1 - t0)


def haproxy_version():
    out = subprocess.run(HAPROXY + ["-v"], capture_output=True,
                         text=True).stdout
    return re.search(r"version (\S+)", out).group(1)


def machine(hv):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wv = subprocess.run(["wrk", "-v"], capture_output=True,
                        text=True).stdout.split()[1]
    nv = subprocess.run(["/usr/sbin/nginx", "-v"], capture_output=True,
                        text=True).stderr.strip().split("/")[-1]
    return "%s, %d CPUs, %s, kernel %s, HAProxy %s, nginx %s, wrk %s" % (
        cpu, os.cpu_count(), platform.freedesktop_os_release().get(
            "PRETTY_NAME", "?"), platform.release(), hv, nv, wv)


def verdict(ok):
    return "met" if ok else "**missed**"


def health_rows(h, baseline):
    rows = []
    for key, what in [(("keep-alive", 50), "keep-alive, 50 conns"),
                      (("close per request", 50), "one connection per probe")]:
        v = h[key]
        hw, hap, ngx = v["hapwatch"][2], v["haproxy"][2], v["nginx"][2]
        rows.append(("health endpoint CPU/request, %s" % what,
                     "HAProxy monitor-uri %.2f us" % hap, "<= 0.9 x HAProxy",
                     "%.2f us" % hw, "%.2f" % (hw / hap),
                     verdict(hw / hap <= 0.9)))
        rows.append(("health endpoint CPU/request, %s" % what,
                     "nginx return 200 %.2f us" % ngx, "<= 1.0 x nginx",
                     "%.2f us" % hw, "%.2f" % (hw / ngx),
                     verdict(hw / ngx <= 1.0)))
        if baseline:
            b = v["baseline"][2]
            rows.append(("health endpoint CPU/request, %s, against an older "
                         "build" % what, "baseline %.2f us" % b,
                         "<= 1.03 x baseline (noise)", "%.2f us" % hw,
                         "%.2f" % (hw / b), verdict(hw / b <= 1.03)))
    ka1k = h[("keep-alive", 1000)]
    r = ka1k["hapwatch"][1] / ka1k["haproxy"][1]
    rows.append(("p99 latency, 1,000 keep-alive conns",
                 "HAProxy %.2f ms" % ka1k["haproxy"][1], "<= HAProxy",
                 "%.2f ms" % ka1k["hapwatch"][1], "%.2f" % r,
                 verdict(r <= 1.0)))
    detail = ["Health endpoint detail (req/s, p99 ms, server CPU us/req):", ""]
    for (m, c), v in h.items():
        detail.append("- %s, %d conns: %s" % (m, c, "; ".join(
            "%s %.0f / %.2f / %.2f" % (k, *x) for k, x in v.items())))
    return rows, detail


def p99(v):
    return sorted(v)[max(0, int(len(v) * 0.99) - 1)]


def detect_rows(d_trig, d_poll):
    return [("added detection latency, log trigger (p99)",
             "monitor-uri adds 0", "<= 2 ms",
             "%.2f ms (median %.2f)" % (p99(d_trig), statistics.median(d_trig)),
             "-", verdict(p99(d_trig) <= 2)),
            ("added detection latency, polling 100ms (p99)",
             "monitor-uri adds 0", "<= interval + 2 ms",
             "%.2f ms (median %.2f)" % (p99(d_poll), statistics.median(d_poll)),
             "-", verdict(p99(d_poll) <= 102))]


def poll_rows(p):
    t3, ta, lp = p["3 backends"], p["all 1000 backends"], p["loop"]
    anchor = lp["anchor show stat -1 2 -1"]
    return [
        ("HAProxy CPU per poll, service on 3 of 1,000 backends "
         "(back to back / live every 10 ms)",
         "full show stat %.1f ms" % lp["anchor show stat"],
         "<= 0.2 ms", "%.3f / %.3f ms" % (lp["hapwatch 3 backends"],
                                          t3["haproxy_ms"]),
         "%.4f" % (lp["hapwatch 3 backends"] / lp["anchor show stat"]),
         verdict(lp["hapwatch 3 backends"] <= 0.2)),
        ("HAProxy CPU per poll, all 1,000 backends "
         "(back to back / live every 10 ms)",
         "show stat -1 2 -1 %.3f ms" % anchor, "<= 1.05 x show stat -1 2 -1",
         "%.3f / %.3f ms (show info alone %.3f)" % (
             lp["hapwatch all backends"], ta["haproxy_ms"],
             lp["show info alone"]),
         "%.2f" % (lp["hapwatch all backends"] / anchor),
         verdict(lp["hapwatch all backends"] <= 1.05 * anchor)),
        ("hapwatch CPU per poll, all 1,000 backends", "-", "<= 1 ms",
         "%.3f ms" % ta["hapwatch_ms"], "-", verdict(ta["hapwatch_ms"] <= 1)),
        ("hapwatch RSS, 1,000 backends watched", "HAProxy 22 MiB",
         "<= 4 MiB", "%.1f MiB" % (ta["rss_kib"] / 1024),
         "%.2f" % (ta["rss_kib"] / 1024 / 22),
         verdict(ta["rss_kib"] <= 4096))]


HEAD = """# hapwatch benchmark results

Produced by `./dev bench --haproxy VERSION [--parts ...]`: a section per
HAProxy version, in it a part per measurement, each replaced by the last
run of that part against that version (the others stay).
"""

PARTS = [("health", "Health endpoint"), ("detect", "Detection latency"),
         ("poll", "Polling cost")]


def split_parts(section):
    """{part name: its text} of one version's section of RESULTS.md."""
    titles = {title: name for name, title in PARTS}
    out = {}
    for chunk in re.split(r"^(?=### )", section, flags=re.M)[1:]:
        m = re.match(r"### (.+)", chunk)
        if m and m.group(1).strip() in titles:
            out[titles[m.group(1).strip()]] = chunk.rstrip("\n") + "\n"
    return out


def write_section(path, title, parts):
    """Put the parts (name: text) in title's section of path, in place of
    the same parts of an earlier run; keep the rest."""
    key = re.match(r"## HAProxy (\d+\.\d+)", title).group(1)
    sections = {}
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    titles = {}
    for sec in re.split(r"^(?=## HAProxy )", old, flags=re.M)[1:]:
        m = re.match(r"## HAProxy (\d+\.\d+)", sec)
        if m:
            sections[m.group(1)] = split_parts(sec)
            titles[m.group(1)] = sec.splitlines()[0]
    kept = sections.get(key, {})
    kept.update(parts)
    sections[key] = kept
    titles[key] = title
    order = sorted(sections, key=lambda v: tuple(int(x) for x in v.split(".")))
    with open(path, "w") as f:
        f.write(HEAD)
        for v in order:
            f.write("\n" + titles[v] + "\n")
            for name, _ in PARTS:
                if name in sections[v]:
                    f.write("\n" + sections[v][name])


def render_part(name, args, busy, hv, method, rows, detail):
    table = ["| figure | anchor (this run) | target | measured | ratio | "
             "verdict |", "| --- | --- | --- | --- | --- | --- |"]
    table += ["| %s |" % " | ".join(r) for r in rows]
    return "\n".join([
        "### " + dict(PARTS)[name], "",
        "`./dev bench %s` on %s. Machine: %s. Busy before the run: %.0f%% "
        "of all CPUs. %s" % (args, time.strftime("%Y-%m-%d %H:%M UTC",
                                                 time.gmtime()),
                             machine(hv), busy * 100, method),
        "", *table, "", *detail]).rstrip("\n") + "\n"


def main():
    global HAPROXY
    ap = argparse.ArgumentParser()
    ap.add_argument("--haproxy", default="host",
                    help="host (default), 3.0, 3.2 or 3.4")
    ap.add_argument("--parts", default="health,detect,poll",
                    help="which measurements, comma-separated")
    ap.add_argument("--baseline", metavar="BIN",
                    help="another hapwatch binary for the health rounds")
    ap.add_argument("--quick", action="store_true",
                    help="shorter runs (for a smoke test, not for figures)")
    ap.add_argument("--out", default=os.path.join(TOP, "test", "bench",
                                                  "RESULTS.md"))
    a = ap.parse_args()
    # Stopped early, it still stops what it started (the Env's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parts = a.parts.split(",")
    if set(parts) - set(dict(PARTS)):
        ap.error("--parts: health, detect, poll")
    HAPROXY = haproxy_command(a.haproxy)
    hv = haproxy_version()
    secs, rounds, samples = (2, 1, 10) if a.quick else (10, 5, 50)
    busy = quiet_check()
    log("HAProxy %s; machine busy before the run: %.0f%%" % (hv, busy * 100))
    args = "--haproxy %s --parts %%s%s%s" % (
        a.haproxy, " --baseline BIN" if a.baseline else "",
        " --quick" if a.quick else "")
    pinned = ("Servers pinned to CPU %s, wrk to CPU %s; HAProxy nbthread 1; "
              "%d rounds of %d s alternated, medians." % (
                  SERVER_CPU, CLIENT_CPU, rounds, secs))
    out = {}
    if "health" in parts:
        log("health endpoint (wrk, %ds x %d rounds, alternated)" % (secs,
                                                                    rounds))
        r, d = health_rows(bench_health(secs, rounds, a.baseline), a.baseline)
        out["health"] = render_part("health", args % "health", busy, hv,
                                    pinned, r, d)
    if "detect" in parts:
        log("detection latency (%d samples each)" % samples)
        d_trig, d_poll = bench_detect(True, samples), bench_detect(False,
                                                                   samples)
        out["detect"] = render_part(
            "detect", args % "detect", busy, hv,
            "%d samples each, in ms: %s" % (samples, json.dumps(
                {"log trigger": [round(x, 2) for x in sorted(d_trig)],
                 "polling": [round(x, 1) for x in sorted(d_poll)]})),
            detect_rows(d_trig, d_poll), [])
    if "poll" in parts:
        log("polling cost at 1,000 backends x 10 servers")
        p = bench_poll(secs, rounds)
        out["poll"] = render_part("poll", args % "poll", busy, hv, pinned,
                                  poll_rows(p), ["Polling detail: %s" %
                                                 json.dumps(p)])
    title = "## HAProxy %s%s" % (hv, " (the host's)" if a.haproxy == "host"
                                 else " (Debian root haproxy-%s)" % a.haproxy)
    print(title + "\n\n" + "\n".join(out[n] for n, _ in PARTS if n in out))
    write_section(a.out, title, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
