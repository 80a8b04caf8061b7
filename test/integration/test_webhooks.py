"""Webhooks (notify "webhook") against a real local receiver
(test/tools/webhook_receiver.py, run in this process).

A service `web` requires backend `app` (one server, HAProxy checks every
100ms); hapwatch polls every 100ms with settle 0s and posts every
transition of `web` to the receiver. Transitions come from the backend
(a real verdict change) or from operator overrides (drain/ready/maint:
effective-state transitions, as quick as the test can send them).

* payload: the eight fields (`event` is "transition"), `text` a sentence naming the service and the
  state, JSON content type; nothing posted for the first verdict at start.
* order: six transitions sent within a few ms arrive in order.
* 500s: the receiver answers 500 twice; the event is delivered on the
  third attempt, after the 1s and 2s backoff, and the transition sent
  meanwhile arrives after it.
* receiver down: the port refuses; once an attempt has failed the receiver
  listens again on the same port, and the next attempt delivers.
* receiver hangs: every POST is held without an answer (webhook timeout
  1s) while a prober GETs the health path every 20ms: every answer comes
  within 100ms, and a transition made during the hang shows at once.
"""
import calendar
import json
import socket
import time

import netns_hooks as U
import harness as H
from harness import get, wait_for

HEALTH = "/haproxy_status"
KEYS = {"event", "service", "state", "previous", "reason", "time", "host",
        "text"}


def rfc3339(s):
    base, _, frac = s.rstrip("Z").partition(".")
    t = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return t + (float("0." + frac) if frac else 0.0)


class WebhooksTest(H.Case):

    def start_world(self, timeout="10s"):
        self.rx = U.Receiver(port=self.env.port(),
                             jsonl=self.env.path("webhooks.jsonl")).start()
        self.addCleanup(self.rx.stop)
        self.b = self.backends()
        port = self.b.add("s1")
        self.hap = U.minimal_haproxy(self, [port])
        self.port = self.env.port()
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "timeout": "1s", "settle": "0s"},
            # A drain watching a frontend HAProxy does not have never
            # lets go: only transitions are posted here (the let_go
            # event has tests of its own, in test_drain).
            "services": {"web": {"require": [{"backend": "app"}],
                                 "drain_frontends": ["fe_nowhere"]},
                         "other": {"require": [{"backend": "app"}]}},
            "listen": [{"http": "127.0.0.1:%d" % self.port,
                        "paths": {HEALTH: "web"}}],
            "notify": [{"webhook": self.rx.url + "/hooks/T1/B2",
                        "services": ["web"], "timeout": timeout}]}).start()
        self.hw.wait_state("web", "up")

    def delivered(self, n, what, timeout=H.T_STATE):
        got = self.rx.wait(lambda recs: len([
            r for r in recs if r["answer"] == 200]) >= n, timeout * H.SCALE)
        if not got:
            raise AssertionError("timed out waiting for %d delivered %s; "
                                 "received: %r" % (n, what,
                                                   self.rx.received()))
        return self.rx.delivered()

    def wait_sent(self, n):
        """/metrics once hapwatch has counted n deliveries (the receiver
        records a request before hapwatch reads the answer)."""
        return wait_for(lambda: (lambda m: m if H.metric(
            m, "hapwatch_webhooks_sent_total") >= n else None)(
            self.hw.metrics()), H.T_STATE, "%d webhooks counted sent" % n)

    def pairs(self, recs):
        return [(r["json"]["previous"], r["json"]["state"]) for r in recs]

    def test_payload(self):
        t0 = time.time()
        self.start_world()
        # The first verdict is not a transition: no webhook for it.
        self.hw.wait_fresh_poll()
        self.assertEqual(self.rx.received(), [], "posted at start")

        self.b.stop("s1")
        down = self.hw.wait_state("web", "down")
        rec = self.delivered(1, "down transition")[0]
        self.assertEqual(rec["method"], "POST")
        self.assertEqual(rec["path"], "/hooks/T1/B2")
        self.assertEqual(rec["headers"].get("Content-Type"),
                         "application/json", rec["headers"])
        self.assertRegex(rec["headers"].get("User-Agent", ""), "^hapwatch/")
        j = rec["json"]
        self.assertIsInstance(j, dict, rec["body"])
        self.assertEqual(set(j), KEYS, "exactly the eight fields")
        self.assertEqual(j["event"], "transition")
        self.assertEqual(j["service"], "web")
        self.assertEqual(j["state"], "down")
        self.assertEqual(j["previous"], "up")
        self.assertEqual(j["reason"], down["reason"])
        self.assertEqual(j["host"], socket.gethostname())
        self.assertTrue(j["time"].endswith("Z"), j["time"])
        self.assertLessEqual(abs(rfc3339(j["time"]) - t0), 60)
        self.assertLessEqual(rfc3339(j["time"]), rec["time"] + 1)
        text = j["text"]
        self.assertIsInstance(text, str)
        self.assertIn("web", text)
        self.assertIn("down", text)
        self.assertIn(j["reason"], text)
        self.assertGreater(len(text.split()), 3, "a sentence: %r" % text)
        H.log("payload: %s" % rec["body"])

        self.b.start("s1")
        self.hw.wait_state("web", "up")
        recs = self.delivered(2, "up transition")
        self.assertEqual(self.pairs(recs), [("up", "down"), ("down", "up")])
        self.assertEqual(recs[1]["json"]["reason"], "all conditions hold")
        # Only "web" is listed: "other" changed too, and was not posted.
        self.assertEqual({r["json"]["service"] for r in
                          self.rx.received()}, {"web"})
        # The JSONL record has the same requests.
        self.assertEqual([r["seq"] for r in U.read_jsonl(
            self.env.path("webhooks.jsonl"))], [1, 2])
        self.hw.stop()

    def test_order(self):
        self.start_world()
        seq = ["drain", "ready", "maint", "ready", "drain", "ready"]
        states = {"drain": "drain", "ready": "up", "maint": "maint"}
        for what in seq:
            U.override(self.hw, "web", what)
        recs = self.delivered(len(seq), "transitions")
        want, prev = [], "up"
        for what in seq:
            want.append((prev, states[what]))
            prev = states[what]
        self.assertEqual(self.pairs(recs), want)
        times = [rfc3339(r["json"]["time"]) for r in recs]
        self.assertEqual(times, sorted(times))
        self.hw.wait_fresh_poll()
        self.assertEqual(len(self.rx.received()), len(seq), "extra posts")
        m = self.wait_sent(len(seq))
        self.assertEqual(H.metric(m, "hapwatch_webhook_retries_total"), 0)
        self.hw.stop()

    def test_retry_after_500(self):
        self.start_world()
        self.rx.fail_next(2, 500)
        U.override(self.hw, "web", "drain")
        # Wait for the first 500 before the next transition, so that the
        # second one queues behind an event being retried.
        self.rx.wait(lambda recs: len(recs) >= 1, H.T_STATE * H.SCALE)
        U.override(self.hw, "web", "ready")
        recs = self.delivered(2, "events after the 500s")
        allr = self.rx.received()
        self.assertEqual([r["answer"] for r in allr], [500, 500, 200, 200])
        self.assertEqual(allr[0]["body"], allr[1]["body"])
        self.assertEqual(allr[0]["body"], allr[2]["body"])
        self.assertEqual(self.pairs(recs), [("up", "drain"),
                                            ("drain", "up")])
        gaps = [b["mono"] - a["mono"] for a, b in zip(allr, allr[1:3])]
        H.log("retries after 500: gaps %s" % ", ".join(
            "%.2fs" % g for g in gaps))
        self.assertGreaterEqual(gaps[0], 0.9, "first retry after ~1s")
        self.assertGreaterEqual(gaps[1], 1.9, "second retry after ~2s")
        m = self.wait_sent(2)
        self.assertEqual(H.metric(m, "hapwatch_webhook_retries_total"), 2)
        self.assertTrue(U.log_lines(self.hw.proc,
                                    r"warning: webhook .*: HTTP 500 "
                                    r"\(retry in 1s\)"))
        self.hw.stop()

    def test_retry_receiver_down(self):
        self.start_world()
        self.rx.stop()
        U.override(self.hw, "web", "drain")
        wait_for(lambda: H.metric(self.hw.metrics(),
                                  "hapwatch_webhook_retries_total") >= 1,
                 H.T_STATE,
            "an attempt to fail on the closed port")
        self.assertTrue(U.log_lines(self.hw.proc, r"warning: webhook .*"
                                    r"(Couldn't connect|Could not connect)"))
        t_back = time.monotonic()
        self.rx.start()
        recs = self.delivered(1, "the event once the receiver is back")
        H.log("delivered %.2fs after the receiver came back" % (
            recs[0]["mono"] - t_back))
        self.assertEqual(self.pairs(recs), [("up", "drain")])
        self.assertEqual(len(self.rx.received()), 1)
        self.hw.stop()

    def test_no_stall_while_hanging(self):
        self.start_world(timeout="1s")
        self.rx.hang_forever(True)
        U.override(self.hw, "web", "drain")
        self.rx.wait(lambda recs: len(recs) >= 1, H.T_STATE * H.SCALE)
        probe = H.Prober(self.port, HEALTH, interval=0.02).start()
        try:
            # A transition while a POST hangs shows at once.
            t = time.monotonic()
            U.override(self.hw, "web", "ready")
            wait_for(lambda: get(self.port, HEALTH)[0] == 200, 1.0,
                     "the health path to answer 200 during the hang")
            t_ready = time.monotonic() - t
            # Through at least one webhook timeout and retry.
            self.assertTrue(self.rx.wait(lambda recs: len(recs) >= 2,
                                         H.T_STATE * H.SCALE),
                            "a second attempt after the timeout")
        finally:
            results = probe.stop()
        lat = [r[1] - r[0] for r in results]
        bad = [r for r in results if r[2] not in (200, 503)]
        H.log("during the hang: %d probes, max latency %.1fms, ready seen "
              "after %.0fms" % (len(results), max(lat) * 1000,
                                t_ready * 1000))
        self.assertEqual(bad, [], "probes without an answer")
        self.assertGreater(len(results), 20)
        self.assertLess(max(lat), 0.1 * H.SCALE, "a health answer took "
                        "%.0fms while the receiver hung" % (max(lat) * 1000))
        # Released: both events are delivered, in order.
        self.rx.release()
        recs = self.delivered(2, "events after the hang")
        self.assertEqual(self.pairs(recs), [("up", "drain"),
                                            ("drain", "up")])
        self.assertTrue(U.log_lines(self.hw.proc, r"warning: webhook .*"
                                    r"(Timeout|timed out)"))
        self.hw.stop()

    def test_receiver_tool_as_a_process(self):
        """test/tools/webhook_receiver.py run on its own, driven over HTTP
        (/_control, /_received) and through its JSONL file."""
        port, jsonl = self.env.port(), self.env.path("rx.jsonl")
        p = self.env.spawn("receiver", [
            H.PYTHON, "-B", U.webhook_receiver.__file__, "--port", str(port),
            "--jsonl", jsonl], stdout_pipe=True)
        self.backends()._wait_ready(p)	# its "ready PORT" line
        ctl = U.Receiver(port=port)	# only for its url
        self.b = self.backends()
        self.hap = U.minimal_haproxy(self, [self.b.add("s1")])
        self.hw = self.hapwatch({
            "haproxy": {"stats": self.hap.stats_url, "interval": "100ms",
                        "settle": "0s"},
            "services": {"web": {"require": [{"backend": "app"}],
                                 "drain_frontends": ["fe_nowhere"]}},
            "notify": [{"webhook": ctl.url + "/x"}]}).start()
        self.hw.wait_state("web", "up")
        c = H.Conn(port)
        c.request("POST", "/_control", {"Connection": "close"},
                  body=b'{"fail_next": 1}')
        self.assertEqual(c.response()[0], 204)
        c.close()
        U.override(self.hw, "web", "drain")

        def received():
            st, _, body = H.http("GET", port, "/_received")
            recs = json.loads(body)
            return recs if len(recs) >= 2 else None
        recs = wait_for(received, H.T_STATE, "a 500, then the retry")
        self.assertEqual([r["answer"] for r in recs], [500, 200])
        self.assertEqual(recs[1]["json"]["state"], "drain")
        self.assertEqual([r["seq"] for r in U.read_jsonl(jsonl)], [1, 2])
        st, _, _ = H.http("DELETE", port, "/_received")
        self.assertEqual(st, 204)
        self.assertEqual(json.loads(H.http("GET", port, "/_received")[2]),
                         [])
        self.hw.stop()


if __name__ == "__main__":
    H.main()
