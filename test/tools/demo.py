#!/usr/bin/python3
"""demo.py: ./dev demo. A real HAProxy, three backend servers and hapwatch
on loopback, walked through a failure and a recovery, showing what each
load balancer would see.

    ./dev demo           run the walk-through, then clean everything up
    ./dev demo --keep    leave it all running, and print how to poke it
    ./dev demo --stop    stop what --keep left running

Everything lives in /tmp/hapwatch-demo and on 127.0.0.1 ports 18080
(HAProxy's frontend), 18090 (health path), 18091 (TCP port), 18097 (agent),
18181-18183 (backend servers).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIR = "/tmp/hapwatch-demo"
HAPWATCH = os.path.join(TOP, "build", "hapwatch")
CONF = os.path.join(TOP, "conf", "examples", "demo.json")
BACKEND = os.path.join(TOP, "test", "tools", "backend.py")
FRONTEND, HEALTH, TCP, AGENT = 18080, 18090, 18091, 18097
SERVERS = {"app1": 18181, "app2": 18182, "app3": 18183}
PIDFILE = os.path.join(DIR, "pids.json")

HAPROXY_CFG = """\
global
    stats socket {dir}/haproxy.sock level admin
    stats timeout 10s
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    default-server check inter 200ms fall 1 rise 2
frontend fe_main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
{servers}
backend api
{servers}
"""

TTY = sys.stdout.isatty()


def c(code, s):
    return "\033[%sm%s\033[0m" % (code, s) if TTY else s


def say(s=""):
    print(s, flush=True)


def step(s):
    say()
    say(c("1;36", "== " + s))


def fatal(msg):
    say(c("1;31", "demo: " + msg))
    sys.exit(1)


# ---- what the load balancers see -------------------------------------

def http_probe(port, path="/haproxy_status"):
    """An ALB/ELB probe: one request on a new connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: 10.0.0.1\r\n"
                       "User-Agent: ELB-HealthChecker/2.0\r\n"
                       "Connection: close\r\n\r\n" % path).encode())
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
    except ConnectionRefusedError:
        return None, "connection refused"
    except OSError as e:
        return None, str(e)
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, body.decode().strip()


def agent_probe():
    try:
        with socket.create_connection(("127.0.0.1", AGENT), timeout=2) as s:
            return s.recv(256).decode()
    except OSError as e:
        return "(%s)" % e


def tcp_probe():
    try:
        with socket.create_connection(("127.0.0.1", TCP), timeout=2) as s:
            return "accepts (" + s.recv(64).decode().strip() + ")"
    except ConnectionRefusedError:
        return "refused (RST)"


def show_all():
    st, body = http_probe(HEALTH)
    col = "32" if st == 200 else "31"
    say("  ALB/ELB  GET :%d/haproxy_status  -> %s" % (
        HEALTH, c(col, "%s %s" % (st, body) if st else body)))
    ag = agent_probe()
    say("  HAProxy  agent-check :%d        -> %s" % (
        AGENT, c("32" if ag.startswith("up") else "31", repr(ag))))
    tp = tcp_probe()
    say("  NLB      TCP :%d                -> %s" % (
        TCP, c("32" if tp.startswith("acc") else "31", tp)))
    st, body = http_probe(FRONTEND, "/")
    say("  client   GET :%d/ (HAProxy)     -> %s" % (
        FRONTEND, c("32" if st == 200 else "31",
                    "%s from %s" % (st, body) if st else body)))


def wait_for(pred, what, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    fatal("timed out waiting for " + what)


def agent_is(prefix):
    return lambda: agent_probe().startswith(prefix)


# ---- processes ------------------------------------------------------

class Demo:
    def __init__(self):
        self.procs = {}

    def spawn(self, name, argv, log):
        out = open(os.path.join(DIR, log), "ab")
        self.procs[name] = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        self.save_pids()

    def save_pids(self):
        with open(PIDFILE, "w") as f:
            json.dump({k: p.pid for k, p in self.procs.items()}, f)

    def start_server(self, name):
        self.spawn(name, ["/usr/bin/python3", BACKEND, "--port",
                          str(SERVERS[name]), "--name", name], name + ".log")

    def stop_server(self, name):
        p = self.procs.pop(name)
        p.kill()
        p.wait()
        self.save_pids()

    def start(self):
        servers = "\n".join("    server %s 127.0.0.1:%d" % (n, p)
                            for n, p in SERVERS.items())
        with open(os.path.join(DIR, "haproxy.cfg"), "w") as f:
            f.write(HAPROXY_CFG.format(dir=DIR, fe=FRONTEND, servers=servers))
        for n in SERVERS:
            self.start_server(n)
        self.spawn("haproxy", ["haproxy", "-db", "-f",
                               os.path.join(DIR, "haproxy.cfg")],
                   "haproxy.log")
        wait_for(lambda: os.path.exists(os.path.join(DIR, "haproxy.sock")),
                 "HAProxy's stats socket")
        self.spawn("hapwatch", [HAPWATCH, "-f", CONF], "hapwatch.log")
        wait_for(agent_is("up 100%"), "hapwatch to see every server up")

    def stop(self):
        # hapwatch first: on SIGTERM it gives HAProxy its frontends back.
        for name in ["hapwatch", "haproxy"] + list(SERVERS):
            p = self.procs.pop(name, None)
            if p is None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if os.path.exists(PIDFILE):
            os.unlink(PIDFILE)


def stop_kept():
    try:
        with open(PIDFILE) as f:
            pids = json.load(f)
    except FileNotFoundError:
        say("demo: nothing is running")
        return 0
    for name in ["hapwatch", "haproxy"] + list(SERVERS):
        pid = pids.get(name)
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    os.unlink(PIDFILE)
    say("demo: stopped")
    return 0


def busy_ports():
    busy = []
    for p in [FRONTEND, HEALTH, TCP, AGENT] + list(SERVERS.values()):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                busy.append(p)
    return busy


def walk(d):
    step("All three backend servers up: every load balancer sees a healthy node")
    show_all()

    step("app1 dies: HAProxy marks it DOWN; capacity 2 of 3, so the upstream "
         "tier's weight drops to 66%")
    d.stop_server("app1")
    wait_for(agent_is("up 66%"), "weight 66%")
    show_all()

    step("app2 dies: 1 of 3 left, weight 33%; still serving")
    d.stop_server("app2")
    wait_for(agent_is("up 33%"), "weight 33%")
    show_all()

    step("app3 dies: no usable server. The health path says 503 and why, the "
         "TCP port and HAProxy's own frontend refuse at once")
    t0 = time.monotonic()
    d.stop_server("app3")
    wait_for(agent_is("down"), "the verdict to flip")
    wait_for(lambda: http_probe(FRONTEND, "/")[0] is None,
             "HAProxy's frontend to be disabled")
    say("  (%.0f ms from the kill, HAProxy's own check included)"
        % ((time.monotonic() - t0) * 1000))
    show_all()

    step("app1 comes back: HAProxy needs rise 2 checks, hapwatch holds "
         "up_after 1s before saying up again (no flapping)")
    d.start_server("app1")
    wait_for(agent_is("up"), "recovery", timeout=20)
    show_all()

    step("The operator drains the node before maintenance "
         "(hapwatch ctl drain): the load balancers stop sending, "
         "HAProxy keeps serving what still arrives")
    subprocess.run([HAPWATCH, "ctl", "-s", os.path.join(DIR, "admin.sock"),
                    "drain"], check=True, stdout=subprocess.DEVNULL)
    wait_for(agent_is("up 0%"), "drain")
    show_all()
    subprocess.run([HAPWATCH, "ctl", "-s", os.path.join(DIR, "admin.sock"),
                    "ready"], check=True, stdout=subprocess.DEVNULL)
    wait_for(agent_is("up"), "ready")

    step("hapwatch ctl status")
    subprocess.run([HAPWATCH, "ctl", "-s", os.path.join(DIR, "admin.sock"),
                    "status"], check=True)


def main():
    if "--stop" in sys.argv[1:]:
        return stop_kept()
    keep = "--keep" in sys.argv[1:]
    if not os.access(HAPWATCH, os.X_OK):
        fatal("%s is missing: run ./dev build" % HAPWATCH)
    if shutil.which("haproxy") is None:
        fatal("haproxy is not installed: run ./dev deps")
    if os.path.exists(PIDFILE):
        stop_kept()
        time.sleep(0.5)
    busy = busy_ports()
    if busy:
        fatal("ports in use on 127.0.0.1: %s" % busy)
    shutil.rmtree(DIR, ignore_errors=True)
    os.makedirs(DIR)
    say(c("1", "hapwatch demo: HAProxy %s, three backend servers, hapwatch, "
               "all on 127.0.0.1" % subprocess.run(
                   ["haproxy", "-v"], capture_output=True,
                   text=True).stdout.split()[2]))
    say("config: conf/examples/demo.json; logs: %s/*.log" % DIR)
    d = Demo()
    try:
        d.start()
        walk(d)
        if keep:
            for n in SERVERS:
                if n not in d.procs:
                    d.start_server(n)
            d.procs.clear()
            say()
            say(c("1", "Left running. Poke it:"))
            say("  curl -i http://127.0.0.1:%d/haproxy_status" % HEALTH)
            say("  socat - TCP:127.0.0.1:%d        # agent-check reply" % AGENT)
            say("  %s ctl -s %s/admin.sock status" % (HAPWATCH, DIR))
            say("  echo 'disable server app/app1' | socat - %s/haproxy.sock"
                % DIR)
            say("  tail -f %s/hapwatch.log" % DIR)
            say("Stop it with: ./dev demo --stop")
            return 0
    except BaseException:
        d.stop()
        raise
    d.stop()
    say()
    say(c("1;32", "demo: done; everything stopped, HAProxy's frontend was "
                  "restored before it stopped"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
