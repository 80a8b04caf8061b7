"""Privilege and exposure.

hapwatch runs as `nobody` (setpriv from util-linux), reading HAProxy's
stats through a `level user` socket, and writing into a directory owned
by nobody:

* with CAP_NET_BIND_SERVICE only (inheritable + ambient), it binds a port
  below net.ipv4.ip_unprivileged_port_start and serves it; /proc shows
  uid/gid nobody, no groups, and that one capability;
* without it, it exits 2 at start with a clear "cannot listen" error;
* a health listener reveals the state and reason only: no Server header,
  no version, on every answer (200, 503, 404, 405, 400, 431, 505), and
  the admin routes (/status, /metrics, POST /services/..., POST
  /haproxy/save-state) are 404 there and change nothing;
* an exec hook gets its argv verbatim, never through a shell (`;`,
  `$()`, backquotes, quotes, globs, redirections, spaces, newlines, an
  empty string), the documented environment, the daemon's user, and none
  of its sockets;
* the track file and the server state file are replaced atomically: a
  reader looping on them during hundreds of rewrites never sees a partial
  file; modes do not depend on the umask (hapwatch runs with umask 000
  here): no file is world-writable, the state file is 0640, the unix
  admin socket 0660, and no temporary file is left behind.
"""
import json
import os
import socket
import stat
import subprocess
import threading
import time

import harness as H
from harness import get, wait_for
import stress as R

SETPRIV = "/usr/bin/setpriv"
NOBODY = 65534
CAP_NET_BIND_SERVICE = 10
HEALTH = "/haproxy_status"
DROP = [SETPRIV, "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
WITH_CAP = DROP + ["--inh-caps", "+net_bind_service",
                   "--ambient-caps", "+net_bind_service"]


def low_port(reserved):
    """A free loopback port below the unprivileged range, held (bound with
    SO_REUSEADDR, never listening) like harness ports."""
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        start = int(f.read())
    if start <= 1:
        raise AssertionError("net.ipv4.ip_unprivileged_port_start is %d: "
                             "no port needs CAP_NET_BIND_SERVICE here" % start)
    for port in range(min(start, 1024) - 1, 0, -1):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        reserved.append(s)
        return port
    raise AssertionError("no free port below %d" % start)


def version():
    out = subprocess.run([H.hapwatch_bin(), "-V"], capture_output=True,
                         text=True, timeout=30).stdout.split()
    return out[-1]


class PrivilegeTest(H.Case):

    def setUp(self):
        super().setUp()
        if not os.access(SETPRIV, os.X_OK):
            raise AssertionError("%s is missing (util-linux)" % SETPRIV)
        self.held = []
        self.addCleanup(lambda: [s.close() for s in self.held])
        os.chmod(self.env.dir, 0o755)		# nobody reads its config
        self.run_dir = self.env.path("run")	# nobody writes here
        os.mkdir(self.run_dir, 0o750)
        os.chown(self.run_dir, NOBODY, NOBODY)

    def start_world(self, wrapper=WITH_CAP, listen=None, notify=None,
                    haproxy_extra=None, umask=None, wait=True):
        env = self.env
        self.b = self.backends()
        ports = self.b.add_many("s", 2)
        self.user_sock = env.path("user.sock")
        self.hap = self.haproxy(
            H.hap_backend("app", ports),
            global_extra="    stats socket %s mode 666 level user" %
            self.user_sock).start()
        self.port = low_port(self.held)
        config = {
            "haproxy": {"stats": "unix:" + self.user_sock,
                        "interval": "100ms", "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.port,
                        "paths": {HEALTH: "web"}}] + (listen or []),
        }
        if notify:
            config["notify"] = notify
        if haproxy_extra:
            config["haproxy"].update(haproxy_extra)
        self.hw = R.Hapwatch(env, config, wrapper=wrapper, umask=umask)
        self.hw.start(wait=wait)
        return self.hw

    # ---- binding a privileged port ---------------------------------------

    def test_low_port_with_cap_net_bind_service_only(self):
        hw = self.start_world()
        hw.wait_state("web", "up")
        self.assertEqual(get(self.port, HEALTH), (200, "up all conditions "
                                                  "hold\n"))
        st = R.proc_status(hw.proc.pid)
        H.log("hapwatch on 127.0.0.1:%d: Uid %s, Gid %s, Groups %r, CapEff "
              "%s, CapPrm %s, CapAmb %s" % (
                  self.port, st["Uid"], st["Gid"], st["Groups"],
                  st["CapEff"], st["CapPrm"], st["CapAmb"]))
        self.assertEqual(st["Uid"].split(), [str(NOBODY)] * 4)
        self.assertEqual(st["Gid"].split(), [str(NOBODY)] * 4)
        self.assertEqual(st["Groups"], "")
        cap = 1 << CAP_NET_BIND_SERVICE
        self.assertEqual(int(st["CapEff"], 16), cap)
        self.assertEqual(int(st["CapPrm"], 16), cap)
        hw.stop()

    def test_low_port_without_cap(self):
        hw = self.start_world(wrapper=DROP, wait=False)
        rc = hw.proc.wait(H.T_START)
        log = H.tail(hw.proc.log_path, 20)
        self.assertEqual(rc, 2, log)
        want = "cannot listen on 127.0.0.1:%d: Permission denied" % self.port
        self.assertIn(want, log)
        H.log("without the capability: exit %d, %r" % (rc, [
            l for l in log.splitlines() if "cannot listen" in l][0]))

    # ---- what a health listener tells -------------------------------------

    def test_health_listener_reveals_nothing_else(self):
        hw = self.start_world()
        hw.wait_state("web", "up")
        ver = version()
        head = {"Host": "127.0.0.1", "Connection": "close"}
        seen = []

        def check(method, path, want, raw=None, body_is=None):
            st, hdrs, body = H.http(method, self.port, path, headers=head,
                                    raw=raw)
            seen.append("%s %s -> %d" % (method, (raw or path.encode())[:30],
                                         st))
            self.assertEqual(st, want, (method, path, raw, body))
            self.assertNotIn("server", hdrs)
            text = (hdrs[":status-line"] + "".join(
                "%s: %s\n" % kv for kv in hdrs.items()) +
                body.decode("latin-1"))
            self.assertNotIn(ver, text, (method, path))
            self.assertNotIn("hapwatch", text.lower(), (method, path))
            self.assertNotIn("x-powered-by", hdrs)
            if body_is is not None:
                self.assertEqual(body, body_is)
            return hdrs

        check("GET", HEALTH, 200, body_is=b"up all conditions hold\n")
        h = check("HEAD", HEALTH, 200, body_is=b"")
        self.assertEqual(h["content-length"], "23")
        for path in ("/status", "/metrics", "/", "/haproxy_status/",
                     "/services/web/drain", "/../status", "/status?x=1"):
            check("GET", path, 404)
        for path in ("/services/web/drain", "/services/drain",
                     "/services/web/maint", "/haproxy/save-state"):
            check("POST", path, 404)
        check("POST", HEALTH, 405)
        check("GET", HEALTH, 400, raw=b"G(T / HTTP/1.1\r\n\r\n")
        check("GET", HEALTH, 505, raw=b"GET / HTTP/2.0\r\n\r\n")
        check("GET", HEALTH, 431, raw=b"GET / HTTP/1.1\r\nX: " +
              b"a" * 9000 + b"\r\n\r\n")
        # Nothing the admin routes would have done happened.
        svc = hw.service("web")
        self.assertEqual((svc["state"], svc["override"]), ("up", None))
        # Down: still state and reason only.
        self.b.stop("s1", "s2")
        hw.wait_state("web", "down")
        st, hdrs, body = H.http("GET", self.port, HEALTH)
        self.assertEqual(st, 503)
        self.assertNotIn("server", hdrs)
        self.assertEqual(body.decode(), "down %s\n" % hw.service("web")[
            "reason"])
        H.log("health listener answers checked: %s" % "; ".join(seen))
        hw.stop()

    # ---- hooks -------------------------------------------------------------

    def test_hook_gets_argv_not_a_shell_string(self):
        pwned = os.path.join(self.run_dir, "PWNED")
        hook = self.env.path("hook.py")
        with open(hook, "w") as f:
            f.write("""#!/usr/bin/python3
import json, os, sys
fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        fds[fd] = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        pass
out = {"argv": sys.argv[1:], "uid": os.getuid(), "fds": fds,
       "env": {k: v for k, v in os.environ.items()
               if k.startswith("HAPWATCH_")}}
path = "%s/hook.%%s.json" %% os.environ.get("HAPWATCH_STATE", "none")
with open(path + ".tmp", "w") as f:
    json.dump(out, f)
os.rename(path + ".tmp", path)
""" % self.run_dir)
        os.chmod(hook, 0o755)
        evil = ["a;b", "$(touch %s)" % pwned, "`touch %s`" % pwned,
                "with  two spaces", "'single'", '"double"', "*", "|",
                "> %s" % pwned, "&& touch %s" % pwned, "$HOME", "tab\there",
                "new\nline", "", "--opt=x y", "\\"]
        hw = self.start_world(notify=[{"exec": [hook] + evil,
                                       "services": ["web"]}])
        hw.wait_state("web", "up")
        out = os.path.join(self.run_dir, "hook.up.json")
        wait_for(lambda: os.path.exists(out), H.T_STATE, "the hook to run")
        with open(out) as f:
            got = json.load(f)
        self.assertEqual(got["argv"], evil)
        self.assertFalse(os.path.exists(pwned), "a shell ran the hook")
        self.assertEqual(got["uid"], NOBODY)
        self.assertEqual(got["env"]["HAPWATCH_SERVICE"], "web")
        self.assertEqual(got["env"]["HAPWATCH_STATE"], "up")
        self.assertEqual(got["env"]["HAPWATCH_PREVIOUS"], "starting")
        self.assertEqual(got["env"]["HAPWATCH_REASON"], "all conditions hold")
        self.assertIn("HAPWATCH_TIME", got["env"])
        # The hook holds none of hapwatch's sockets (fd 3 and up are only
        # what the hook opened itself: the /proc/self/fd listing).
        leaked = {fd: t for fd, t in got["fds"].items()
                  if int(fd) > 2 and t.startswith("socket:")}
        self.assertEqual(leaked, {}, "hapwatch's sockets leaked into the "
                         "hook: %r" % got["fds"])
        H.log("hook argv arrived verbatim: %r; fds %r" % (got["argv"],
                                                          got["fds"]))
        hw.stop()

    # ---- files written -----------------------------------------------------

    def test_files_are_replaced_atomically(self):
        track = os.path.join(self.run_dir, "web.track")
        state = os.path.join(self.run_dir, "servers.state")
        admin = os.path.join(self.run_dir, "admin.sock")
        hw = self.start_world(
            notify=[{"track_file": track, "services": ["web"]}],
            listen=[{"http": "127.0.0.1:%d" % self.env.port(),
                     "admin": True},	# the harness's /status
                    {"http": "unix:" + admin, "admin": True}],
            haproxy_extra={"state_file": state,
                           "state_file_interval": "1s"},
            umask=0)
        hw.wait_state("web", "up")
        wait_for(lambda: os.path.exists(track) and os.path.exists(state),
                 H.T_STATE, "the track and state files")
        nservers = len(self.hap.show_stat("app 4 -1"))

        bad = []
        reads = {"track": {}, "state": 0}
        modes = set()
        stop = threading.Event()

        def valid_state(data):
            lines = data.split("\n")
            if lines[-1] != "" or lines[0] != "1" or \
                    not lines[1].startswith("# be_id "):
                return False
            rows = lines[2:-1]
            nf = len(lines[1].split()) - 1
            return len(rows) == nservers and all(
                len(r.split()) == nf for r in rows)

        def reader():
            while not stop.is_set():
                for path in (track, state):
                    try:
                        with open(path) as f:
                            data = f.read()
                        modes.add((os.path.basename(path),
                                   stat.S_IMODE(os.stat(path).st_mode)))
                    except FileNotFoundError:
                        bad.append((path, "missing"))
                        continue
                    if path == track:
                        reads["track"][data] = reads["track"].get(data, 0) + 1
                        if data not in ("0\n", "1\n"):
                            bad.append((path, data))
                    else:
                        reads["state"] += 1
                        if not valid_state(data):
                            bad.append((path, data[-200:]))
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t0 = time.monotonic()
        try:
            c = H.Conn(hw.admin_port)
            for i in range(300):
                c.request("POST", "/services/web/drain" if i % 2 == 0 else
                          "/services/web/ready")
                self.assertEqual(c.response()[0], 200)
                if i % 3 == 0:
                    c.request("POST", "/haproxy/save-state")
                    self.assertEqual(c.response()[0], 202)
            c.close()
            sf = hw.status()["state_file"]
            wait_for(lambda: hw.status()["state_file"]["completed"] >=
                     sf["requested"], H.T_STATE, "the saves to complete")
        finally:
            stop.set()
            t.join(30)
        took = time.monotonic() - t0
        sf = hw.status()["state_file"]
        m = hw.metrics()
        writes = R.metric(m, "hapwatch_track_file_writes_total")
        H.log("%.1fs: %d track file writes, %d state saves (%d failed); the "
              "reader saw the track file %r and %d complete state files; "
              "modes %r" % (took, writes, sf["saved"], sf["failures"],
                            reads["track"], reads["state"],
                            sorted("%s %o" % nm for nm in modes)))
        self.assertEqual(bad[:5], [], "partial or missing files seen")
        self.assertGreaterEqual(writes, 300)
        self.assertGreaterEqual(sf["saved"], 50)
        self.assertEqual(sf["failures"], 0)
        self.assertGreater(reads["track"].get("0\n", 0), 0)
        self.assertGreater(reads["track"].get("1\n", 0), 0)
        for name, mode in modes:
            self.assertFalse(mode & 0o002, "%s is world-writable: %o" % (
                name, mode))
        self.assertEqual({m for n, m in modes if n == "servers.state"},
                         {0o640})
        self.assertFalse(stat.S_IMODE(os.stat(track).st_mode) & 0o022)
        self.assertEqual(os.stat(state).st_uid, NOBODY)
        amode = stat.S_IMODE(os.stat(admin).st_mode)
        self.assertEqual(amode, 0o660, "admin socket mode %o" % amode)
        left = [f for f in os.listdir(self.run_dir) if ".tmp" in f]
        self.assertEqual(left, [], "temporary files left behind")
        hw.stop()


if __name__ == "__main__":
    H.main()
