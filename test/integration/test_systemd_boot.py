"""hapwatch under a real systemd: the .deb installed in a container that
boots Debian's systemd (systemd-nspawn -b on a root made by
test/tools/mkroot, on a throw-away layer, with a network and a journald of
its own: test/tools/nspawn-boot), driven with systemctl and judged by
systemd's own word and the container's journal. test_systemd.py checks
the unit's text; this checks what systemd does with it.

It runs on Debian 12 (systemd 252, HAProxy 2.6) and Debian 13 (systemd
257, HAProxy 3.0): the package built on 12 serves both. The container
holds a small world: Debian's HAProxy (haproxy.service, its
haproxy.cfg with a frontend fe_web, a backend be_app and the application
it serves), an upstream HAProxy playing the load balancer
(haproxy-lb.service: "option httpchk GET /haproxy_status", inter 500ms
fall 2 rise 2, and an agent-check on hapwatch's agent port), and hapwatch,
installed with "apt-get install ./hapwatch_*.deb" as an operator does
(offline: the root already has what the package depends on).

1. Install: the postinst enables and starts hapwatch under systemd; every
   program the unit runs (ExecStartPre, ExecStart, ExecReload) exists and
   comes from the package, one it depends on, or an Essential one.
2. Type=notify readiness: hapwatch's stats socket is a relay that holds
   its first poll. "systemctl start hapwatch" must still be waiting while
   hapwatch already listens and answers "503 down starting" (systemd says
   activating/start, for a second on end), and return 0 only after the
   poll is let through: systemd's ActiveEnterTimestampMonotonic is later
   than that moment (the host's and the container's monotonic clocks are
   one).
3. "systemctl reload hapwatch" with a valid file: it succeeds, the new
   path answers (404 before) and the new stats source is in use, same
   MainPID. With an invalid file: the reload fails (ExecReload runs
   "hapwatch -c"), the daemon stays active with the same pid and keeps
   serving the running config, and "journalctl -p err -u hapwatch" shows
   the error line, with the file and JSON path, at priority err.
4. The watchdog: hapwatch gets SIGSTOP; systemd's WatchdogSec=10s fires
   ("Watchdog timeout"), kills it (SIGABRT) and restarts it: a new
   MainPID, active again, NRestarts + 1, answering again.
5. Both drop-ins of conf/haproxy/haproxy.service.d/ installed in
   /etc/systemd/system/haproxy.service.d/. "systemctl reload haproxy"
   (hapwatch-state.conf): HAProxy's check, "hapwatch ctl save-state" and
   the signal each exit 0 and the server state file is written. Then
   "systemctl stop haproxy" (hapwatch-drain.conf), while an operator has
   drained service api: the drop-in's ExecStop ("hapwatch ctl drain
   --wait --by haproxy.service") exits 0, which it does only at the
   let-go, and systemd signals HAProxy only after it. /status then shows
   web drained by haproxy.service with let_go true (all three watched:
   the http prober, the agent prober, frontend fe_web), api still the
   operator's; the journal shows systemd stopping HAProxy, the drain, the
   load balancer taking the node DOWN (asserted before HAProxy's master
   exits), hapwatch's let-go, then HAProxy's master exiting.
   "systemctl start haproxy": ExecStartPost lifts the drain by
   haproxy.service only: web up again and back UP at the load balancer,
   api still drained by the operator.
6. The same as a shutdown and a boot do it: "systemctl stop haproxy
   hapwatch" in one transaction must still drain and let go before HAProxy
   exits, and systemd must stop hapwatch only once HAProxy is down;
   "systemctl start hapwatch haproxy" in one transaction must start
   HAProxy only once hapwatch is up (systemd's own timestamps), so that
   the drain hapwatch kept across its restart is the one HAProxy's
   ExecStartPost lifts (else the node stays out of rotation after a
   reboot).
7. journald priorities: hapwatch's lines land at their level (notice 5,
   warning 4, err 3), with no "<N>" left in the text, and "journalctl -p
   warning -u hapwatch" shows the warning and not the notice.
8. "apt-get purge hapwatch" stops the daemon and removes its state.

Then the container is powered off (SIGRTMIN+3 to its init) and
everything it used is gone. A missing tool (systemd-nspawn, debootstrap,
nsenter, curl, cmake, dpkg-dev) or a root that cannot be built is a
failure, never a skip.
"""
import json
import os
import re
import shutil
import subprocess
import time

import harness as H
import nspawn_util as N
import operate as U

BUILD_TIMEOUT = 300.0
ROOT_TIMEOUT = 900.0	# debootstrap of the root (about 80 s near a mirror)
MKROOT = os.path.join(H.TOOLS, "mkroot")
DROPINS = os.path.join(H.SRC, "conf", "haproxy", "haproxy.service.d")
STATE_FILE = "/var/lib/hapwatch/server-state"
UNIT = "hapwatch.service"
CFG = "/etc/hapwatch/hapwatch.json"
HEALTH = "http://127.0.0.1:8080/haproxy_status"
API = "http://127.0.0.1:8080/api_status"
ADMIN = "/run/hapwatch/admin.sock"
HOLD = 1.0		# how long the first poll is held (seconds)
LB_SOCK = "/run/haproxy-lb/admin.sock"

# The roots the container boots (test/tools/mkroot), by Debian release.
# The package built on 12 serves 12 and 13 (README.md, "Packaging"), so a
# Debian 12 host tries it under both systemds (252 and 257); one built on
# 13 installs on 13 only (test_package.py checks that it refuses 12).
ROOTS = {12: "bookworm-systemd", 13: "trixie-systemd"}

# This node's HAProxy: appended to Debian's haproxy.cfg. fe_origin is the
# application behind be_app, served by HAProxy itself.
NODE_CFG = """
frontend fe_web
	bind 127.0.0.1:80
	default_backend be_app

backend be_app
	option httpchk GET /
	server app1 127.0.0.1:8001 check inter 500ms

frontend fe_origin
	bind 127.0.0.1:8001
	http-request return status 200 content-type text/plain string "app"
"""

# The load balancer in front of this node: an HTTP health check of
# hapwatch's path, and an agent-check on its agent port.
LB_CFG = """global
	stats socket %s mode 600 level admin
	log /dev/log local0

defaults
	mode http
	log global
	timeout connect 2s
	timeout client 10s
	timeout server 10s

frontend fe_lb
	bind 127.0.0.1:8090
	default_backend be_nodes

backend be_nodes
	option httpchk GET /haproxy_status
	server node1 127.0.0.1:80 check port 8080 inter 500ms fall 2 rise 2 agent-check agent-port 9707 agent-inter 500ms
""" % LB_SOCK

LB_UNIT = """[Unit]
Description=the load balancer in front of this node (test_systemd_boot)

[Service]
Type=notify
RuntimeDirectory=haproxy-lb
ExecStart=/usr/sbin/haproxy -Ws -f /etc/haproxy/lb.cfg
KillMode=mixed
SuccessExitStatus=143
"""


def hapwatch_config(stats, timeout="500ms", api=True):
    paths = {"/haproxy_status": "web"}
    haproxy = {"stats": stats, "interval": "500ms", "timeout": timeout,
               "settle": "1s"}
    if api:
        paths["/api_status"] = "api"
        haproxy["state_file"] = STATE_FILE
    return {
        "haproxy": haproxy,
        "services": {
            "web": {"require": [{"backend": "be_app"}],
                    "drain_frontends": ["fe_web"],
                    "let_go": {"quiet": "2s"}},
            "api": {"require": [{"backend": "be_app"}]},
        },
        "listen": [
            {"http": "0.0.0.0:8080", "paths": paths},
            {"agent": "0.0.0.0:9707", "service": "web"},
            {"http": "unix:" + ADMIN, "admin": True},
        ],
    }


def host_release():
    with open("/etc/os-release") as f:
        m = re.search(r'^VERSION_ID="?(\d+)', f.read(), re.M)
    return int(m.group(1)) if m else 1000


def build_deb(env):
    """The .deb as "./dev package" builds it, in a scratch build dir
    (only the daemon and the man pages: cpack needs nothing else)."""
    build = env.path("build")
    cmake, cpack = U.tool("cmake"), U.tool("cpack")
    U.tool("dpkg-shlibdeps")
    U.run([cmake, "-S", H.SRC, "-B", build, "-DWERROR=ON",
           "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
           "-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON"],
          timeout=BUILD_TIMEOUT, check=True)
    U.run([cmake, "--build", build, "-j2", "--target", "hapwatch", "man"],
          timeout=BUILD_TIMEOUT, check=True)
    r = U.run([cpack, "-G", "DEB"], cwd=build, timeout=BUILD_TIMEOUT,
              check=True)
    debs = [f for f in os.listdir(build) if f.endswith(".deb")]
    if len(debs) != 1:
        raise AssertionError("cpack made %r:\n%s" % (debs, r.stdout))
    return os.path.join(build, debs[0])


def mkroot(name):
    U.tool("debootstrap")
    r = U.run([MKROOT, name], timeout=ROOT_TIMEOUT)
    if r.returncode != 0:
        raise AssertionError("cannot build the Debian root %s: %s" % (
            name, r.stderr.strip()))
    return r.stdout.strip()


def show_stat(sock):
    """HAProxy's "show stat" on a unix socket -> {(px, sv): row}."""
    out = H.unix_request(sock, b"show stat\n").decode()
    return {(r["pxname"], r["svname"]): r for r in H.parse_csv(out)}


def first(entries, what, pred, after=None):
    """The first journal entry that pred() accepts (after entry `after`)."""
    for e in entries:
        if after is not None and e["t"] < after["t"]:
            continue
        if pred(e):
            return e
    raise AssertionError("no journal entry for %s; the journal:\n%s" % (
        what, "\n".join(fmt(e) for e in entries[-60:])))


def fmt(e, t0=None):
    who = unit_of(e) or "-"
    when = ("%+8.3fs" % (e["t"] - t0)) if t0 is not None else \
        "%.3f" % e["t"]
    return "%s %-18s <%s> %s[%s]: %s" % (
        when, who, e.get("PRIORITY", "?"), e.get("SYSLOG_IDENTIFIER", "?"),
        e.get("_PID", "?"), e["MESSAGE"])


def unit_of(e):
    """The unit a journal entry is about: UNIT= for systemd's own
    messages, else the unit of the process that logged it."""
    if e.get("_PID") == "1":
        return e.get("UNIT") or e.get("_SYSTEMD_UNIT") or ""
    return e.get("_SYSTEMD_UNIT") or ""


def by_systemd(unit, prefix):
    return lambda e: e.get("_PID") == "1" and e.get("UNIT") == unit and \
        e["MESSAGE"].startswith(prefix)


def from_unit(unit, text):
    return lambda e: e.get("_SYSTEMD_UNIT") == unit and \
        e.get("_PID") != "1" and text in e["MESSAGE"]


class SystemdBootTest(H.Case):

    @classmethod
    def setUpClass(cls):
        """One .deb for every release."""
        cls.env0 = H.Env(cls.__name__)
        try:
            os.chmod(cls.env0.dir, 0o755)
            t0 = time.monotonic()
            cls.deb = build_deb(cls.env0)
            H.log("built %s in %.1fs" % (os.path.basename(cls.deb),
                                         time.monotonic() - t0))
        except BaseException:
            cls.env0.close(True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env0.close(False)

    def setUp(self):
        super().setUp()
        # The container's users (apt's _apt, hapwatch) read the .deb and
        # connect to the gate socket in here.
        os.chmod(self.env.dir, 0o755)

    def test_debian12(self):
        self.under_systemd(12)

    def test_debian13(self):
        self.under_systemd(13)

    def under_systemd(self, release):
        t_all = time.monotonic()
        host = host_release()
        if host not in ROOTS:
            raise AssertionError("no systemd root for Debian %d, where this "
                                 "runs: add one to ROOTS and test/tools/"
                                 "mkroot" % host)
        if host > release:
            H.log("a package built on Debian %d does not install on Debian "
                  "%d (test_package.py checks that it refuses): nothing to "
                  "boot" % (host, release))
            return
        self.defects = []
        t0 = time.monotonic()
        root = mkroot(ROOTS[release])
        H.log("root %s ready in %.1fs" % (root, time.monotonic() - t0))
        deb = os.path.join(self.env.dir, os.path.basename(self.deb))
        shutil.copy(self.deb, deb)

        t0 = time.monotonic()
        self.c = c = N.Container(self.env, root)
        self.addCleanup(self.poweroff)
        c.wait_booted()
        H.log("booted: systemd is running, %.1fs after systemd-nspawn "
              "started" % (time.monotonic() - t0))
        try:
            self.install(deb)
            self.world()
            self.readiness()
            self.reloads()
            self.watchdog()
            self.drain_on_haproxy_stop()
            self.drain_on_shutdown()
            self.priorities()
            self.purge()
        except AssertionError as e:
            raise AssertionError("%s\n---- the container's journal (last "
                                 "80 lines) ----\n%s" % (e, self.tail())) \
                from None
        self.assertEqual(self.defects, [], "found along the way")
        took = self.poweroff()
        H.log("the whole test took %.1fs (poweroff %.1fs)" % (
            time.monotonic() - t_all, took))

    def poweroff(self):
        return self.c.close()

    def tail(self):
        try:
            return "\n".join(fmt(e) for e in self.c.journal()[-80:])
        except Exception as e:  # noqa: BLE001 - diagnostics only
            return "<journal unreadable: %s>" % e

    # ---- helpers ---------------------------------------------------------

    def status(self):
        st, _, body = H.unix_http(self.c.path(ADMIN), "GET", "/status")
        self.assertEqual(st, 200, body)
        return json.loads(body)

    def main_pid(self):
        return int(self.c.show(UNIT, "MainPID")["MainPID"])

    def wait_state(self, svc, state, timeout=H.T_STATE):
        def reached():
            s = self.status()["services"][svc]
            return s if s["state"] == state else None
        return H.wait_for(reached, timeout, "service %s to be %s" % (
            svc, state))

    def lb_node(self):
        return show_stat(self.c.path(LB_SOCK))[("be_nodes", "node1")]

    def wait_lb(self, status, timeout=H.T_STATE):
        return H.wait_for(lambda: self.lb_node()["status"] == status and
                          self.lb_node(), timeout,
                          "the load balancer to see node1 %s" % status)

    def write_config(self, cfg):
        self.c.write(CFG, json.dumps(cfg, indent=2) + "\n")

    # ---- 1. install --------------------------------------------------------

    def install(self, deb):
        c = self.c
        # mkroot's policy-rc.d keeps services from starting in a chroot;
        # a real machine has none, and the postinst must start hapwatch.
        c.sh("rm -f /usr/sbin/policy-rc.d")
        inside = N.BIND + "/" + os.path.basename(deb)
        t0 = time.monotonic()
        r = c.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get",
                   "install", "-y", "-q", "--no-install-recommends", inside],
                  timeout=300)
        if r.returncode != 0:
            raise AssertionError("apt-get install %s exited %d (the root "
                                 "must already have what the package "
                                 "depends on: test/tools/mkroot's "
                                 "recipe):\n%s%s" % (
                                     inside, r.returncode, r.stdout,
                                     r.stderr))
        H.log("apt-get install ./%s: %.1fs" % (os.path.basename(deb),
                                               time.monotonic() - t0))
        self.assertEqual(c.run(["systemctl", "is-enabled", UNIT]).stdout
                         .strip(), "enabled")
        props = c.show(UNIT, "ActiveState", "SubState", "MainPID",
                       "StatusText")
        H.log("after the install: %r" % props)
        self.assertEqual((props["ActiveState"], props["SubState"]),
                         ("active", "running"), "the postinst did not "
                         "start hapwatch under systemd")
        # The shipped config reads Debian's HAProxy as Debian ships it:
        # under systemd, /run/haproxy is setgid haproxy (tmpfiles.d), so
        # the stats socket is root:haproxy, which the unit's
        # SupplementaryGroups=haproxy opens.
        j = c.journal("-u", UNIT)
        started = first(j, "hapwatch's start", from_unit(UNIT, " started: "))
        polled = H.wait_for(lambda: [e for e in c.journal("-u", UNIT)
                                     if from_unit(UNIT, "HAProxy ")(e) and
                                     ", pid " in e["MESSAGE"]],
                            H.T_START, "the shipped config's first poll of "
                            "Debian's HAProxy")[0]
        sock = os.stat(c.path("/run/haproxy/admin.sock"))
        H.log("journal:\n    %s\n    %s\n  /run/haproxy/admin.sock: mode "
              "%o, group %s" % (fmt(started), fmt(polled),
                                sock.st_mode & 0o7777, c.run(
                                    ["stat", "-c", "%G",
                                     "/run/haproxy/admin.sock"]).stdout
                                .strip()))

        # Every program the unit runs is there, from a package that the
        # .deb depends on (or Essential, or the .deb itself).
        depends = U.run([U.tool("dpkg-deb"), "-f", deb, "Depends"],
                        check=True).stdout
        allowed = {d.strip().split()[0] for d in depends.split(",")}
        allowed.add("hapwatch")
        essential = c.run(["dpkg-query", "-W", "-f",
                           "${Package} ${Essential}\\n"], check=True).stdout
        allowed |= {l.split()[0] for l in essential.splitlines()
                    if l.endswith(" yes")}
        text = c.run(["systemctl", "cat", UNIT], check=True).stdout
        progs = sorted(set(re.findall(
            r"^Exec\w+=[-@:+!]*(/\S+)", text, re.M)))
        self.assertIn("/usr/bin/hapwatch", progs)
        owners = {}
        for p in progs:
            r = c.sh('dpkg-query -S "$(readlink -f %s)" 2>/dev/null || '
                     'dpkg-query -S %s' % (p, p), check=False)
            self.assertEqual(r.returncode, 0, "the unit runs %s, which no "
                             "package in the container owns:\n%s" % (
                                 p, r.stderr))
            owners[p] = r.stdout.split(":")[0]
        H.log("programs of the unit and their packages: %r; the .deb "
              "depends on %s" % (owners, depends.strip()))
        for p, pkg in owners.items():
            self.assertIn(pkg, allowed, "the unit runs %s from package %s, "
                          "which the .deb does not depend on (Depends: %s)"
                          % (p, pkg, depends.strip()))

    # ---- the world: this node's HAProxy and its load balancer -------------

    def world(self):
        c = self.c
        cfg = c.read("/etc/haproxy/haproxy.cfg")
        c.write("/etc/haproxy/haproxy.cfg", cfg + NODE_CFG)
        c.write("/etc/haproxy/lb.cfg", LB_CFG)
        c.write("/etc/systemd/system/haproxy-lb.service", LB_UNIT)
        self.c.systemctl("daemon-reload")
        for args in (("restart", "haproxy"), ("start", "haproxy-lb")):
            rc, out, _ = c.systemctl(*args)
            self.assertEqual(rc, 0, out)
        # Core dumps go where the kernel's core_pattern says, which is the
        # host's: a pipe there would hand the watchdog's SIGABRT to the
        # host's handler. LimitCORE=1 turns a pipe's dump off.
        with open("/proc/sys/kernel/core_pattern") as f:
            if f.read().startswith("|"):
                c.sh("mkdir -p /run/systemd/system/hapwatch.service.d && "
                     "printf '[Service]\\nLimitCORE=1\\n' > /run/systemd/"
                     "system/hapwatch.service.d/no-core.conf && "
                     "systemctl daemon-reload")
                H.log("the host's core_pattern is a pipe: no core dumps "
                      "for hapwatch in the container (LimitCORE=1)")

    # ---- 2. Type=notify readiness ------------------------------------------

    def readiness(self):
        c = self.c
        gate_path = self.env.path("gate.sock")
        relay = U.GatedUnixRelay(gate_path, c.path("/run/haproxy/admin.sock"))
        self.addCleanup(relay.close)
        os.chmod(gate_path, 0o666)
        # The first poll is held by the relay: its timeout is longer than
        # the hold, so it is answered late, not failed.
        self.write_config(hapwatch_config("unix:%s/gate.sock" % N.BIND,
                                          timeout="10s", api=False))
        rc, out, _ = c.systemctl("stop", UNIT)
        self.assertEqual(rc, 0, out)
        proc, t_start = c.popen(["systemctl", "start", UNIT])

        def waiting():
            if proc.poll() is not None:
                raise AssertionError("systemctl start returned %d before "
                                     "hapwatch's first poll was answered: "
                                     "%s%s" % (proc.returncode,
                                               proc.stdout.read(),
                                               proc.stderr.read()))
            if relay.accepted < 1:
                return None
            props = c.show(UNIT, "ActiveState", "SubState", "MainPID")
            answer = c.curl(HEALTH)
            if answer != (503, "down starting\n"):
                return None
            return props, answer
        props, answer = H.wait_for(waiting, H.T_START,
                                   "hapwatch listening with its first "
                                   "poll held")
        # Hold it a second longer, watching all along that systemctl
        # start still waits and systemd still says activating.
        seen = time.monotonic()
        def still_waiting():
            got = waiting()
            if got is None:
                raise AssertionError("while the first poll was held, "
                                     "hapwatch stopped answering \"down "
                                     "starting\"")
            return got if time.monotonic() >= seen + HOLD else None
        props, answer = H.wait_for(still_waiting, H.T_START,
                                   "the first poll held for %.0fs" % HOLD)
        held = time.monotonic()
        self.assertIsNone(proc.poll(), "systemctl start returned while the "
                          "first poll was held")
        self.assertEqual((props["ActiveState"], props["SubState"]),
                         ("activating", "start"), props)
        H.log("%.2fs after systemctl start: hapwatch (pid %s) answers %d "
              "%r, its first poll is held at the relay, systemd says %s/%s "
              "and systemctl start is still waiting (all so for the last "
              "%.1fs)" % (
                  held - t_start, props["MainPID"], answer[0], answer[1],
                  props["ActiveState"], props["SubState"], held - seen))
        self.assertEqual(relay.relayed, 0)

        relay.open_gate()
        try:
            out, err = proc.communicate(timeout=H.T_START * H.SCALE)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("systemctl start did not return within "
                                 "%.0fs of the first poll's answer" % (
                                     H.T_START * H.SCALE))
        t_ret = time.monotonic()
        self.assertEqual(proc.returncode, 0, out + err)
        props = c.show(UNIT, "ActiveState", "SubState", "StatusText",
                       "ActiveEnterTimestampMonotonic")
        self.assertEqual((props["ActiveState"], props["SubState"]),
                         ("active", "running"))
        self.assertEqual(c.run(["systemctl", "is-active", UNIT]).stdout
                         .strip(), "active")
        self.assertGreaterEqual(relay.relayed, 1)
        # systemd's clock is this one (CLOCK_MONOTONIC, one kernel).
        active = int(props["ActiveEnterTimestampMonotonic"]) / 1e6
        self.assertGreater(active, relay.gate_time,
                           "systemd took hapwatch as started before its "
                           "first poll was answered")
        j = c.journal("-u", UNIT)
        started = [e for e in j if by_systemd(UNIT, "Started ")(e)][-1]
        H.log("first poll let through at %+.3fs; systemd: active (READY=1) "
              "at %+.3fs, journal %r at %+.3fs; systemctl start returned at "
              "%+.3fs (held %.2fs); STATUS=%r" % (
                  relay.gate_time - t_start, active - t_start,
                  started["MESSAGE"], started["t"] - t_start,
                  t_ret - t_start, relay.gate_time - t_start,
                  props["StatusText"]))

    # ---- 3. reload ---------------------------------------------------------

    def reloads(self):
        c = self.c
        pid = self.main_pid()
        self.assertEqual(c.curl(API)[0], 404, "/api_status before the "
                         "reload")
        good = hapwatch_config("unix:/run/haproxy/admin.sock")
        self.write_config(good)
        rc, out, took = c.systemctl("reload", UNIT)
        self.assertEqual(rc, 0, out)
        # systemd 252 (Debian 12) has no Type=notify-reload: "systemctl
        # reload" returns once "kill -HUP" has, maybe before hapwatch has
        # read the file. Told, not judged; then waited for.
        at_return = c.curl(API)
        H.wait_for(lambda: self.status()["haproxy"]["source"] ==
                   "unix:/run/haproxy/admin.sock" and
                   c.curl(API)[0] == 200, H.T_STATE,
                   "the reloaded config: /api_status answering 200 from "
                   "the new stats source")
        self.assertEqual(self.main_pid(), pid)
        j = c.journal("-u", UNIT)
        done = first(j, "reload done", from_unit(UNIT, "reload: done"))
        H.log("valid reload: systemctl reload 0 in %.2fs (%s answered %r "
              "as it returned), same MainPID %d, %s answers %r; journal: %s"
              % (took, API, at_return, pid, API, c.curl(API),
                 done["MESSAGE"]))

        # Invalid: refused by ExecReload's "hapwatch -c", in the journal
        # at err; the daemon keeps its pid and its running config.
        bad = json.loads(json.dumps(good))
        bad["services"]["web"]["require"][0]["min_precent"] = 50
        self.write_config(bad)
        rc, out, took = c.systemctl("reload", UNIT)
        self.assertNotEqual(rc, 0, "systemctl reload of an invalid config "
                            "succeeded")
        self.assertEqual(c.run(["systemctl", "is-active", UNIT]).stdout
                         .strip(), "active")
        self.assertEqual(self.main_pid(), pid)
        self.assertEqual(c.curl(API)[0], 200)
        self.assertEqual(c.curl(HEALTH)[0], 200)
        want = ('%s: services.web.require[0]: unknown key "min_precent" '
                '(did you mean "min_percent"?)' % CFG)
        errs = c.journal("-u", UNIT, "-p", "err")
        lines = [e for e in errs if e["MESSAGE"] == want]
        self.assertTrue(lines, "journalctl -p err -u hapwatch lacks %r:\n%s"
                        % (want, "\n".join(fmt(e) for e in errs)))
        self.assertEqual(lines[-1]["PRIORITY"], "3")
        self.assertNotEqual(lines[-1]["_PID"], str(pid),
                            "the error should come from ExecReload's check")
        H.log("invalid reload: systemctl reload %d in %.2fs, still active, "
              "same MainPID, /api_status and /haproxy_status still 200; "
              "journalctl -p err -u hapwatch:\n    %s" % (
                  rc, took, "\n    ".join(fmt(e) for e in errs[-2:])))
        self.write_config(good)

    # ---- 4. the watchdog -------------------------------------------------

    def watchdog(self):
        c = self.c
        self.wait_state("web", "up")
        before = c.show(UNIT, "MainPID", "NRestarts", "WatchdogUSec")
        pid = int(before["MainPID"])
        self.assertEqual(before["WatchdogUSec"], "10s")
        c.run(["kill", "-STOP", str(pid)], check=True)
        t_stop = time.monotonic()

        def restarted():
            p = c.show(UNIT, "MainPID", "ActiveState", "SubState",
                       "NRestarts")
            return p if p["MainPID"] not in ("0", str(pid)) and \
                (p["ActiveState"], p["SubState"]) == ("active",
                                                      "running") else None
        after = H.wait_for(restarted, 60, "systemd's watchdog to restart "
                           "the stopped hapwatch")
        t_back = time.monotonic()
        self.assertEqual(int(after["NRestarts"]),
                         int(before["NRestarts"]) + 1)
        j = [e for e in c.journal("-u", UNIT) if e["t"] >= t_stop]
        timeout = first(j, "the watchdog timeout",
                        by_systemd(UNIT, UNIT + ": Watchdog timeout"))
        killed = first(j, "the kill", by_systemd(UNIT, UNIT + ": Killing "
                                                 "process %d" % pid))
        result = first(j, "the result",
                       by_systemd(UNIT, UNIT + ": Failed with result "
                                  "'watchdog'"))
        sched = first(j, "the restart", by_systemd(UNIT, UNIT + ": "
                                                   "Scheduled restart"))
        started = first(j, "the new start", by_systemd(UNIT, "Started "),
                        after=sched)
        # The loop pings every half WatchdogSec: the timeout comes 5 to 10
        # seconds after the stop.
        self.assertGreater(timeout["t"] - t_stop, 4.0)
        H.log("watchdog: SIGSTOP to pid %d at 0s; then, from the journal:"
              "\n    %s\n  new MainPID %s active at %+.2fs, NRestarts %s" % (
                  pid, "\n    ".join(fmt(e, t_stop) for e in (
                      timeout, killed, result, sched, started)),
                  after["MainPID"], t_back - t_stop, after["NRestarts"]))
        H.wait_for(lambda: c.curl(HEALTH)[0] == 200, H.T_STATE,
                   "the restarted hapwatch to answer 200")

    # ---- 5. systemctl stop haproxy with the drain drop-in ----------------

    def install_dropins(self):
        """Both of conf/haproxy/haproxy.service.d/, as the package's
        examples tell: copied to /etc/systemd/system/haproxy.service.d/."""
        c = self.c
        c.sh("mkdir -p /etc/systemd/system/haproxy.service.d")
        for name in ("hapwatch-drain.conf", "hapwatch-state.conf"):
            with open(os.path.join(DROPINS, name)) as f:
                c.write("/etc/systemd/system/haproxy.service.d/" + name,
                        f.read())
        rc, out, _ = c.systemctl("daemon-reload")
        self.assertEqual(rc, 0, out)
        p = c.show("haproxy.service", "DropInPaths", "ExecStop",
                   "ExecStartPost", "After")
        self.assertIn("hapwatch-drain.conf", p["DropInPaths"])
        self.assertIn("hapwatch-state.conf", p["DropInPaths"])
        self.assertIn("drain --wait", p["ExecStop"])
        self.assertIn("--if-by haproxy.service", p["ExecStartPost"])
        H.log("haproxy.service: After=%s" % p["After"])

    def state_on_haproxy_reload(self):
        """hapwatch-state.conf: "systemctl reload haproxy" checks HAProxy's
        config, has hapwatch save the server states, then signals the
        master; every step exits 0 and the state file is written."""
        c = self.c
        before = self.status()["state_file"]
        pid = c.show("haproxy.service", "MainPID")["MainPID"]
        rc, out, took = c.systemctl("reload", "haproxy")
        self.assertEqual(rc, 0, out)
        steps = c.show_list("haproxy.service", "ExecReload")
        ran = [re.search(r"argv\[\]=([^;]*) ;.* code=(\w+) ; status=(\d+)",
                         st).groups() for st in steps]
        self.assertEqual([(a.split()[0], a.split()[1] if a.startswith(
            "/usr/bin/hapwatch") else "") for a, _, _ in ran],
            [("/usr/sbin/haproxy", ""), ("/usr/bin/hapwatch", "ctl"),
             ("/bin/kill", "")], steps)
        for a, code, status in ran:
            self.assertEqual((code, status), ("exited", "0"), a)
        after = self.status()["state_file"]
        self.assertEqual(after["path"], STATE_FILE)
        self.assertGreater(after["completed"], before["completed"], after)
        self.assertEqual(after["failures"], 0, after)
        size = os.path.getsize(c.path(STATE_FILE))
        self.assertGreater(size, 0)
        self.assertEqual(c.show("haproxy.service", "MainPID")["MainPID"], pid)
        H.log("systemctl reload haproxy (hapwatch-state.conf) -> 0 in "
              "%.2fs; ExecReload ran %s, each exited 0; %s written (%d "
              "bytes), saves completed %d -> %d" % (
                  took, " ; ".join(a.strip() for a, _, _ in ran),
                  STATE_FILE, size, before["completed"],
                  after["completed"]))

    def watched_by_both_probers(self):
        """The load balancer has node1 UP, and hapwatch knows both of its
        checks as probers of web (so a drain waits for both)."""
        self.wait_lb("UP")

        def probed():
            ps = {p["kind"]: p for p in self.status()["probers"]
                  if p["service"] == "web" and p["probes"] >= 2 and
                  p["last_ms_ago"] < 2000}
            return ps if {"http", "agent"} <= set(ps) else None
        ps = H.wait_for(probed, H.T_STATE, "the load balancer's http and "
                        "agent checks known to hapwatch as probers of web")
        H.log("probers of web: %s" % "; ".join(
            "%s from %s, %d probes every %dms" % (
                k, p["source"], p["probes"], p["interval_ms"])
            for k, p in sorted(ps.items())))
        return ps

    def drain_on_haproxy_stop(self):
        c = self.c
        self.install_dropins()
        self.state_on_haproxy_reload()
        self.wait_state("web", "up")
        self.wait_state("api", "up")
        self.watched_by_both_probers()

        # An operator's drain, made before: it must stay.
        r = c.run(["hapwatch", "ctl", "drain", "api"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        t0 = time.monotonic()
        rc, out, took = c.systemctl("stop", "haproxy")
        self.assertEqual(rc, 0, out)
        st = self.status()["services"]
        web, api = st["web"], st["api"]
        self.assertEqual(web["state"], "drain", web)
        self.assertEqual(web["override_by"]["by"], "haproxy.service", web)
        self.assertTrue(web["drain"]["let_go"], web["drain"])
        self.assertIsNotNone(web["drain"]["at"], web["drain"])
        kinds = sorted(d["kind"] for d in web["drain"]["done"])
        self.assertEqual(web["drain"]["pending"], [], web["drain"])
        self.assertEqual(api["state"], "drain", api)
        self.assertEqual(api["override_by"]["by"], "operator", api)
        H.log("systemctl stop haproxy took %.2fs; /status: web %s by %s, "
              "let_go %s at %s (since %s), watched: %s; api %s by %s" % (
                  took, web["state"], web["override_by"]["by"],
                  web["drain"]["let_go"], web["drain"]["at"],
                  web["drain"]["since"], kinds, api["state"],
                  api["override_by"]["by"]))
        self.assertEqual(kinds, ["agent", "frontend", "http"],
                         "what the drain watched")
        self.assertEqual(self.lb_node()["status"], "DOWN")
        self.check_drain_order(t0, "systemctl stop haproxy")

        # Started again: ExecStartPost lifts that drain and only that one.
        t1 = time.monotonic()
        rc, out, took = c.systemctl("start", "haproxy")
        self.assertEqual(rc, 0, out)
        web = self.wait_state("web", "up")
        self.assertIsNone(web["override"], web)
        api = self.status()["services"]["api"]
        self.assertEqual((api["state"], api["override_by"]["by"]),
                         ("drain", "operator"), api)
        node = self.wait_lb("UP")
        j = [e for e in c.journal() if e["t"] >= t1]
        kept = first(j, "ctl leaving the operator's drain",
                     from_unit("haproxy.service", "left as is"))
        # Who lifted web's drain, as hapwatch tells the journal: it was
        # haproxy.service's ExecStartPost ("ready --if-by haproxy.service").
        # Judged at the end, so that every other step still runs.
        lift = first(j, "hapwatch telling who lifted web's drain",
                     from_unit(UNIT, "service web: ready by "))
        who = lift["MESSAGE"].split("ready by ", 1)[1].split()[0]
        if who != "haproxy.service":
            self.defects.append(
                "the drain lifted by haproxy.service's ExecStartPost (hapwatch "
                "ctl ready --if-by haproxy.service) is logged as lifted by %r: "
                "%r" % (who, lift["MESSAGE"]))
        H.log("systemctl start haproxy took %.2fs; web %s, api still %s "
              "by %s; the load balancer has node1 %s (%s); ExecStartPost "
              "said: %s" % (took, web["state"], api["state"],
                            api["override_by"]["by"], node["status"],
                            node["check_status"], kept["MESSAGE"]))

    def check_drain_order(self, t0, what):
        """HAProxy's stop from t0: the drop-in's ExecStop ("hapwatch ctl
        drain --wait") exited 0, which it does only at the let-go, and
        systemd signals HAProxy only once ExecStop has ended. The journal
        shows it: HAProxy's stop began, hapwatch drained web by
        haproxy.service, the load balancer took node1 down, the drain let
        go, and then HAProxy's master exited. (journald stamps lines as it
        reads them, one stream after another: lines of two processes a few
        milliseconds apart are evidence, not proof of their order.)"""
        stop = self.c.show("haproxy.service", "ExecStop")["ExecStop"]
        m = re.search(r"code=(\w+) ; status=(\d+)", stop)
        self.assertIsNotNone(m, "ExecStop did not run: %s" % stop)
        self.assertEqual(m.groups(), ("exited", "0"),
                         "hapwatch ctl drain --wait did not see the let-go: "
                         "%s" % stop)
        j = [e for e in self.c.journal() if e["t"] >= t0]
        stopping = first(j, "systemd stopping HAProxy",
                         by_systemd("haproxy.service", "Stopping "))
        drained = first(j, "the drain by haproxy.service",
                        from_unit(UNIT, "service web: drain by "
                                  "haproxy.service"), after=stopping)
        lb_down = first(j, "the load balancer taking node1 down",
                        lambda e: e.get("_SYSTEMD_UNIT") ==
                        "haproxy-lb.service" and "Server be_nodes/node1 "
                        "is DOWN" in e["MESSAGE"], after=drained)
        let_go = first(j, "the let-go", from_unit(
            UNIT, "service web: the drain has let go"), after=drained)
        exiting = first(j, "HAProxy's master exiting",
                        from_unit("haproxy.service",
                                  "Exiting Master process"))
        stopped = first(j, "systemd: HAProxy stopped",
                        by_systemd("haproxy.service", "Stopped "))
        ctl = [e for e in j if e.get("_SYSTEMD_UNIT") == "haproxy.service"
               and e.get("SYSLOG_IDENTIFIER") == "hapwatch"]
        H.log("%s, from the journal:\n    %s\n  the drop-in's ExecStop "
              "(hapwatch ctl drain --wait) said:\n    %s" % (
                  what, "\n    ".join(fmt(e, stopping["t"]) for e in (
                      stopping, drained, lb_down, let_go, exiting,
                      stopped)),
                  "\n    ".join(e["MESSAGE"] for e in ctl)))
        # A second and more apart (fall 2 x inter 500ms, then quiet 2s).
        self.assertLess(lb_down["t"], exiting["t"],
                        "HAProxy exited before the load balancer let go")
        return j

    # ---- 6. the same in one transaction, as a shutdown and a boot ----------

    def drain_on_shutdown(self):
        c = self.c
        self.watched_by_both_probers()
        t0 = time.monotonic()
        rc, out, took = c.systemctl("stop", "haproxy.service", UNIT)
        self.assertEqual(rc, 0, out)
        self.check_drain_order(t0, "systemctl stop haproxy hapwatch (as a "
                               "shutdown)")
        # systemd's own clock: hapwatch left "active" only once HAProxy
        # was down.
        hp = self.c.show("haproxy.service", "InactiveEnterTimestampMonotonic")
        hw = self.c.show(UNIT, "ActiveExitTimestampMonotonic")
        gap = (int(hw["ActiveExitTimestampMonotonic"]) -
               int(hp["InactiveEnterTimestampMonotonic"])) / 1e6
        self.assertGreaterEqual(gap, 0, "hapwatch stopped before HAProxy: "
                                "a shutdown cannot drain")
        H.log("systemd stopped hapwatch %.3fs after HAProxy was down" % gap)

        t1 = time.monotonic()
        rc, out, took = c.systemctl("start", UNIT, "haproxy.service")
        self.assertEqual(rc, 0, out)
        j = [e for e in c.journal() if e["t"] >= t1]
        kept = first(j, "hapwatch keeping web's drain across its restart",
                     from_unit(UNIT, "service web: drain by haproxy.service "
                               "since"))
        hp_start = first(j, "systemd starting HAProxy",
                         by_systemd("haproxy.service", "Starting "))
        hw_ready = first(j, "hapwatch started",
                         by_systemd(UNIT, "Started "))
        lifted = first(j, "the drain lifted by ExecStartPost",
                       from_unit(UNIT, "service web: drain -> "))
        # systemd's own clock: HAProxy's start began once hapwatch was up.
        hw = c.show(UNIT, "ActiveEnterTimestampMonotonic")
        hp = c.show("haproxy.service", "InactiveExitTimestampMonotonic")
        gap = (int(hp["InactiveExitTimestampMonotonic"]) -
               int(hw["ActiveEnterTimestampMonotonic"])) / 1e6
        self.assertGreaterEqual(gap, 0, "HAProxy started before hapwatch "
                                "was up: its ExecStartPost cannot lift the "
                                "drain")
        web = self.wait_state("web", "up")
        self.assertIsNone(web["override"], web)
        api = self.status()["services"]["api"]
        self.assertEqual((api["state"], api["override_by"]["by"]),
                         ("drain", "operator"), api)
        node = self.wait_lb("UP")
        H.log("systemctl start hapwatch haproxy (as a boot): HAProxy's "
              "start began %.3fs after hapwatch was up; from the "
              "journal:\n    %s\n  web %s, api %s by %s, the load balancer "
              "has node1 %s" % (gap,
                  "\n    ".join(fmt(e, t1) for e in (kept, hw_ready,
                                                      hp_start, lifted)),
                  web["state"], api["state"], api["override_by"]["by"],
                  node["status"]))

    # ---- 7. journald priorities -------------------------------------------

    def priorities(self):
        c = self.c
        j = [e for e in c.journal("-u", UNIT) if e.get("_PID") != "1"]
        notice = first(j, "hapwatch's start (notice)",
                       from_unit(UNIT, " started: "))
        warning = first(j, "the stats outage (warning)",
                        from_unit(UNIT, "stats: cannot connect to unix:"
                                  "/run/haproxy/admin.sock"))
        err = first(j, "the config error (err)",
                    from_unit(UNIT, 'unknown key "min_precent"'))
        self.assertEqual((notice["PRIORITY"], warning["PRIORITY"],
                          err["PRIORITY"]), ("5", "4", "3"))
        for e in j:
            self.assertNotRegex(e["MESSAGE"], r"^(<\d>|hapwatch: )",
                                "a prefix left in the journal")
        warn = c.journal("-u", UNIT, "-p", "warning")
        msgs = [e["MESSAGE"] for e in warn]
        self.assertIn(warning["MESSAGE"], msgs)
        self.assertIn(err["MESSAGE"], msgs)
        self.assertNotIn(notice["MESSAGE"], msgs)
        H.log("journald priorities:\n    %s\n  journalctl -p warning -u "
              "hapwatch: %d lines, the warning and the err among them, "
              "not the notice" % ("\n    ".join(
                  fmt(e) for e in (notice, warning, err)), len(warn)))

    # ---- 8. purge ---------------------------------------------------------

    def purge(self):
        c = self.c
        r = c.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get",
                   "purge", "-y", "-q", "hapwatch"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        props = c.show(UNIT, "ActiveState", "LoadState")
        self.assertEqual(props["ActiveState"], "inactive", props)
        self.assertFalse(os.path.exists(c.path("/var/lib/hapwatch")))
        self.assertFalse(os.path.exists(c.path(ADMIN)))
        H.log("apt-get purge hapwatch: %r, /var/lib/hapwatch removed" %
              props)


if __name__ == "__main__":
    H.main()
