"""conf/hooks/aws-asg-lifecycle, run for real with fake `aws` and `curl`
(the EIP hook's way, test_failover.py): it completes the Auto Scaling
lifecycle action on a let_go event, and only while the instance is in
Terminating:Wait; everything else is nothing to do; a broken env file or
a failing call says what failed. Then end to end: a real hapwatch drain
that lets go runs it, with HAPWATCH_EVENT=let_go.
"""
import os
import shutil
import subprocess

import netns_hooks as U
import harness as H
import operate as O
from harness import wait_for

HOOK = os.path.join(U.HOOKS_DIR, "aws-asg-lifecycle")
ME = "i-0ccccccccccccccccc"
TOKEN = "AQAEAFakeTokenForTests=="

FAKE_AWS = r'''#!/usr/bin/python3
"""Fake AWS CLI: records argv in calls.jsonl beside it; the instance's
lifecycle state from the file `state` beside it; `fail` lists operations
that fail."""
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
op = args[args.index("autoscaling") + 1]
if op in read("fail").split():
    sys.stderr.write("\nAn error occurred (AccessDenied) when calling the "
                     "%s operation: not authorized\n" % op)
    sys.exit(254)
if op == "describe-auto-scaling-instances":
    print(read("state", "InService"))
elif op == "complete-lifecycle-action":
    pass
else:
    sys.stderr.write("fake aws: unexpected %r\n" % args)
    sys.exit(2)
'''

FAKE_CURL = r'''#!/usr/bin/python3
"""Fake curl for the instance metadata service (IMDSv2)."""
import json, os, sys
d = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
with open(os.path.join(d, "calls.jsonl"), "a") as f:
    f.write(json.dumps({"prog": "curl", "argv": args}) + "\n")
url = [a for a in args if a.startswith("http")][-1]
if url.endswith("/latest/api/token"):
    sys.stdout.write("%(token)s")
elif url.endswith("/latest/meta-data/instance-id") and \
        "X-aws-ec2-metadata-token: %(token)s" in args:
    sys.stdout.write("%(me)s")
else:
    sys.stderr.write("curl: (22) The requested URL returned error: 401\n")
    sys.exit(22)
''' % {"token": TOKEN, "me": ME}

ENV_FILE = """# test asg.env
ASG_NAME=web-asg
LIFECYCLE_HOOK_NAME=drain-before-terminate
REGION=eu-west-1
"""


class AsgHookTest(H.Case):

    def setUp(self):
        super().setUp()
        self.bin = self.env.path("bin")
        os.mkdir(self.bin)
        U.write_script(os.path.join(self.bin, "aws"), FAKE_AWS)
        U.write_script(os.path.join(self.bin, "curl"), FAKE_CURL)
        self.env_file = U.write_file(self.env.path("asg.env"), ENV_FILE)

    def fake(self, name, text):
        U.write_file(os.path.join(self.bin, name), text + "\n")

    def calls(self, prog=None):
        return [c["argv"] for c in U.read_jsonl(os.path.join(
            self.bin, "calls.jsonl")) if prog is None or c["prog"] == prog]

    def aws_ops(self):
        return [a[a.index("autoscaling") + 1] for a in self.calls("aws")]

    def run_hook(self, event, state="drain", env_file=None):
        env = {"PATH": self.bin + ":/usr/bin:/bin", "HAPWATCH_EVENT": event,
               "HAPWATCH_SERVICE": "web", "HAPWATCH_STATE": state,
               "HAPWATCH_PREVIOUS": "drain",
               "HAPWATCH_REASON": "let go: all 2 watched have let go",
               "HAPWATCH_TIME": "2026-12-02T10:00:00Z"}
        p = subprocess.run([HOOK, env_file or self.env_file], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60 * H.SCALE)
        out = p.stdout.decode("utf-8", "replace")
        H.log("hook %s: exit %d: %r" % (event, p.returncode, out))
        return p.returncode, out

    def test_lint(self):
        for sh in ("/bin/sh", "/bin/dash"):
            p = subprocess.run([sh, "-n", HOOK], capture_output=True)
            self.assertEqual(p.returncode, 0, "%s -n: %s" % (sh, p.stderr))
        sc = shutil.which("shellcheck")
        self.assertIsNotNone(sc, "shellcheck is missing: ./dev deps")
        p = subprocess.run([sc, "-s", "sh", "-S", "style", HOOK],
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout.decode())

    def test_completes_on_let_go_while_terminating(self):
        self.fake("state", "Terminating:Wait")
        rc, out = self.run_hook("let_go")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out, "aws-asg-lifecycle: web let go (let go: all 2 "
                         "watched have let go); %s may terminate\n" % ME)
        self.assertEqual(self.aws_ops(), ["describe-auto-scaling-instances",
                                          "complete-lifecycle-action"])
        done = self.calls("aws")[1]
        for opt, want in (("--auto-scaling-group-name", "web-asg"),
                          ("--lifecycle-hook-name", "drain-before-terminate"),
                          ("--instance-id", ME),
                          ("--lifecycle-action-result", "CONTINUE"),
                          ("--region", "eu-west-1")):
            self.assertEqual(done[done.index(opt) + 1], want, opt)

    def test_nothing_to_do(self):
        # A transition, an unknown event: no call at all.
        for event in ("transition", "something_new"):
            rc, out = self.run_hook(event)
            self.assertEqual(rc, 0, out)
            self.assertIn("nothing to do", out)
        self.assertEqual(self.calls(), [])
        # A let-go of a drain for a deploy: the group is not terminating.
        self.fake("state", "InService")
        rc, out = self.run_hook("let_go")
        self.assertEqual(rc, 0, out)
        self.assertIn("is InService, not Terminating:Wait", out)
        self.assertEqual(self.aws_ops(), ["describe-auto-scaling-instances"])

    def test_failures_say_what_failed(self):
        self.fake("state", "Terminating:Wait")
        self.fake("fail", "complete-lifecycle-action")
        rc, out = self.run_hook("let_go")
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"^aws-asg-lifecycle: complete-lifecycle-action "
                         r"drain-before-terminate for %s failed: An error "
                         r"occurred \(AccessDenied\)" % ME)
        bad = U.write_file(self.env.path("bad.env"), "ASG_NAME=web-asg\n")
        rc, out = self.run_hook("let_go", env_file=bad)
        self.assertEqual(rc, 2, out)
        self.assertEqual(out, "aws-asg-lifecycle: %s: not set: "
                         "LIFECYCLE_HOOK_NAME REGION\n" % bad)
        rc, out = self.run_hook("let_go", env_file=self.env.path("none"))
        self.assertEqual(rc, 2, out)

    def test_run_by_a_drain_that_lets_go(self):
        """hapwatch runs it with HAPWATCH_EVENT=let_go once a drain with
        nothing to watch has let go."""
        self.fake("state", "Terminating:Wait")
        b = self.backends()
        hap = self.haproxy(H.hap_backend("app", b.add_many("s", 1))).start()
        # The hook finds the fakes first on PATH, as it would the real
        # ones.
        wrapper = U.write_script(self.env.path("hook.sh"), "#!/bin/sh\n"
                                 "PATH=%s:$PATH exec %s \"$@\"\n" % (
                                     self.bin, HOOK))
        hw = self.hapwatch({
            "haproxy": {"stats": hap.stats_url, "interval": "100ms",
                        "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}]}},
            "notify": [{"exec": [wrapper, self.env_file],
                        "services": ["web"], "timeout": "30s"}]}).start()
        hw.wait_state("web", "up")
        rc, out, err = O.ctl("http://127.0.0.1:%d" % hw.admin_port, "drain",
                             "--wait", "web")
        self.assertEqual(rc, 0, (out, err))
        wait_for(lambda: "complete-lifecycle-action" in self.aws_ops(),
                 H.T_STATE, "the lifecycle action completed")
        self.assertTrue(U.log_lines(hw.proc, r"info: hook .*/hook.sh"
                                    r" \(web -> drain\): exit 0"))
        hw.stop()


if __name__ == "__main__":
    H.main()
