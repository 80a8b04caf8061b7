"""The server state file: HAProxy keeps operator changes across a reload.

A real HAProxy with "server-state-file" (global) and
"load-server-state-from-file global" (in its backend), and hapwatch with
haproxy.state_file pointing at that file (state_file_interval 1h, so only
"hapwatch ctl save-state" writes it). The operator puts be/s1 in MAINT
and sets be/s2's weight to 5; "hapwatch ctl save-state" exits 0 and the
file holds show servers state; HAProxy reloads (-sf) and the new process
has s1 in MAINT and s2 at weight 5. Without the file (before any save),
a reload forgets them: the file is what carries them.

HAProxy stopped: save-state fails, ctl exits 1 and says why, and the file
is byte-identical to the last good one (and no temporary file is left).
"""
import os

import harness as H
import operate as U
from harness import wait_for

FMAINT = 0x01


class StateFileTest(H.Case):

    def start_world(self):
        env = self.env
        self.b = self.backends()
        ports = self.b.add_many("s", 3)
        self.state = env.path("server-state")
        self.hap = self.haproxy(
            H.hap_backend("be", ports,
                          options=("option httpchk GET /",
                                   "load-server-state-from-file global")),
            global_extra="    server-state-file %s" % self.state).start()
        self.sock = env.path("admin.sock")
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s",
                        "state_file": self.state,
                        "state_file_interval": "1h"},
            "services": {"web": {"require": [{"backend": "be"}]}},
            "listen": [{"http": "127.0.0.1:%d" % env.port(), "admin": True},
                       {"http": "unix:" + self.sock, "admin": True}]}).start()
        self.hw.wait_state("web", "up")
        wait_for(lambda: all(self.hap.row("be", "s%d" % i)["status"] == "UP"
                             for i in (1, 2, 3)),
                 H.T_STATE, "be/s1..s3 to be UP")

    def servers_state(self):
        """show servers state be -> {srv_name: row dict}."""
        lines = [l for l in self.hap.cli("show servers state be").splitlines()
                 if l.strip()]
        self.assertEqual(lines[0], "1")
        head = lines[1].lstrip("# ").split()
        return {r["srv_name"]: r for r in
                (dict(zip(head, l.split())) for l in lines[2:])}

    def operator_changes(self):
        self.hap.cli_ok("set server be/s1 state maint")
        self.hap.cli_ok("set weight be/s2 5")
        st = self.servers_state()
        self.assertTrue(int(st["s1"]["srv_admin_state"]) & FMAINT)
        self.assertEqual(st["s2"]["srv_uweight"], "5")

    def assert_kept(self):
        st = self.servers_state()
        self.assertTrue(int(st["s1"]["srv_admin_state"]) & FMAINT,
                        "s1 left MAINT: %r" % st["s1"])
        self.assertEqual(st["s2"]["srv_uweight"], "5", st["s2"])
        self.assertEqual(int(st["s3"]["srv_admin_state"]) & FMAINT, 0)
        self.assertEqual(self.hap.row("be", "s1")["status"], "MAINT")
        self.assertEqual(self.hap.row("be", "s2")["weight"], "5")
        self.assertNotEqual(self.hap.row("be", "s3")["status"], "MAINT")

    def tmp_files(self):
        return [f for f in os.listdir(self.env.dir)
                if f.startswith("server-state.tmp")]

    def test_save_then_reload_keeps_states(self):
        self.start_world()
        self.operator_changes()

        # Without a saved file, a reload forgets the operator's changes.
        self.assertFalse(os.path.exists(self.state))
        self.hap.reload()
        st = self.servers_state()
        self.assertEqual(int(st["s1"]["srv_admin_state"]) & FMAINT, 0)
        self.assertNotEqual(st["s2"]["srv_uweight"], "5")

        # Saved first, they are kept.
        self.operator_changes()
        rc, out, err = U.ctl(self.sock, "save-state")
        self.assertEqual((rc, out, err), (0, "saved %s\n" % self.state, ""))
        with open(self.state) as f:
            saved = f.read()
        self.assertTrue(saved.startswith("1\n# be_id be_name srv_id srv_name "),
                        saved[:200])
        self.assertTrue(saved.endswith("\n") and not saved.endswith("\n\n"))
        rows = [l.split() for l in saved.splitlines()[2:]]
        self.assertEqual(sorted(r[3] for r in rows if r[1] == "be"),
                         ["s1", "s2", "s3"])
        self.assertEqual(self.tmp_files(), [])
        sf = self.hw.status()["state_file"]
        self.assertEqual((sf["path"], sf["failures"], sf["last_error"]),
                         (self.state, 0, None))
        self.assertEqual(sf["saved"], sf["requested"])

        old_pid = self.hap.pid()
        new_pid = self.hap.reload()
        self.assertNotEqual(new_pid, old_pid)
        self.assert_kept()
        # hapwatch saw the reload, and saves from the new process too.
        wait_for(lambda: self.hw.status()["haproxy"]["pid"] == new_pid,
                 H.T_STATE, "hapwatch to see the new HAProxy")
        self.assertEqual(U.ctl(self.sock, "save-state")[0], 0)
        self.hap.reload()
        self.assert_kept()
        self.hw.stop()

    def test_failed_save_keeps_the_file(self):
        self.start_world()
        self.operator_changes()
        self.assertEqual(U.ctl(self.sock, "save-state")[0], 0)
        with open(self.state, "rb") as f:
            good = f.read()
        st0 = os.stat(self.state)

        self.hap.stop()
        wait_for(lambda: not os.path.exists(self.hap.sock) or
                 self.hw.status()["haproxy"]["errors"] > 0, H.T_STATE,
                 "HAProxy's stats socket to be gone")
        rc, out, err = U.ctl(self.sock, "save-state")
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(out, "")
        self.assertRegex(err, r"^hapwatch ctl: save failed: show servers "
                         r"state: .+\n$")
        with open(self.state, "rb") as f:
            self.assertEqual(f.read(), good, "the state file changed")
        st1 = os.stat(self.state)
        self.assertEqual((st1.st_ino, st1.st_mtime_ns),
                         (st0.st_ino, st0.st_mtime_ns))
        self.assertEqual(self.tmp_files(), [])
        sf = self.hw.status()["state_file"]
        self.assertEqual(sf["failures"], 1)
        self.assertIsNotNone(sf["last_error"])
        _, _, body = H.http("GET", self.hw.admin_port, "/metrics")
        m = U.parse_metrics(body.decode())
        self.assertEqual(U.metric(m, "hapwatch_state_file_failures_total"),
                         1.0)
        self.hw.stop()

    def test_no_state_file_configured(self):
        # save-state without haproxy.state_file: refused, exit 3 (nothing
        # was asked of HAProxy).
        env = self.env
        b = self.backends()
        hap = self.haproxy(H.hap_backend("be", b.add_many("s", 1))).start()
        sock = env.path("admin.sock")
        self.hapwatch({
            "haproxy": {"stats": hap.stats_url, "interval": "100ms"},
            "services": {"web": {"require": [{"backend": "be"}]}},
            "listen": [{"http": "127.0.0.1:%d" % env.port(), "admin": True},
                       {"http": "unix:" + sock, "admin": True}]}).start()
        rc, out, err = U.ctl(sock, "save-state")
        self.assertEqual(rc, 3)
        self.assertIn("no haproxy.state_file configured", err)


if __name__ == "__main__":
    H.main()
