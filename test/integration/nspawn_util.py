"""nspawn_util.py: a Debian root booted under its own systemd, for the
tests that need the real thing (test_systemd_boot.py). Python 3 standard
library only, on top of harness.py and operate.py.

test/tools/nspawn-boot boots it (systemd-nspawn -b, a throw-away layer
over the cached root, a network of its own, its own journald) and cleans
up after it, even when this process is killed. Commands enter it with
nsenter on its init's pid (systemd-run and machinectl need the container
registered with a host systemd, which there need not be). Files inside
are read and written from here through /proc/INIT/root, and unix sockets
inside (hapwatch's admin socket, HAProxy's stats sockets) are reached the
same way.
"""
import json
import os
import select
import subprocess
import time
import uuid

import harness as H
import operate as U

BOOT = os.path.join(H.TOOLS, "nspawn-boot")
BIND = "/srv/hwtest"		# the test's directory, inside the container
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
T_BOOT = 60.0			# boot to "running"
T_POWEROFF = 60.0		# poweroff and cleanup

U.TOOLS.setdefault("systemd-nspawn", ("/usr/bin/systemd-nspawn",
                                      "systemd-container"))
U.TOOLS.setdefault("nsenter", ("/usr/bin/nsenter", "util-linux"))
U.TOOLS.setdefault("curl", ("/usr/bin/curl", "curl"))
U.TOOLS.setdefault("debootstrap", ("/usr/sbin/debootstrap", "debootstrap"))


class Container:
    """A booted container over a cached root. The test's directory is
    bind-mounted at /srv/hwtest. close() powers it off (also registered
    as a cleanup by the caller)."""

    def __init__(self, env, root):
        U.tool("systemd-nspawn")
        self.nsenter = U.tool("nsenter")
        self.env = env
        self.name = "hwtest-" + uuid.uuid4().hex[:10]
        self.console = env.path("console.log")
        self.init = None
        self.nspawn = None
        self.seen = []
        self.buf = b""
        self.closed = False
        argv = [BOOT, "--root", root, "--name", self.name,
                "--bind", "%s:%s" % (env.dir, BIND),
                "--console", self.console]
        with open(env.path("nspawn-boot.log"), "ab") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err)
        self.proc.wait()	# it detaches at once: its supervisor goes on
        self.nspawn = int(self.expect("nspawn ", 10)[len("nspawn "):])
        self.init = int(self.expect("init ", 30)[len("init "):])
        H.log("container %s: systemd-nspawn pid %d, its init pid %d" % (
            self.name, self.nspawn, self.init))

    # ---- the supervisor's lines ----------------------------------------

    def _line(self, deadline, what):
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError("nspawn-boot: no %s in time; it said: "
                                     "%r; console:\n%s" % (
                                         what, self.seen,
                                         H.tail(self.console, 30)))
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError("nspawn-boot ended before %s; it said: "
                                     "%r; console:\n%s" % (
                                         what, self.seen,
                                         H.tail(self.console, 30)))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.decode("utf-8", "replace")
        self.seen.append(line)
        return line

    def expect(self, prefix, timeout):
        deadline = time.monotonic() + timeout * H.SCALE
        while True:
            line = self._line(deadline, repr(prefix))
            if line.startswith(prefix):
                return line
            if line.startswith("exited "):
                raise AssertionError("the container ended (%s) before %r; "
                                     "console:\n%s" % (line, prefix,
                                                       H.tail(self.console,
                                                              40)))

    def close(self):
        """Power off (SIGRTMIN+3 to its init, by the supervisor once its
        stdin ends), wait for the supervisor's "clean"; returns seconds."""
        if self.closed:
            return 0.0
        self.closed = True
        t0 = time.monotonic()
        self.proc.stdin.close()
        try:
            ex = self.expect("exited ", T_POWEROFF)
            self.expect("clean", 20)
        finally:
            self.proc.stdout.close()
        took = time.monotonic() - t0
        H.log("container %s: powered off (%s, nspawn-boot said %r) in "
              "%.1fs" % (self.name, ex, self.seen, took))
        warnings = [l for l in self.seen if l.startswith("warning")]
        if warnings:
            raise AssertionError("container %s: %s" % (self.name, warnings))
        if ex != "exited 0":
            raise AssertionError("systemd-nspawn %s; console:\n%s" % (
                ex, H.tail(self.console, 40)))
        return took

    # ---- inside ----------------------------------------------------------

    def argv(self, cmd, net_only=False):
        """nsenter argv: every namespace of the container (its mount
        namespace gives its root), a clean environment; net_only: only
        its network, to run a host tool (curl) against its loopback."""
        if net_only:
            return [self.nsenter, "--target", str(self.init), "--net",
                    "--"] + list(cmd)
        return [self.nsenter, "--target", str(self.init), "--all", "--",
                "/usr/bin/env", "-i", "PATH=" + PATH, "LANG=C.UTF-8",
                "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "TERM=dumb"] + \
            list(cmd)

    def run(self, cmd, timeout=60.0, check=False, input=None):
        """Run cmd inside -> CompletedProcess (text); check: fail unless
        it exits 0."""
        try:
            r = subprocess.run(self.argv(cmd), input=input,
                               stdin=None if input is not None
                               else subprocess.DEVNULL,
                               capture_output=True, text=True,
                               timeout=timeout * H.SCALE)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("in the container, %s did not finish "
                                 "within %.0fs: %s%s" % (
                                     " ".join(cmd), timeout * H.SCALE,
                                     e.stdout or "", e.stderr or ""))
        if check and r.returncode != 0:
            raise AssertionError("in the container, %s exited %d:\n--- "
                                 "stdout\n%s--- stderr\n%s" % (
                                     " ".join(cmd), r.returncode, r.stdout,
                                     r.stderr))
        return r

    def sh(self, script, timeout=60.0, check=True):
        return self.run(["/bin/sh", "-ec", script], timeout, check)

    def popen(self, cmd):
        """Start cmd inside, without waiting: (Popen, its start time)."""
        p = subprocess.Popen(self.argv(cmd), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        return p, time.monotonic()

    def path(self, p):
        """The host's path of the container's file p."""
        return "/proc/%d/root%s" % (self.init, p)

    def write(self, p, text, mode=0o644):
        with open(self.path(p), "w") as f:
            f.write(text)
        os.chmod(self.path(p), mode)

    def read(self, p):
        with open(self.path(p)) as f:
            return f.read()

    # ---- systemd ---------------------------------------------------------

    def wait_booted(self):
        """systemctl is-system-running --wait: "running", or fail with
        the failed units."""
        # systemctl answers "offline" until the container's systemd
        # listens on its private socket.
        H.wait_for(lambda: os.path.exists(self.path(
            "/run/systemd/private")), T_BOOT, "the container's systemd to "
            "listen on /run/systemd/private")
        r = self.run(["systemctl", "is-system-running", "--wait"], T_BOOT)
        state = r.stdout.strip()
        if state != "running":
            failed = self.run(["systemctl", "--failed", "--no-legend",
                               "--plain"]).stdout
            raise AssertionError("the container's systemd is %r, not "
                                 "running; failed units:\n%s" % (state,
                                                                 failed))
        return state

    def systemctl(self, *args, timeout=120.0):
        """systemctl ARGS -> (exit status, stdout + stderr, seconds)."""
        t0 = time.monotonic()
        r = self.run(["systemctl"] + list(args), timeout)
        took = time.monotonic() - t0
        H.log("systemctl %s -> %d in %.2fs%s" % (
            " ".join(args), r.returncode, took,
            (": " + (r.stdout + r.stderr).strip()) if
            (r.stdout + r.stderr).strip() else ""))
        return r.returncode, r.stdout + r.stderr, took

    def show(self, unit, *props):
        """systemctl show -p ... -> {property: value}."""
        r = self.run(["systemctl", "show", unit] +
                     ["--property=" + p for p in props], check=True)
        return dict(l.split("=", 1) for l in r.stdout.splitlines()
                    if "=" in l)

    def show_list(self, unit, prop):
        """Every value of a property that systemctl show repeats, one per
        line (ExecReload= with several commands)."""
        r = self.run(["systemctl", "show", unit, "--property=" + prop],
                     check=True)
        return [l.split("=", 1)[1] for l in r.stdout.splitlines()
                if l.startswith(prop + "=")]

    def journal(self, *args):
        """journalctl -o json ARGS... -> [entry dicts], oldest first. Each
        has MESSAGE as text, and t: its monotonic time in seconds."""
        r = self.run(["journalctl", "--no-pager", "-o", "json"] +
                     list(args), check=True)
        out = []
        for line in r.stdout.splitlines():
            e = json.loads(line)
            m = e.get("MESSAGE")
            if isinstance(m, list):		# bytes that are not UTF-8
                m = bytes(m).decode("utf-8", "replace")
            e["MESSAGE"] = m or ""
            e["t"] = int(e["__MONOTONIC_TIMESTAMP"]) / 1e6
            out.append(e)
        return out

    def curl(self, url, timeout=5.0):
        """GET url from inside the container's network, with the host's
        curl -> (status, body); status 0 when no answer."""
        r = subprocess.run(self.argv([U.tool("curl"), "-sS", "-o", "-",
                                      "-w", "\n%{http_code}", "--max-time",
                                      str(timeout), url], net_only=True),
                           capture_output=True, text=True,
                           timeout=(timeout + 5) * H.SCALE)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body
