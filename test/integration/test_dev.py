"""./dev on a machine it must not disturb (issue 10, defect 1).

An operator may run ./dev on a live HAProxy node: it installs what is
missing without starting any service, and never stops, disables or kills
a process it did not start.

Each case runs ./dev (this clone's) as root in a fresh Debian 12 root
(test/tools/mkroot bookworm, through test/tools/inroot --fresh, so what it
installs is thrown away) and in a pid namespace of its own (unshare
--pid): whatever ./dev does there, it can see and signal only the
processes of this test, never the host's (the old ./dev ran
`pkill -x haproxy`, which in a shared pid namespace would have killed
every HAProxy on the machine). The root's own policy-rc.d (mkroot puts
one in every root) is removed first, as a real machine has none, and
stand-ins for /sbin/init and /sbin/runlevel make invoke-rc.d start
services there as on a booted machine (in a bare root it blocks them).

* `./dev deps haproxy`: a process named haproxy that the test started
  (standing for the operator's live HAProxy) is still alive, Debian's
  haproxy package is installed, no other haproxy runs (its postinst would
  have started one through invoke-rc.d: no service was started), and
  there is no policy-rc.d afterwards. Then, in the same root, the
  package's postinst run again without ./dev (`apt-get install
  --reinstall haproxy`) does start an haproxy: the test would see a
  started service.
* With the operator's own policy-rc.d in place, `./dev deps socat`
  leaves it exactly as it was (content and mode).
* ./dev has no command that stops, disables or kills by name.
"""
import os
import re
import subprocess

import harness as H

DEV = os.path.join(H.SRC, "dev")
# A root's packages come from the mirror: allow for a slow one.
T_INSTALL = 600.0

# Runs inside the root as its pid 1's child. $1: the copy of ./dev.
# Prints KEY=VALUE lines that the test reads.
CASE_DEPS = r'''
set -e
dev=$1
# pkill and killall, as on a real machine (a bare root has neither, and
# an ./dev that used them would get away with it here).
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq procps psmisc \
	>/dev/null
rm -f /usr/sbin/policy-rc.d
# As a machine with an init system: invoke-rc.d (which packages' postinst
# call) starts services only where /sbin/init exists and a runlevel is
# known; a bare root has neither, and it would block every start itself.
printf '#!/bin/sh\nexit 0\n' >/sbin/init
printf '#!/bin/sh\necho N 2\n' >/sbin/runlevel
chmod 0755 /sbin/init /sbin/runlevel
mkdir -p /opt/hwtest
cp /bin/sleep /opt/hwtest/haproxy
/opt/hwtest/haproxy 3600 &
fake=$!
echo "fake=$fake"
haproxies() {	# pids of the processes named haproxy, but ours
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = haproxy ] || continue
		[ "${d#/proc/}" = "$fake" ] || printf '%s ' "${d#/proc/}"
	done
}
rc=0
"$dev" deps haproxy >"${dev%/*}/dev-run.log" 2>&1 || rc=$?
echo "dev_rc=$rc"
sed 's/^/dev: /' "${dev%/*}/dev-run.log"
echo "fake_alive=$(kill -0 "$fake" 2>/dev/null && echo yes || echo no)"
echo "installed=$(dpkg-query -W -f='${Status}' haproxy 2>/dev/null)"
echo "policy_after=$([ -e /usr/sbin/policy-rc.d ] && echo yes || echo no)"
echo "others_after_dev=$(haproxies)"
# The control: the same postinst without ./dev's policy starts HAProxy.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall haproxy \
	>/dev/null 2>&1 || echo "reinstall_failed=yes"
echo "others_after_reinstall=$(haproxies)"
'''

CASE_OWN_POLICY = r'''
set -e
dev=$1
printf '#!/bin/sh\n# the operator'"'"'s own\nexit 0\n' >/usr/sbin/policy-rc.d
chmod 0750 /usr/sbin/policy-rc.d
before=$(stat -c '%a %s' /usr/sbin/policy-rc.d; md5sum </usr/sbin/policy-rc.d)
rc=0
"$dev" deps socat >"${dev%/*}/dev-run.log" 2>&1 || rc=$?
echo "dev_rc=$rc"
sed 's/^/dev: /' "${dev%/*}/dev-run.log"
echo "installed=$(dpkg-query -W -f='${Status}' socat 2>/dev/null)"
after=$(stat -c '%a %s' /usr/sbin/policy-rc.d; md5sum </usr/sbin/policy-rc.d)
[ "$before" = "$after" ] && echo "policy_kept=yes" || echo "policy_kept=no"
'''


def bookworm_root():
    r = subprocess.run([os.path.join(H.TOOLS, "mkroot"), "bookworm"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise AssertionError("cannot build the bookworm root: %s" %
                             r.stderr.strip())
    return r.stdout.strip()


class DevTest(H.Case):

    def run_case(self, script):
        """script in a fresh bookworm root, in a pid namespace of its own
        (its processes all die with it: --kill-child), with a copy of
        ./dev in this test's dir (the host's /tmp is the root's)."""
        root = bookworm_root()
        dev = self.env.path("dev")
        with open(DEV, "rb") as src, open(dev, "wb") as dst:
            dst.write(src.read())
        os.chmod(dev, 0o755)
        p = self.env.spawn("case", [
            "/usr/bin/unshare", "--pid", "--fork", "--kill-child", "--",
            os.path.join(H.TOOLS, "inroot"), "--fresh", root,
            "/bin/sh", "-c", script, "case", dev], stdout_pipe=True)
        try:
            out, _ = p.popen.communicate(timeout=T_INSTALL * H.SCALE)
        except subprocess.TimeoutExpired:
            p.kill()
            raise AssertionError("the case did not end within %.0fs" % (
                T_INSTALL * H.SCALE))
        text = out.decode("utf-8", "replace")
        H.log("case output:\n" + text)
        self.assertEqual(p.popen.returncode, 0, "the case failed:\n%s\n%s" % (
            text, H.tail(p.log_path, 30)))
        vals = {}
        for line in text.splitlines():
            k, sep, v = line.partition("=")
            if sep and re.match(r"^[a-z_]+$", k):
                vals[k] = v.strip()
        return vals

    def test_deps_starts_nothing_stops_nothing(self):
        v = self.run_case(CASE_DEPS)
        self.assertEqual(v.get("dev_rc"), "0", v)
        self.assertEqual(v.get("installed"), "install ok installed", v)
        self.assertEqual(v.get("fake_alive"), "yes",
                         "./dev killed a haproxy it did not start")
        self.assertEqual(v.get("others_after_dev"), "",
                         "installing haproxy started its service")
        self.assertEqual(v.get("policy_after"), "no",
                         "./dev left its policy-rc.d behind")
        # The control: the test would have seen a service started.
        self.assertNotIn("reinstall_failed", v)
        self.assertNotEqual(v.get("others_after_reinstall"), "",
                            "the control did not start haproxy: the test "
                            "cannot see a started service")

    def test_operators_policy_left_alone(self):
        v = self.run_case(CASE_OWN_POLICY)
        self.assertEqual(v.get("dev_rc"), "0", v)
        self.assertEqual(v.get("installed"), "install ok installed", v)
        self.assertEqual(v.get("policy_kept"), "yes",
                         "./dev changed the operator's policy-rc.d")

    def test_dev_never_stops_by_name(self):
        with open(DEV) as f:
            code = [l for l in f.read().splitlines()
                    if not l.lstrip().startswith("#")]
        bad = [l for l in code if re.search(
            r"\b(pkill|killall)\b|systemctl\s+(\S+\s+)*(disable|stop|kill|"
            r"mask)\b|service\s+\S+\s+stop", l)]
        self.assertEqual(bad, [], "./dev stops, disables or kills by name")


if __name__ == "__main__":
    H.main()
