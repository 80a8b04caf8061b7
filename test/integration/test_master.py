"""HAProxy's master CLI and the reloads that fail, on the HAProxy of
HAPWATCH_HAPROXY (every version of the matrix), in master-worker mode as
Debian runs it (-W -S MASTER_SOCKET, reloads by SIGUSR2 to the master):

* a valid reload: no failure reported, the new worker followed;
* a reload with a broken config: one failure reported within one poll of
  the master (its words, from show startup-logs on 3.0 and later), the old
  worker still serving and still judged, notify told once;
* a good reload again: back to normal, the counters right;
* the master restarted: seen, no false failure.

And a master socket that is missing, refused, slow or garbled: counted by
reason and logged once, the verdicts untouched.
"""
import json
import os
import socket
import threading
import time

import netns_hooks as U
import harness as H
import operate as O
from harness import wait_for

INTERVAL = 0.2


class MasterWorker(H.HAProxy):
    """harness.HAProxy in master-worker mode: the harness owns the
    master's pid; reload() signals it (SIGUSR2)."""

    def __init__(self, env, body, **kw):
        super().__init__(env, body, **kw)
        self.master_sock = env.path(self.name + "-master.sock")

    def _spawn(self, extra):
        self.generation += 1
        p = self.env.spawn(self.name, H.haproxy_cmd() + [
            "-W", "-db", "-S", self.master_sock, "-f", self.cfg] + extra)
        self.procs.append(p)
        return p

    def start(self):
        self._write()
        p = self._spawn([])
        wait_for(lambda: p.check_alive() or self.info().get("Pid"),
                 H.T_START, "the first worker to answer")
        return self

    def master_cli(self, cmd):
        return H.unix_request(self.master_sock, cmd.encode() + b"\n",
                              H.T_IO).decode("utf-8", "replace")

    def reload_master(self, body=None):
        if body is not None:
            self.body = body
        self._write()
        self.proc.signal(12)		# SIGUSR2


class MasterTest(H.Case):

    def start_world(self, master=None, notify=()):
        self.b = self.backends()
        self.ports = self.b.add_many("s", 2)
        self.body = H.hap_backend("app", self.ports)
        self.hap = MasterWorker(self.env, self.body).start()
        self.health = self.env.port()
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url,
                        "master": master or "unix:" + self.hap.master_sock,
                        "interval": "%dms" % (INTERVAL * 1000),
                        "timeout": "500ms", "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app",
                                              "min": 2}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.health,
                        "paths": {"/health": "web"}}],
            "notify": list(notify)}).start()
        self.hw.wait_state("web", "up")

    def hap_status(self):
        return self.hw.status()["haproxy"]

    def master(self):
        return self.hap_status()["master"]

    def worker_pid(self):
        return int(self.hap.info()["Pid"])

    def test_reloads_good_bad_good_and_restart(self):
        out = self.env.path("hook.jsonl")
        hook = U.record_hook(self.env)
        self.start_world(notify=[{"exec": [hook, out, "0", "0"],
                                  "services": ["web"]}])
        wait_for(lambda: self.master()["up"], H.T_STATE, "the master read")
        w0 = self.worker_pid()
        self.assertEqual(self.master()["worker"], w0)
        m0 = self.master()["pid"]
        self.assertEqual(m0, self.hap.proc.pid)

        # A valid reload: a new worker, followed; nothing failed.
        self.hap.reload_master()
        w1 = wait_for(lambda: (lambda p: p if p != w0 else None)(
            self.worker_pid()), H.T_STATE, "a new worker")
        wait_for(lambda: self.master()["worker"] == w1 and
                 self.hap_status()["pid"] == w1, H.T_STATE,
                 "the new worker followed")
        self.assertEqual(self.hap_status()["reload_failures"], 0)
        self.assertIsNone(self.hap_status()["last_reload_failure"])
        self.assertTrue(U.log_lines(self.hw.proc, r"new worker %d" % w1))

        # A broken config: the old worker goes on, the failure is told.
        t0 = time.monotonic()
        self.hap.reload_master(self.body + "\nthis is not haproxy\n")
        st = wait_for(lambda: (lambda h: h if h["reload_failures"] == 1
                               else None)(self.hap_status()), H.T_STATE,
                      "the failed reload reported")
        took = time.monotonic() - t0
        H.log("HAProxy %s: failed reload reported after %.2fs (master "
              "polled every %.1fs)" % (".".join(map(str,
                                                   H.haproxy_version())),
                                       took, INTERVAL))
        f = st["last_reload_failure"]
        self.assertIsNotNone(f)
        if H.haproxy_version() >= (3, 0, 0):
            self.assertRegex(f["message"], r"unknown keyword 'this'")
        self.assertEqual(self.worker_pid(), w1, "the old worker serves")
        self.assertEqual(st["pid"], w1)
        self.assertEqual(self.master()["worker"], w1)
        self.assertTrue(U.log_lines(self.hw.proc, r"error: HAProxy reload "
                                    r"failed: .*worker %d goes on" % w1))
        # Still judged: a server down is seen through the old worker.
        self.b.stop("s1")
        self.hw.wait_state("web", "down")
        self.b.start("s1")
        self.hw.wait_state("web", "up")
        m = self.hw.metrics()
        self.assertEqual(H.metric(
            m, "hapwatch_haproxy_reload_failures_total"), 1.0)
        # Told once (hooks run for web's transitions too).
        runs = wait_for(lambda: [r for r in U.read_jsonl(out) if r["env"][
            "HAPWATCH_EVENT"] == "haproxy_reload_failed"], H.T_STATE,
            "the hook told")
        self.assertEqual(len(runs), 1)
        self.assertRegex(runs[0]["env"]["HAPWATCH_REASON"],
                         r"^HAProxy reload failed: ")

        # A good reload again: back to normal, the counter stays at 1.
        self.hap.reload_master(self.body)
        w2 = wait_for(lambda: (lambda p: p if p != w1 else None)(
            self.worker_pid()), H.T_STATE, "a new worker")
        wait_for(lambda: self.master()["worker"] == w2, H.T_STATE,
                 "the new worker followed")
        self.hw.wait_fresh_poll()
        self.assertEqual(self.hap_status()["reload_failures"], 1)
        self.assertEqual(len([r for r in U.read_jsonl(out) if r["env"][
            "HAPWATCH_EVENT"] == "haproxy_reload_failed"]), 1)

        # The master restarted: a new master, no failure counted.
        self.hap.stop()
        self.hap.start()
        wait_for(lambda: self.master()["pid"] == self.hap.proc.pid and
                 self.master()["up"], H.T_STATE, "the new master read")
        self.assertTrue(U.log_lines(self.hw.proc, r"master restarted"))
        self.hw.wait_state("web", "up")
        self.assertEqual(self.hap_status()["reload_failures"], 1)
        self.hw.stop()

    def test_failed_reload_shows_in_ctl_status(self):
        self.start_world()
        wait_for(lambda: self.master()["up"], H.T_STATE, "the master read")
        self.hap.reload_master(self.body + "\nthis is not haproxy\n")
        wait_for(lambda: self.hap_status()["reload_failures"] == 1,
                 H.T_STATE, "the failed reload reported")
        rc, text, err = O.ctl("http://127.0.0.1:%d" % self.hw.admin_port,
                              "status")
        self.assertEqual((rc, err), (0, ""))
        H.log("ctl status of a node whose last reload failed:\n" + text)
        H.log("/status haproxy of it:\n" + json.dumps(
            {k: v for k, v in self.hap_status().items()
             if k in ("version", "pid", "reload_failures",
                      "last_reload_failure", "master")}, indent=1))
        self.assertRegex(text, r"HAProxy master via unix:\S+: answers, pid "
                         r"\d+, worker \d+, \d+ reloads")
        self.assertRegex(text, r"LAST RELOAD FAILED at \S+ \(1 failed so "
                         r"far\): ")
        self.hw.stop()


class FakeMaster:
    """A unix socket that answers like nothing HAProxy would: it never
    answers (slow), or answers garbage."""

    def __init__(self, path, mode):
        self.path = path
        self.mode = mode
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(16)
        self.held = []
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            if self.mode == "garbage":
                try:
                    c.recv(100)
                    c.sendall(b"hello there\n\n")
                except OSError:
                    pass
                c.close()
            else:
                self.held.append(c)

    def close(self):
        self.s.close()
        for c in self.held:
            c.close()


class MasterFaultsTest(H.Case):

    def test_missing_refused_slow_garbage(self):
        env = self.env
        b = self.backends()
        hap = self.haproxy(H.hap_backend("app", b.add_many("s", 1))).start()
        for mode, reason in (("missing", "connect"), ("refused", "connect"),
                             ("slow", "timeout"), ("garbage", "garbled")):
            with self.subTest(mode=mode):
                path = env.path("master-%s.sock" % mode)
                fake = None
                if mode == "refused":	# a socket file nobody listens on
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.bind(path)
                    s.close()
                elif mode in ("slow", "garbage"):
                    fake = FakeMaster(path, mode)
                hw = self.hapwatch({
                    "haproxy": {"stats": hap.stats_url,
                                "master": "unix:" + path,
                                "interval": "100ms", "timeout": "300ms",
                                "settle": "0s"},
                    "services": {"web": {"require": [{"backend": "app"}]}}},
                    name="hapwatch-" + mode).start()
                hw.wait_state("web", "up")
                m = wait_for(lambda: (lambda m: m if H.metric(
                    m, "hapwatch_master_errors_total", reason=reason) >= 5
                    else None)(hw.metrics()), H.T_STATE,
                    "five failed master polls")
                st = hw.status()["haproxy"]
                self.assertFalse(st["master"]["up"])
                self.assertIsNotNone(st["master"]["last_error"])
                self.assertEqual(st["reload_failures"], 0)
                self.assertEqual(hw.service("web")["state"], "up")
                lines = U.log_lines(hw.proc, r"warning: master: ")
                self.assertEqual(len(lines), 1, lines)
                self.assertIn("(%s)" % reason, lines[0])
                hw.stop()
                if fake is not None:
                    fake.close()


if __name__ == "__main__":
    H.main()
