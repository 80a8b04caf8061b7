"""The systemd side: systemd/hapwatch.service, systemd/hapwatch.sysusers
and the HAProxy drop-ins conf/haproxy/haproxy.service.d/hapwatch-state.conf
and hapwatch-drain.conf (what a real systemd does with them:
test_systemd_boot.py).

* systemd-analyze verify of the unit prints nothing (a warning is a
  failure: verify exits 0 on unknown keys). The unit names
  /usr/bin/hapwatch, which this machine need not have: it is verified as a
  copy in a temp dir where that path, and only that, is replaced by the
  binary under test; its man pages (Documentation=) are found through
  MANPATH in a temp tree made from conf/man.
* The contract of the unit: Type=notify, NotifyAccess=main, the watchdog,
  the commands, ordering after haproxy.service without being bound to it,
  the sandbox; and systemd-analyze security rates it at most 2.0.
* Debian's haproxy.service with the drop-in verifies clean, and the
  drop-in keeps HAProxy's own ExecReload steps in order, with
  "-/usr/bin/hapwatch ctl save-state" between the check and the signal.
* Debian's haproxy.service with the drain drop-in, verified together with
  hapwatch.service, prints nothing: no ordering cycle (hapwatch.service
  must not be After=haproxy.service, since the drop-in orders HAProxy
  after hapwatch, so that a shutdown drains before HAProxy stops and a
  boot lifts the drain once hapwatch is up); the drop-in orders without
  pulling hapwatch in, and its ExecStop/ExecStartPost are the drain with
  --wait by haproxy.service and the ready --if-by that lifts only it.
* systemd-sysusers creates the user from hapwatch.sysusers in a temp root.
"""
import os
import re
import shutil

import harness as H
import operate as U

UNIT = os.path.join(H.SRC, "systemd", "hapwatch.service")
SYSUSERS = os.path.join(H.SRC, "systemd", "hapwatch.sysusers")
DROPIN = os.path.join(H.SRC, "conf", "haproxy", "haproxy.service.d",
                      "hapwatch-state.conf")
DRAIN_DROPIN = os.path.join(H.SRC, "conf", "haproxy", "haproxy.service.d",
                            "hapwatch-drain.conf")
MAN = os.path.join(H.SRC, "conf", "man")
HAPROXY_UNIT = "/lib/systemd/system/haproxy.service"
INSTALLED_BIN = "/usr/bin/hapwatch"


def unit_entries(path):
    """[(section, key, value)] of a unit file, in order, repeats kept."""
    out, section = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, _, v = line.partition("=")
            out.append((section, k.strip(), v.strip()))
    return out


class SystemdTest(H.Case):

    def analyze(self, *args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        e.setdefault("SYSTEMD_LOG_LEVEL", "notice")
        return U.run([U.tool("systemd-analyze")] + list(args), env=e,
                     cwd=self.env.dir)

    def staged_unit(self):
        """The unit in a temp dir, /usr/bin/hapwatch -> the binary under
        test (nothing else changes), and a MANPATH with its pages."""
        d = self.env.path("unit")
        os.makedirs(d)
        with open(UNIT) as f:
            text = f.read()
        self.assertIn(INSTALLED_BIN, text)
        staged = os.path.join(d, "hapwatch.service")
        with open(staged, "w") as f:
            f.write(text.replace(INSTALLED_BIN, H.hapwatch_bin()))
        man = self.env.path("man")
        for page, sec in (("hapwatch.8", "8"), ("hapwatch.json.5", "5")):
            os.makedirs(os.path.join(man, "man" + sec), exist_ok=True)
            shutil.copy(os.path.join(MAN, page),
                        os.path.join(man, "man" + sec, page))
        return staged, man

    def test_verify_unit(self):
        staged, man = self.staged_unit()
        r = self.analyze("verify", "--man=yes", staged,
                         env={"MANPATH": man})
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""),
                         "systemd-analyze verify hapwatch.service")
        # The check is real: a typo is reported.
        with open(staged) as f:
            text = f.read()
        bad = os.path.join(os.path.dirname(staged), "bad.service")
        with open(bad, "w") as f:
            f.write(text.replace("ProtectSystem=", "ProtectSytem="))
        r = self.analyze("verify", "--man=no", bad)
        self.assertIn("Unknown key 'ProtectSytem'", r.stdout + r.stderr)

        # Exposure: systemd's own rating of the sandbox.
        r = self.analyze("security", "--offline=yes", "--no-pager", staged,
                         env={"MANPATH": man})
        m = re.search(r"Overall exposure level for hapwatch\.service: "
                      r"([0-9.]+)", r.stdout + r.stderr)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        H.log("systemd-analyze security: %s" % m.group(0))
        self.assertLessEqual(float(m.group(1)), 2.0)

    def test_unit_contract(self):
        entries = unit_entries(UNIT)
        svc = {}
        for sec, k, v in entries:
            if sec == "Service":
                svc.setdefault(k, []).append(v)
        unit = {k: v for sec, k, v in entries if sec == "Unit"}
        one = {k: v[-1] for k, v in svc.items()}
        self.assertEqual(one["Type"], "notify")
        self.assertEqual(one["NotifyAccess"], "main")
        self.assertEqual(one["WatchdogSec"], "10s")
        self.assertEqual(svc["ExecStartPre"],
                         ["/usr/bin/hapwatch -c -f /etc/hapwatch/hapwatch.json"])
        self.assertEqual(svc["ExecStart"],
                         ["/usr/bin/hapwatch -f /etc/hapwatch/hapwatch.json"])
        self.assertEqual(svc["ExecReload"][-1], "/bin/kill -HUP $MAINPID")
        self.assertEqual(one["Restart"], "on-failure")
        self.assertEqual((one["User"], one["Group"],
                          one["SupplementaryGroups"]),
                         ("hapwatch", "hapwatch", "haproxy"))
        self.assertEqual(one["RuntimeDirectory"], "hapwatch")
        for k, v in (("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                     ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                     ("RestrictAddressFamilies",
                      "AF_UNIX AF_INET AF_INET6"),
                     ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
                     ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
                     ("LockPersonality", "yes"),
                     ("MemoryDenyWriteExecute", "yes")):
            self.assertEqual(one.get(k), v, k)
        self.assertIn("@system-service", svc["SystemCallFilter"])
        # Not After=haproxy.service: the drain drop-in orders HAProxy
        # after hapwatch (test_drain_dropin), and both would be a cycle.
        self.assertEqual(set(unit["After"].split()),
                         {"network-online.target"})
        self.assertEqual(unit["Wants"], "network-online.target")
        for k in ("BindsTo", "PartOf", "Requires", "Requisite"):
            self.assertNotIn(k, unit, "hapwatch must outlive HAProxy")
        # The default admin socket lives in the RuntimeDirectory.
        with open(os.path.join(H.SRC, "agent", "ctl.h")) as f:
            self.assertIn('"/run/%s/admin.sock"' % one["RuntimeDirectory"],
                          f.read())

    def test_haproxy_dropin(self):
        if not os.path.exists(HAPROXY_UNIT):
            raise AssertionError("%s is missing: install Debian's haproxy "
                                 "package (./dev deps)" % HAPROXY_UNIT)
        d = self.env.path("haproxy")
        os.makedirs(os.path.join(d, "haproxy.service.d"))
        shutil.copy(HAPROXY_UNIT, d)
        shutil.copy(DROPIN, os.path.join(d, "haproxy.service.d"))
        r = self.analyze("verify", "--man=no",
                         os.path.join(d, "haproxy.service"))
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        # The drop-in is really loaded from there: a bad key shows.
        with open(os.path.join(d, "haproxy.service.d",
                               "hapwatch-state.conf"), "a") as f:
            f.write("Bogus=1\n")
        r = self.analyze("verify", "--man=no",
                         os.path.join(d, "haproxy.service"))
        self.assertIn("Unknown key 'Bogus'", r.stdout + r.stderr)

        # HAProxy's own reload steps, in order, with the save before the
        # signal and after the config check.
        orig = [v for s, k, v in unit_entries(HAPROXY_UNIT)
                if s == "Service" and k == "ExecReload"]
        mine = [v for s, k, v in unit_entries(DROPIN)
                if s == "Service" and k == "ExecReload"]
        self.assertEqual(mine[0], "", "the drop-in must reset ExecReload")
        save = "-/usr/bin/hapwatch ctl save-state"
        self.assertIn(save, mine)
        # Debian 13's unit checks without -q, 12's with: the same step.
        def same(cmds):
            return [v.replace(" -q ", " ") for v in cmds]
        self.assertEqual(same(v for v in mine[1:] if v != save), same(orig))
        i = mine.index(save)
        self.assertIn(" -c ", mine[i - 1])
        self.assertIn("kill", mine[i + 1])

    def test_drain_dropin(self):
        if not os.path.exists(HAPROXY_UNIT):
            raise AssertionError("%s is missing: install Debian's haproxy "
                                 "package (./dev deps)" % HAPROXY_UNIT)
        staged, _ = self.staged_unit()
        d = os.path.dirname(staged)
        shutil.copy(HAPROXY_UNIT, d)
        os.makedirs(os.path.join(d, "haproxy.service.d"))
        for f in (DROPIN, DRAIN_DROPIN):
            shutil.copy(f, os.path.join(d, "haproxy.service.d"))
        haproxy = os.path.join(d, "haproxy.service")
        r = self.analyze("verify", "--man=no", haproxy, staged)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""),
                         "haproxy.service + drop-ins with hapwatch.service")

        entries = unit_entries(DRAIN_DROPIN)
        self.assertEqual([(k, v) for s, k, v in entries if s == "Unit"],
                         [("After", "hapwatch.service")])
        svc = {}
        for s, k, v in entries:
            if s == "Service":
                svc.setdefault(k, []).append(v)
        self.assertEqual(svc, {
            "ExecStop": ["-/usr/bin/hapwatch ctl drain --wait --timeout 60s "
                         "--by haproxy.service"],
            "ExecStartPost": ["-/usr/bin/hapwatch ctl ready --if-by "
                              "haproxy.service"]})

        # The check is real: hapwatch.service ordered after HAProxy, as it
        # was, makes a cycle with the drop-in.
        with open(staged) as f:
            text = f.read()
        with open(staged, "w") as f:
            f.write(text.replace("After=network-online.target",
                                 "After=network-online.target "
                                 "haproxy.service"))
        r = self.analyze("verify", "--man=no", haproxy, staged)
        self.assertIn("ordering cycle", r.stdout + r.stderr)

    def test_sysusers(self):
        root = self.env.path("root")
        os.makedirs(os.path.join(root, "etc"))
        r = U.run([U.tool("systemd-sysusers"), "--root=" + root, SYSUSERS])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(root, "etc", "passwd")) as f:
            users = {l.split(":")[0]: l.strip().split(":") for l in f}
        with open(os.path.join(root, "etc", "group")) as f:
            groups = {l.split(":")[0] for l in f}
        self.assertIn("hapwatch", users)
        self.assertIn("hapwatch", groups)
        self.assertEqual(users["hapwatch"][5], "/nonexistent")
        self.assertLess(int(users["hapwatch"][2]), 1000, "not a system user")


if __name__ == "__main__":
    H.main()
