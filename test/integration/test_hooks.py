"""Exec hooks (notify "exec") against a real HAProxy and real processes.

A service `web` requires backend `app` (one server, HAProxy checks every
100ms); hapwatch polls every 100ms with settle 0s. The hooks are scripts
written by the test that record what they were given (netns_hooks.RECORD_HOOK:
one JSON line per run with the HAPWATCH_* environment, pid, process group,
start and end times).

* environment: all five variables on every run; the first run is at start
  with HAPWATCH_PREVIOUS=starting; a real verdict change (the backend
  killed) gives STATE=down, PREVIOUS=up and /status's reason.
* ordering: a slow hook (400ms) and six operator transitions sent within
  a few ms: seven runs, serial (each starts after the previous one ended)
  and in transition order (each PREVIOUS is the last STATE).
* timeout: a hook that ignores SIGTERM and leaves a `sleep 1000`
  grandchild in its process group is killed whole (SIGTERM, then SIGKILL
  after the 2s grace) once its timeout passes; no process of the group is
  left; the failure is logged and counted.
* failure: a hook that exits 3 is logged as a warning with the first line
  of its output, and counted in hapwatch_hook_failures_total.
"""
import calendar
import os
import time

import netns_hooks as U
import harness as H
from harness import wait_for

SIX = ("HAPWATCH_EVENT", "HAPWATCH_SERVICE", "HAPWATCH_STATE",
       "HAPWATCH_PREVIOUS", "HAPWATCH_REASON", "HAPWATCH_TIME")


def rfc3339(s):
    """"2026-11-22T10:00:00Z" (optionally with .mmm) -> epoch seconds."""
    base, _, frac = s.rstrip("Z").partition(".")
    t = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return t + (float("0." + frac) if frac else 0.0)


class HooksTest(H.Case):

    def start_world(self, notify):
        self.b = self.backends()
        port = self.b.add("s1")
        self.hap = U.minimal_haproxy(self, [port])
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            # A drain watching a frontend HAProxy does not have never
            # lets go: the hooks here run for transitions only (let_go has
            # tests of its own, in test_drain).
            "services": {"web": {"require": [{"backend": "app"}],
                                 "drain_frontends": ["fe_nowhere"]}},
            "notify": notify}).start()
        self.hw.wait_state("web", "up")

    def runs(self, path, n, what):
        return wait_for(lambda: (lambda r: r if len(r) >= n else None)(
            U.read_jsonl(path)), H.T_STATE, "%d %s" % (n, what))

    def test_environment(self):
        out = self.env.path("runs.jsonl")
        hook = U.record_hook(self.env)
        t0 = time.time()
        self.start_world([{"exec": [hook, out, "0", "0"],
                           "services": ["web"], "timeout": "10s"}])
        first = self.runs(out, 1, "hook run at start")[0]
        for k in SIX:
            self.assertIn(k, first["env"], "variable %s missing" % k)
        e = first["env"]
        self.assertEqual(e["HAPWATCH_EVENT"], "transition")
        self.assertEqual(e["HAPWATCH_SERVICE"], "web")
        self.assertEqual(e["HAPWATCH_STATE"], "up")
        self.assertEqual(e["HAPWATCH_PREVIOUS"], "starting")
        self.assertEqual(e["HAPWATCH_REASON"], "all conditions hold")
        self.assertTrue(e["HAPWATCH_TIME"].endswith("Z"), e["HAPWATCH_TIME"])
        self.assertLessEqual(abs(rfc3339(e["HAPWATCH_TIME"]) - t0), 60)
        H.log("hook environment: %s" % {k: e[k] for k in SIX})
        H.log("other variables: %s" % sorted(set(e) - set(SIX)))

        # A real verdict change.
        self.b.stop("s1")
        down = self.hw.wait_state("web", "down")
        rec = self.runs(out, 2, "hook run for the down transition")[1]
        e = rec["env"]
        self.assertEqual((e["HAPWATCH_SERVICE"], e["HAPWATCH_STATE"],
                          e["HAPWATCH_PREVIOUS"]), ("web", "down", "up"))
        self.assertEqual(e["HAPWATCH_REASON"], down["reason"])
        self.assertIn("app", e["HAPWATCH_REASON"])
        self.assertGreaterEqual(rfc3339(e["HAPWATCH_TIME"]),
                                rfc3339(first["env"]["HAPWATCH_TIME"]))
        # Its own process group (so a timeout can kill it whole).
        self.assertEqual(rec["pgid"], rec["pid"])
        self.assertEqual(len(U.read_jsonl(out)), 2, "exactly two runs")
        self.hw.stop()

    def test_ordering_serial(self):
        out = self.env.path("runs.jsonl")
        hook = U.record_hook(self.env)
        self.start_world([{"exec": [hook, out, "0.4", "0"],
                           "services": ["web"], "timeout": "10s"}])
        self.runs(out, 1, "hook run at start")
        seq = ["drain", "ready", "maint", "ready", "drain", "ready"]
        states = {"drain": "drain", "ready": "up", "maint": "maint"}
        t_sent = time.monotonic()
        for what in seq:
            U.override(self.hw, "web", what)
        H.log("6 transitions sent in %.0fms" % (
            (time.monotonic() - t_sent) * 1000))
        runs = self.runs(out, 7, "seven hook runs")
        got = [(r["env"]["HAPWATCH_PREVIOUS"], r["env"]["HAPWATCH_STATE"])
               for r in runs]
        want = [("starting", "up")]
        for what in seq:
            want.append((want[-1][1], states[what]))
        self.assertEqual(got, want, "runs in transition order")
        for a, b in zip(runs, runs[1:]):
            self.assertGreaterEqual(
                b["start"], a["end"],
                "run %s started before %s ended (not serial)" % (
                    b["env"]["HAPWATCH_STATE"], a["env"]["HAPWATCH_STATE"]))
        times = [rfc3339(r["env"]["HAPWATCH_TIME"]) for r in runs]
        self.assertEqual(times, sorted(times), "HAPWATCH_TIME in order")
        H.log("runs: %s" % ", ".join("%s->%s %.3f-%.3f" % (
            r["env"]["HAPWATCH_PREVIOUS"], r["env"]["HAPWATCH_STATE"],
            r["start"] - runs[0]["start"], r["end"] - runs[0]["start"])
            for r in runs))
        # Nothing more comes (the queue is exactly the transitions).
        self.hw.wait_fresh_poll()
        self.assertEqual(len(U.read_jsonl(out)), 7)
        m = self.hw.metrics()
        self.assertEqual(H.metric(m, "hapwatch_hook_runs_total"), 7)
        self.assertEqual(H.metric(m, "hapwatch_hook_failures_total"), 0)
        self.hw.stop()

    def test_timeout_kills_group(self):
        pids = self.env.path("pids")
        hook = U.write_script(self.env.path("hang-hook"), """#!/bin/sh
# Ignores SIGTERM (and so does its child: ignored signals are inherited),
# so only the SIGKILL to the whole group ends it.
trap '' TERM
sleep 1000 &
echo "$$ $!" >> %s
wait
""" % pids)
        t0 = time.monotonic()
        self.start_world([{"exec": [hook], "services": ["web"],
                           "timeout": "300ms"}])
        line = wait_for(lambda: (U.read_text(pids) or "").strip(),
                        H.T_STATE, "the hook to start")
        hook_pid, sleep_pid = [int(x) for x in line.split()]
        self.assertEqual(os.getpgid(sleep_pid), hook_pid,
                         "the grandchild is in the hook's group")
        wait_for(lambda: U.gone(hook_pid) and U.gone(sleep_pid),
                 H.T_STATE, "the hook and its sleep 1000 to be killed")
        t_gone = time.monotonic() - t0
        self.assertEqual(U.pids_in_group(hook_pid), [],
                         "processes left in the hook's group")
        logged = wait_for(lambda: U.log_lines(
            self.hw.proc, r"warning: hook .*hang-hook \(web -> up\): "
            r"timed out after \d+ms, killed"), H.T_STATE,
            "the timeout to be logged")
        H.log("killed %.2fs after start: %s" % (t_gone, logged[0]))
        m = self.hw.metrics()
        self.assertEqual(H.metric(m, "hapwatch_hook_failures_total"), 1)
        # The loop kept running through it.
        self.assertEqual(self.hw.service("web")["state"], "up")
        self.hw.stop()

    def test_failure_logged_and_counted(self):
        out = self.env.path("runs.jsonl")
        hook = U.record_hook(self.env)
        self.start_world([{"exec": [hook, out, "0", "3",
                                    "disk full on /var\nsecond line\n"],
                           "services": ["web"]}])
        self.runs(out, 1, "hook run at start")
        lines = wait_for(lambda: U.log_lines(
            self.hw.proc, r"hook .*record-hook\.py \(web -> up\): exit 3"),
            H.T_STATE, "the failure to be logged")
        H.log("logged: %s" % lines[0])
        self.assertRegex(lines[0], r"^hapwatch: warning: hook ")
        self.assertTrue(lines[0].endswith(": exit 3: disk full on /var"),
                        lines[0])
        self.assertNotIn("second line", lines[0])
        m = self.hw.metrics()
        self.assertEqual(H.metric(m, "hapwatch_hook_failures_total"), 1)
        self.assertEqual(H.metric(m, "hapwatch_hook_runs_total"), 1)
        self.hw.stop()


if __name__ == "__main__":
    H.main()
