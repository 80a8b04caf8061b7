"""Active/standby failover on loopback, and the AWS EIP takeover hook.

Two nodes, each a real HAProxy with its own backends and its own hapwatch,
on different loopback ports. The active's hapwatch serves its verdict on
/haproxy_status; the standby's hapwatch checks that path (interval 200ms,
timeout 150ms, fall 3, rise 2) as its service `peer`, and runs a takeover
hook on every transition of `peer` (a script recording HAPWATCH_* and the
time it started).

* the active's backends die: the hook runs exactly once with STATE=down,
  no sooner than (fall-1) x interval after the active turned 503 and
  within fall x interval + timeout + slack; the measured takeover time
  (peer lost -> hook started) is printed. Revived: the release path
  (STATE=up) runs exactly once.
* the active's HAProxy is killed (not only its backends): its hapwatch
  answers 503 once `grace` is over: takeover too; HAProxy back: release.
* the whole active node dies (HAProxy and hapwatch killed): the probes are
  refused: takeover, timed from the kill itself.
* a standby started while the active is already gone takes over at start
  (HAPWATCH_PREVIOUS=starting).

conf/hooks/aws-eip-takeover is run for real, with fake `aws` and `curl`
first on PATH (stubs written here that record their argv and answer as
told by files beside them): the peer up -> nothing; peer lost and the EIP
held already -> no associate; not held -> associate-address with
--allow-reassociation, then sns publish with the reason; any failure ->
non-zero exit with the failure on the first line; a missing or incomplete
env file -> a clear error. It passes sh -n, dash -n and shellcheck. And
conf/examples/eip-failover.json passes `hapwatch -c` and, with addresses
turned into loopback ones, runs the whole chain end to end: peer lost ->
hapwatch -> the real script -> the fake AWS.
"""
import os
import shutil
import subprocess
import time

import netns_hooks as U
import harness as H
from harness import get, wait_for

HEALTH = "/haproxy_status"
INTERVAL, TIMEOUT, RISE, FALL = 0.2, 0.15, 2, 3
SLACK = 1.0		# scheduling, a loaded machine (times SCALE)

# Records one line per run: start|service|state|previous|time|reason
RECORDER = r'''#!/bin/sh
t=$(date +%%s.%%N)
printf '%%s|%%s|%%s|%%s|%%s|%%s\n' "$t" "$HAPWATCH_SERVICE" "$HAPWATCH_STATE" \
	"$HAPWATCH_PREVIOUS" "$HAPWATCH_TIME" "$HAPWATCH_REASON" >> %s
'''


def read_runs(path):
    out = []
    for line in (U.read_text(path) or "").splitlines():
        t, svc, state, prev, when, reason = line.split("|", 5)
        out.append({"start": float(t), "service": svc, "state": state,
                    "previous": prev, "time": when, "reason": reason})
    return out


class Node:
    """One HAProxy + backends + hapwatch."""


class FailoverTest(H.Case):

    def start_active(self, grace="1s"):
        a = Node()
        a.b = self.backends()
        ports = a.b.add_many("a", 2)
        a.hap = self.haproxy(H.hap_backend("app", ports),
                             name="haproxy-active").start()
        a.port = self.env.port()
        a.hw = self.hapwatch({
            "haproxy": {"stats": a.hap.stats_url, "interval": "100ms",
                        "timeout": "500ms", "grace": grace, "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % a.port,
                        "paths": {HEALTH: "web"}}]}, name="hapwatch-active")
        a.hw.start()
        self.active = a
        return a

    def start_standby(self, peer_port, wait_up=True):
        s = Node()
        s.b = self.backends()
        ports = s.b.add_many("b", 1)
        s.hap = self.haproxy(H.hap_backend("app", ports),
                             name="haproxy-standby").start()
        s.port = self.env.port()
        s.runs = self.env.path("takeover-runs")
        hook = U.write_script(self.env.path("takeover-hook"),
                              RECORDER % s.runs)
        s.hw = self.hapwatch({
            "haproxy": {"stats": s.hap.stats_url, "interval": "100ms",
                        "timeout": "500ms", "settle": "0s"},
            "checks": {"peer": {
                "http": "http://127.0.0.1:%d%s" % (peer_port, HEALTH),
                "interval": "%dms" % (INTERVAL * 1000),
                "timeout": "%dms" % (TIMEOUT * 1000),
                "rise": RISE, "fall": FALL}},
            "services": {"web": {"require": [{"backend": "app"}]},
                         "peer": {"require": [{"check": "peer"}]}},
            "listen": [{"http": "127.0.0.1:%d" % s.port,
                        "paths": {HEALTH: "web", "/peer_status": "peer"}}],
            "notify": [{"exec": [hook], "services": ["peer"],
                        "timeout": "10s"}]}, name="hapwatch-standby")
        s.hw.start()
        self.standby = s
        return s

    def runs(self, n, what):
        return wait_for(lambda: (lambda r: r if len(r) >= n else None)(
            read_runs(self.standby.runs)), H.T_STATE, "%d hook runs (%s)" %
            (n, what))

    def assert_still(self, n, what):
        """After 5 more probes of the peer, still exactly n runs."""
        hw = self.standby.hw
        p0 = hw.status()["checks"]["peer"]["probes"]
        wait_for(lambda: hw.status()["checks"]["peer"]["probes"] >= p0 + 5,
                 H.T_STATE, "5 more peer probes")
        self.assertEqual(len(read_runs(self.standby.runs)), n, what)

    def watch_active(self):
        """A prober on the active's health path; wall = mono + offset."""
        self.offset = time.time() - time.monotonic()
        return H.Prober(self.active.port, HEALTH, interval=0.01).start()

    def first(self, results, code):
        for r in results:
            if r[2] == code:
                return r[1] + self.offset
        raise AssertionError("the prober never saw %d: %r" % (
            code, results[-5:]))

    def start_pair(self, **kw):
        a = self.start_active(**kw)
        self.wait_code(a.port, 200)
        s = self.start_standby(a.port)
        r = self.runs(1, "at start")[0]
        self.assertEqual((r["service"], r["state"], r["previous"]),
                         ("peer", "up", "starting"), r)
        return a, s

    def wait_code(self, port, code):
        wait_for(lambda: get(port, HEALTH)[0] == code, H.T_STATE,
                 ":%d%s to answer %d" % (port, HEALTH, code))

    def judge_takeover(self, run, t_loss, what):
        took = run["start"] - t_loss
        H.log("TAKEOVER (%s): peer lost -> hook started in %.0fms "
              "(fall %d x interval %dms = %dms)" % (
                  what, took * 1000, FALL, INTERVAL * 1000,
                  FALL * INTERVAL * 1000))
        self.assertEqual((run["service"], run["state"], run["previous"]),
                         ("peer", "down", "up"), run)
        self.assertGreaterEqual(took, (FALL - 1) * INTERVAL - 0.05,
                                "took over before %d failed probes" % FALL)
        self.assertLessEqual(took, FALL * INTERVAL + TIMEOUT +
                             SLACK * H.SCALE, "takeover too slow")
        return took

    def judge_release(self, run, t_back, what):
        took = run["start"] - t_back
        H.log("RELEASE (%s): peer back -> hook started in %.0fms (rise %d "
              "x interval %dms)" % (what, took * 1000, RISE,
                                    INTERVAL * 1000))
        self.assertEqual((run["service"], run["state"], run["previous"]),
                         ("peer", "up", "down"), run)
        self.assertGreaterEqual(took, (RISE - 1) * INTERVAL - 0.05)
        self.assertLessEqual(took, RISE * INTERVAL + TIMEOUT +
                             SLACK * H.SCALE)
        return took

    # ---- the tests ----

    def test_backends_lost_then_back(self):
        a, s = self.start_pair()
        probe = self.watch_active()
        try:
            t_kill = time.time()
            a.b.stop("a1", "a2")
            run = self.runs(2, "takeover")[1]
        finally:
            results = probe.stop()
        t_loss = self.first(results, 503)
        H.log("the active answered 503 %.0fms after its backends died" % (
            (t_loss - t_kill) * 1000))
        self.judge_takeover(run, t_loss, "backends killed")
        self.assertIn("peer: HTTP 503", run["reason"])
        c = s.hw.status()["checks"]["peer"]
        self.assertIs(c["up"], False)
        self.assertGreaterEqual(c["failures"], FALL)
        self.assert_still(2, "exactly one takeover run")

        probe = self.watch_active()
        try:
            a.b.start("a1", "a2")
            run = self.runs(3, "release")[2]
        finally:
            results = probe.stop()
        self.judge_release(run, self.first(results, 200), "backends back")
        self.assertEqual(run["reason"], "all conditions hold")
        self.assert_still(3, "exactly one release run")
        s.hw.stop()
        a.hw.stop()

    def test_haproxy_killed(self):
        a, s = self.start_pair(grace="1s")
        probe = self.watch_active()
        try:
            t_kill = time.time()
            a.hap.kill()
            run = self.runs(2, "takeover")[1]
        finally:
            results = probe.stop()
        t_loss = self.first(results, 503)
        H.log("the active answered 503 %.0fms after its HAProxy died "
              "(grace 1s)" % ((t_loss - t_kill) * 1000))
        # grace runs from the last good poll (at most one interval, 100ms,
        # before the kill).
        self.assertGreaterEqual(t_loss - t_kill, 0.85, "503 within grace")
        self.judge_takeover(run, t_loss, "HAProxy killed")
        self.assertIn("stats unavailable", a.hw.service("web")["reason"])
        self.assert_still(2, "exactly one takeover run")

        probe = self.watch_active()
        try:
            a.hap.start()
            run = self.runs(3, "release")[2]
        finally:
            results = probe.stop()
        self.judge_release(run, self.first(results, 200), "HAProxy back")
        self.assert_still(3, "exactly one release run")
        s.hw.stop()
        a.hw.stop()

    def test_node_dies(self):
        a, s = self.start_pair()
        t_kill = time.time()
        a.hw.proc.kill()
        a.hap.kill()
        run = self.runs(2, "takeover")[1]
        self.judge_takeover(run, t_kill, "whole node killed")
        self.assertRegex(run["reason"], r"^peer: .*(connect|refused)")
        self.assert_still(2, "exactly one takeover run")
        # The node comes back.
        a.hap.start()
        probe = self.watch_active()
        try:
            a.hw.start()
            run = self.runs(3, "release")[2]
        finally:
            results = probe.stop()
        self.judge_release(run, self.first(results, 200), "node back")
        s.hw.stop()
        a.hw.stop()

    def test_standby_starts_with_peer_gone(self):
        gone = self.env.port()		# reserved, nothing listens
        s = self.start_standby(gone)
        r = self.runs(1, "at start")[0]
        self.assertEqual((r["service"], r["state"], r["previous"]),
                         ("peer", "down", "starting"), r)
        self.assert_still(1, "exactly one run")
        s.hw.stop()


# ---- the AWS EIP takeover hook ------------------------------------------

HOOK = os.path.join(U.HOOKS_DIR, "aws-eip-takeover")
EXAMPLE = os.path.join(U.EXAMPLES_DIR, "eip-failover.json")
EIP = "eipalloc-0123456789abcdef0"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:haproxy-failover"
ME = "i-0bbbbbbbbbbbbbbbb"	# this (standby) instance
PEER = "i-0aaaaaaaaaaaaaaaa"	# the active one
TOKEN = "AQAEAFakeTokenForTests=="

FAKE_AWS = r'''#!/usr/bin/python3
"""Fake AWS CLI: records argv in calls.jsonl beside it; answers from the
files beside it: holder (describe-addresses), fail (operations to fail)."""
import json, os, sys
d = os.path.dirname(os.path.abspath(__file__))
def read(name, default=""):
    try:
        with open(os.path.join(d, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return default
args = sys.argv[1:]
with open(os.path.join(d, "calls.jsonl"), "a") as f:
    f.write(json.dumps({"prog": "aws", "argv": args}) + "\n")
i = next(i for i, a in enumerate(args) if a in ("ec2", "sns"))
op = args[i + 1]
if op in read("fail").split():
    sys.stderr.write("\nAn error occurred (UnauthorizedOperation) when "
                     "calling the %s operation: You are not authorized to "
                     "perform this operation.\n" % op)
    sys.exit(254)
if op == "describe-addresses":
    print(read("holder", "None"))
elif op == "associate-address":
    iid = args[args.index("--instance-id") + 1]
    with open(os.path.join(d, "holder"), "w") as f:
        f.write(iid + "\n")
    print("eipassoc-0f00f00f00f00f00f")
elif op == "publish":
    print("5e1f0f5c-0000-4000-8000-000000000001")
else:
    sys.stderr.write("fake aws: unexpected %r\n" % args)
    sys.exit(2)
'''

FAKE_CURL = r'''#!/usr/bin/python3
"""Fake curl for the instance metadata service and health URLs: records
argv in calls.jsonl beside it; `fail` lists token|iid|health to fail."""
import json, os, sys
d = os.path.dirname(os.path.abspath(__file__))
def read(name, default=""):
    try:
        with open(os.path.join(d, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return default
args = sys.argv[1:]
with open(os.path.join(d, "calls.jsonl"), "a") as f:
    f.write(json.dumps({"prog": "curl", "argv": args}) + "\n")
fail = read("curl_fail").split()
url = [a for a in args if a.startswith("http")][-1]
if url.endswith("/latest/api/token"):
    if "token" in fail:
        sys.stderr.write("curl: (28) Connection timed out after 1001 "
                         "milliseconds\n")
        sys.exit(28)
    sys.stdout.write("%(token)s")
elif url.endswith("/latest/meta-data/instance-id"):
    if "iid" in fail or "X-aws-ec2-metadata-token: %(token)s" not in args:
        sys.stderr.write("curl: (22) The requested URL returned error: "
                         "401\n")
        sys.exit(22)
    sys.stdout.write(read("iid", "%(me)s"))
else:
    if "health" in fail:
        sys.stderr.write("curl: (22) The requested URL returned error: "
                         "503\n")
        sys.exit(22)
''' % {"token": TOKEN, "me": ME}

ENV_FILE = """# test eip.env
EIP_ALLOCATION_ID=%s
SNS_TOPIC_ARN=%s
REGION=eu-west-1
""" % (EIP, TOPIC)


class EipHookTest(H.Case):

    def setUp(self):
        super().setUp()
        self.bin = self.env.path("bin")
        os.mkdir(self.bin)
        U.write_script(os.path.join(self.bin, "aws"), FAKE_AWS)
        U.write_script(os.path.join(self.bin, "curl"), FAKE_CURL)
        self.env_file = U.write_file(self.env.path("eip.env"), ENV_FILE)

    def forget(self, *names):
        """Remove calls.jsonl (and the named behaviour files)."""
        for f in ("calls.jsonl",) + names:
            if os.path.exists(os.path.join(self.bin, f)):
                os.unlink(os.path.join(self.bin, f))

    def fake(self, name, text):
        U.write_file(os.path.join(self.bin, name), text + "\n")

    def calls(self, prog=None):
        return [c["argv"] for c in U.read_jsonl(os.path.join(
            self.bin, "calls.jsonl")) if prog is None or c["prog"] == prog]

    def aws_ops(self):
        out = []
        for argv in self.calls("aws"):
            i = next(i for i, a in enumerate(argv) if a in ("ec2", "sns"))
            out.append(argv[i + 1])
        return out

    def run_hook(self, state, previous="up", env_file=None,
                 reason="peer: HTTP 503", shell=None):
        env = {"PATH": self.bin + ":/usr/bin:/bin",
               "HAPWATCH_SERVICE": "peer", "HAPWATCH_STATE": state,
               "HAPWATCH_PREVIOUS": previous, "HAPWATCH_REASON": reason,
               "HAPWATCH_TIME": "2026-11-22T10:00:00Z"}
        argv = ([shell] if shell else []) + [
            HOOK, env_file if env_file is not None else self.env_file]
        # stdout and stderr in one pipe, as hapwatch reads a hook.
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60 * H.SCALE)
        out = p.stdout.decode("utf-8", "replace")
        H.log("hook %s: exit %d: %r" % (state, p.returncode, out))
        return p.returncode, out

    def opt(self, argv, name):
        self.assertIn(name, argv)
        return argv[argv.index(name) + 1]

    def test_lint(self):
        for sh in ("/bin/sh", "/bin/dash"):
            p = subprocess.run([sh, "-n", HOOK], capture_output=True)
            self.assertEqual(p.returncode, 0, "%s -n: %s" % (sh, p.stderr))
        sc = shutil.which("shellcheck")
        self.assertIsNotNone(sc, "shellcheck is missing: ./dev deps "
                             "installs it")
        for name in sorted(os.listdir(U.HOOKS_DIR)):
            path = os.path.join(U.HOOKS_DIR, name)
            with self.subTest(hook=name):
                self.assertTrue(os.access(path, os.X_OK), "not executable")
                with open(path) as f:
                    shebang = f.readline().rstrip()
                if name == "aws-eip-takeover":
                    self.assertEqual(shebang, "#!/bin/sh")
                if shebang != "#!/bin/sh":
                    continue
                p = subprocess.run([sc, "-s", "sh", "-S", "style", path],
                                   capture_output=True)
                self.assertEqual(p.returncode, 0, p.stdout.decode())
        cb = shutil.which("checkbashisms")
        if cb:		# devscripts: optional, not in ./dev deps
            p = subprocess.run([cb, HOOK], capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr.decode())

    def test_peer_up_does_nothing(self):
        for state, prev in (("up", "starting"), ("up", "down"),
                            ("drain", "up"), ("maint", "up")):
            with self.subTest(state=state, previous=prev):
                rc, out = self.run_hook(state, prev)
                self.assertEqual(rc, 0, out)
                self.assertIn("nothing to do", out)
        self.assertEqual(self.calls(), [], "no AWS or IMDS call when the "
                         "peer is not lost")

    def test_holder_already(self):
        self.fake("holder", ME)
        rc, out = self.run_hook("down")
        self.assertEqual(rc, 0, out)
        self.assertIn("already holds", out)
        self.assertEqual(self.aws_ops(), ["describe-addresses"])
        d = self.calls("aws")[0]
        self.assertEqual(self.opt(d, "--allocation-ids"), EIP)
        self.assertEqual(self.opt(d, "--query"), "Addresses[0].InstanceId")
        self.assertEqual(self.opt(d, "--region"), "eu-west-1")

    def test_takeover(self):
        for holder in (PEER, "None"):
            with self.subTest(holder=holder):
                self.forget()
                self.fake("holder", holder)
                rc, out = self.run_hook("down", "up", reason="peer: HTTP 503")
                self.assertEqual(rc, 0, out)
                self.assertEqual(self.aws_ops(), [
                    "describe-addresses", "associate-address", "publish"])
                assoc = self.calls("aws")[1]
                self.assertIn("--allow-reassociation", assoc)
                self.assertEqual(self.opt(assoc, "--allocation-id"), EIP)
                self.assertEqual(self.opt(assoc, "--instance-id"), ME)
                self.assertEqual(self.opt(assoc, "--region"), "eu-west-1")
                pub = self.calls("aws")[2]
                self.assertEqual(pub[pub.index("sns") + 1], "publish")
                self.assertEqual(self.opt(pub, "--topic-arn"), TOPIC)
                self.assertLessEqual(len(self.opt(pub, "--subject")), 100)
                msg = self.opt(pub, "--message")
                for part in (ME, EIP, "peer: HTTP 503", "peer is down",
                             "2026-11-22T10:00:00Z"):
                    self.assertIn(part, msg)
                # IMDSv2: a token (PUT, TTL header), then the id with it;
                # both with short timeouts.
                curl = self.calls("curl")
                self.assertEqual(len(curl), 2, curl)
                self.assertEqual(self.opt(curl[0], "-X"), "PUT")
                self.assertIn("X-aws-ec2-metadata-token-ttl-seconds: 60",
                              curl[0])
                self.assertTrue(curl[0][-1].endswith("/latest/api/token"))
                self.assertIn("X-aws-ec2-metadata-token: " + TOKEN, curl[1])
                self.assertTrue(curl[1][-1].endswith(
                    "/latest/meta-data/instance-id"))
                for c in curl:
                    self.assertLessEqual(float(self.opt(c, "--max-time")), 5)
                    self.assertLessEqual(float(self.opt(
                        c, "--connect-timeout")), 2)
                self.assertIn("took", out.splitlines()[0])
        # Under dash explicitly too (Debian's /bin/sh, but say it).
        self.forget()
        self.fake("holder", PEER)
        rc, out = self.run_hook("down", shell="/bin/dash")
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.aws_ops(), [
            "describe-addresses", "associate-address", "publish"])

    def test_failures_exit_nonzero(self):
        cases = [
            ("fail", "associate-address", ["describe-addresses",
                                           "associate-address"],
             r"^aws-eip-takeover: associate-address %s to %s failed: An "
             r"error occurred \(UnauthorizedOperation\)" % (EIP, ME)),
            ("fail", "describe-addresses", ["describe-addresses"],
             r"^aws-eip-takeover: describe-addresses %s failed: An error "
             r"occurred" % EIP),
            ("fail", "publish", ["describe-addresses", "associate-address",
                                 "publish"],
             r"^aws-eip-takeover: took %s, but SNS publish failed" % EIP),
            ("curl_fail", "token", [], r"^aws-eip-takeover: no IMDSv2 "
             r"token: curl: \(28\)"),
            ("curl_fail", "iid", [], r"^aws-eip-takeover: no instance id "
             r"from IMDS"),
        ]
        for what, value, ops, first in cases:
            with self.subTest(**{what: value}):
                self.forget("fail", "curl_fail")
                self.fake("holder", PEER)
                self.fake(what, value)
                rc, out = self.run_hook("down")
                self.assertEqual(rc, 1, out)
                self.assertRegex(out.splitlines()[0], first)
                self.assertEqual(self.aws_ops(), ops)

    def test_unhealthy_self_does_not_take(self):
        U.write_file(self.env_file, ENV_FILE + "LOCAL_HEALTH_URL="
                     "http://127.0.0.1:8080/haproxy_status\n")
        self.fake("holder", PEER)
        self.fake("curl_fail", "health")
        rc, out = self.run_hook("down")
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"^aws-eip-takeover: not taking %s: this node "
                         r"is not healthy either" % EIP)
        self.assertEqual(self.aws_ops(), [])
        os.unlink(os.path.join(self.bin, "curl_fail"))
        rc, out = self.run_hook("down")
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.aws_ops(), [
            "describe-addresses", "associate-address", "publish"])

    def test_configuration_errors(self):
        missing = self.env.path("nope.env")
        for state in ("up", "down"):
            rc, out = self.run_hook(state, env_file=missing)
            self.assertEqual(rc, 2, out)
            self.assertRegex(out, r"^aws-eip-takeover: cannot read %s " %
                             missing)
        partial = U.write_file(self.env.path("partial.env"),
                               "REGION=eu-west-1\n")
        rc, out = self.run_hook("down", env_file=partial)
        self.assertEqual(rc, 2, out)
        self.assertEqual(out.splitlines()[0], "aws-eip-takeover: %s: not "
                         "set: EIP_ALLOCATION_ID SNS_TOPIC_ARN" % partial)
        bad = U.write_file(self.env.path("bad.env"), ENV_FILE.replace(
            EIP, "203.0.113.10"))
        rc, out = self.run_hook("down", env_file=bad)
        self.assertEqual(rc, 2, out)
        self.assertIn("is not an allocation id", out)
        # No HAPWATCH_STATE: not run by hapwatch.
        p = subprocess.run([HOOK, self.env_file], env={"PATH": self.bin +
                           ":/usr/bin:/bin"}, capture_output=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"HAPWATCH_STATE is not set", p.stderr)
        self.assertEqual(self.calls(), [])

    def test_example_config(self):
        rc, out, err = U.check_config(EXAMPLE)
        self.assertEqual((rc, out), (0, "configuration OK\n"), err)
        conf = U.load_jsonc(EXAMPLE)
        peer = conf["checks"]["peer"]
        self.assertEqual((peer["interval"], peer["timeout"], peer["rise"],
                          peer["fall"]), ("2s", "1s", 2, 3))
        self.assertEqual(conf["services"]["peer"]["require"],
                         [{"check": "peer"}])
        self.assertEqual(conf["notify"][0]["exec"][0],
                         "/etc/hapwatch/hooks/aws-eip-takeover")
        self.assertEqual(conf["notify"][0]["services"], ["peer"])

    def test_end_to_end(self):
        """The example config, made loopback, with the real hook script
        and the fake AWS: peer lost -> associate + publish; peer back ->
        nothing; lost again while holding it -> no associate; someone
        else took it and AWS refuses -> hapwatch logs the failure."""
        # The active node.
        b = self.backends()
        hap_a = self.haproxy(H.hap_backend("webapp", b.add_many("a", 1)),
                             name="haproxy-active").start()
        port_a = self.env.port()
        hw_a = self.hapwatch({
            "haproxy": {"stats": hap_a.stats_url, "interval": "100ms",
                        "settle": "0s"},
            "services": {"web": {"require": [{"backend": "webapp"}]}},
            "listen": [{"http": "127.0.0.1:%d" % port_a,
                        "paths": {HEALTH: "web"}}]},
            name="hapwatch-active").start()
        wait_for(lambda: get(port_a, HEALTH)[0] == 200, H.T_STATE,
                 "the active to be up")
        # The standby: the example, with loopback addresses.
        conf = U.load_jsonc(EXAMPLE)
        hap_s = self.haproxy(H.hap_backend("webapp", b.add_many("s", 1)),
                             name="haproxy-standby").start()
        conf["haproxy"].update(stats=hap_s.stats_url, interval="100ms",
                               settle="0s")
        conf["checks"]["peer"].update(
            http="http://127.0.0.1:%d%s" % (port_a, HEALTH),
            interval="200ms", timeout="150ms")
        conf["listen"] = [
            dict(conf["listen"][0], http="127.0.0.1:%d" % self.env.port()),
            {"http": "127.0.0.1:%d" % self.env.port(), "admin": True}]
        conf["notify"][0]["exec"] = [HOOK, self.env_file]
        self.fake("holder", PEER)
        old_path = os.environ["PATH"]
        os.environ["PATH"] = self.bin + ":" + old_path	# hooks inherit it
        try:
            hw_s = self.hapwatch(conf, name="hapwatch-standby").start()
        finally:
            os.environ["PATH"] = old_path

        def hook_logs(n):
            return wait_for(lambda: (lambda l: l if len(l) >= n else None)(
                U.log_lines(hw_s.proc, r"hook .*aws-eip-takeover")),
                H.T_STATE, "%d hook runs logged" % n)

        first = hook_logs(1)
        self.assertRegex(first[0], r"\(peer -> up\): exit 0")
        self.assertEqual(self.calls(), [])

        b.stop("a1")
        logged = hook_logs(2)
        self.assertRegex(logged[1], r"info: hook .*\(peer -> down\): exit 0")
        self.assertEqual(self.aws_ops(), [
            "describe-addresses", "associate-address", "publish"])
        msg = self.opt(self.calls("aws")[2], "--message")
        self.assertIn("peer: HTTP 503", msg)

        b.start("a1")
        logged = hook_logs(3)
        self.assertRegex(logged[2], r"\(peer -> up\): exit 0")
        self.assertEqual(len(self.calls("aws")), 3, "nothing on peer up")

        b.stop("a1")
        hook_logs(4)
        self.assertEqual(self.aws_ops()[3:], ["describe-addresses"],
                         "held already: no associate")

        b.start("a1")
        hook_logs(5)
        self.fake("holder", PEER)
        self.fake("fail", "associate-address")
        b.stop("a1")
        logged = hook_logs(6)
        H.log("failure logged: %s" % logged[5])
        self.assertRegex(logged[5], r"warning: hook .*\(peer -> down\): "
                         r"exit 1: aws-eip-takeover: associate-address "
                         r".*UnauthorizedOperation")
        m = hw_s.metrics()
        self.assertEqual(H.metric(m, "hapwatch_hook_failures_total"), 1)
        self.assertEqual(H.metric(m, "hapwatch_hook_runs_total"), 6)
        hw_s.stop()
        hw_a.stop()


if __name__ == "__main__":
    H.main()
