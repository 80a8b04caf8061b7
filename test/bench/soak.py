#!/usr/bin/python3
"""soak.py: a long run of hapwatch under steady load and churn (not in CI).

    ./dev soak [MINUTES]        (default 30; fractions allowed: 0.5)

A real HAProxy (backend app, three servers checked every 200ms), three
backends and hapwatch ($HAPWATCH_BIN, else build/hapwatch) with an http
health listener, an agent listener, a tcp listener, an admin listener, an
exec hook and a track file; service web requires 2 of the 3 servers, so
the flapping below moves it up and down. Meanwhile:

* probes, each from its own process: http GET on a new connection every
  20ms, agent every 50ms, tcp every 50ms;
* a backend killed or started every 4s (web goes down when two are out);
* an HAProxy reload (-sf) every minute, at :15;
* a SIGHUP every minute, at :45 (the config alternates between two
  versions, so listeners and paths really change);
* every 10s: hapwatch's RSS (/proc/PID/status) and open fds
  (/proc/PID/fd), with CPU time and counters, printed as a table.

Verdict: the RSS and fd samples of the last third of the run (the first
minute, warm-up, left out) against the first third: flat if the last
third's median RSS is within max(5%, 512 KiB) of the first third's and its
median fd count within 3; else growing. Exit status 1 if growing, if
hapwatch died, or if a probe got no answer; 0 otherwise.
"""
import json
import os
import signal
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HAPWATCH_SRC") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
os.environ.setdefault("HAPWATCH_SRC", SRC)
os.environ.setdefault("HAPWATCH_BIN", os.path.join(SRC, "build", "hapwatch"))
sys.path.insert(0, os.path.join(SRC, "test", "integration"))

import harness as H  # noqa: E402
import stress as R  # noqa: E402

HEALTH = "/haproxy_status"
SAMPLE_EVERY = 10.0
FLAP_EVERY = 4.0
# (action, backend): two out at a time at most, so web flips on the 2nd.
FLAPS = [("stop", "s1"), ("start", "s1"), ("stop", "s2"), ("stop", "s3"),
         ("start", "s2"), ("start", "s3"), ("stop", "s3"), ("stop", "s1"),
         ("start", "s3"), ("start", "s1")]


def say(msg):
    sys.stdout.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


def thirds_verdict(samples, warmup):
    """(flat?, text) from the samples taken after warmup seconds."""
    s = [x for x in samples if x["t"] >= warmup]
    if len(s) < 6:
        s = samples[1:]
    if len(s) < 3:
        return True, "too few samples for a verdict (%d): flat by default" % (
            len(s))
    k = len(s) // 3
    first, last = s[:k], s[-k:]
    rss_a = statistics.median(x["rss"] for x in first)
    rss_b = statistics.median(x["rss"] for x in last)
    fd_a = statistics.median(x["fds"] for x in first)
    fd_b = statistics.median(x["fds"] for x in last)
    rss_ok = rss_b <= rss_a + max(0.05 * rss_a, 512)
    fd_ok = fd_b <= fd_a + 3
    text = ("RSS median %d KiB (first third) -> %d KiB (last third): %s; "
            "fds median %d -> %d: %s" % (
                rss_a, rss_b, "flat" if rss_ok else "GROWING",
                fd_a, fd_b, "flat" if fd_ok else "GROWING"))
    return rss_ok and fd_ok, text


def main():
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    duration = minutes * 60
    R.raise_nofile()
    env = H.Env("soak")
    failed = True
    try:
        failed = not run(env, duration)
    finally:
        env.close(failed)
    return 1 if failed else 0


def hw_config(hap, ports, v):
    """The config, version v (0 or 1): v=1 adds a path and an agent
    listener bound to no service."""
    listen = [{"http": "127.0.0.1:%d" % ports["http"],
               "paths": {HEALTH: "web", "/any": "any"}},
              {"agent": "127.0.0.1:%d" % ports["agent"], "service": "web"},
              {"tcp": "127.0.0.1:%d" % ports["tcp"], "service": "web"},
              {"http": "127.0.0.1:%d" % ports["admin"], "admin": True}]
    if v:
        listen[0]["paths"]["/extra"] = "web"
        listen.append({"agent": "127.0.0.1:%d" % ports["agent2"]})
    return {
        "haproxy": {"stats": hap.stats_url, "interval": "200ms",
                    "timeout": "1s", "grace": "5s", "settle": "1s"},
        "services": {"web": {"require": [{"backend": "app", "min": 2}]},
                     "any": {"require": [{"backend": "app"}]}},
        "listen": listen,
        "notify": [{"exec": ["/bin/true"], "services": ["web"]},
                   {"track_file": hap.env.path("web.track"),
                    "services": ["web"]}],
    }


def run(env, duration):
    b = H.Backends(env)
    bports = b.add_many("s", 3)
    hap = H.HAProxy(env, H.hap_backend(
        "app", bports, check="check inter 200ms fall 1 rise 1")).start()
    ports = {k: env.port() for k in ("http", "agent", "tcp", "admin",
                                     "agent2")}
    hw = R.Hapwatch(env, hw_config(hap, ports, 0))
    hw.start()
    hw.wait_state("web", "up")
    pid = hw.proc.pid
    probers = {
        "http": R.ExtProber(env, ports["http"], HEALTH, 0.02),
        "agent": R.ExtProber(env, ports["agent"], "/", 0.05, kind="agent"),
        "tcp": R.ExtProber(env, ports["tcp"], "/", 0.05, kind="tcp"),
    }
    for p in probers.values():
        p.start()
    say("soak: %.1f minutes; hapwatch %s pid %d; HAProxy pid %d" % (
        duration / 60, H.hapwatch_bin(), pid, hap.proc.pid))
    header = ("%7s %9s %5s %7s %7s %6s %6s %6s %8s %8s %8s" % (
        "t(s)", "RSS(KiB)", "fds", "CPU(s)", "polls", "trans", "hapre",
        "hwre", "http", "agent", "tcp"))
    print(header, flush=True)
    t0 = time.monotonic()
    samples = []
    next_sample = t0
    next_flap = t0 + FLAP_EVERY
    flap_i = 0
    next_reload = t0 + 15
    next_hup = t0 + 45
    version = 0
    ok = True
    while True:
        now = time.monotonic()
        if not hw.proc.alive():
            say("hapwatch DIED (exit %s); log tail:\n%s" % (
                hw.proc.popen.returncode, H.tail(hw.proc.log_path, 40)))
            return False
        if now >= next_sample:
            st = hw.status()
            row = {
                "t": now - t0, "rss": R.rss_kib(pid), "fds": R.fd_count(pid),
                "cpu": R.cpu_seconds(pid), "polls": st["haproxy"]["polls"],
                "trans": sum(s["transitions"] for s in
                             st["services"].values()),
                "hapre": st["haproxy"]["reloads"],
                "hwre": st["config"]["reloads"],
                "probes": {k: len(p.read()) for k, p in probers.items()},
            }
            samples.append(row)
            print("%7.0f %9d %5d %7.2f %7d %6d %6d %6d %8d %8d %8d" % (
                row["t"], row["rss"], row["fds"], row["cpu"], row["polls"],
                row["trans"], row["hapre"], row["hwre"],
                row["probes"]["http"], row["probes"]["agent"],
                row["probes"]["tcp"]), flush=True)
            next_sample += SAMPLE_EVERY
            if now - t0 >= duration:
                break
        if now >= next_flap:
            action, name = FLAPS[flap_i % len(FLAPS)]
            (b.stop if action == "stop" else b.start)(name)
            flap_i += 1
            next_flap += FLAP_EVERY
        if now >= next_reload:
            hap.reload()
            next_reload += 60
        if now >= next_hup:
            version = 1 - version
            hw.config = hw_config(hap, ports, version)
            hw.write()
            hw.proc.signal(signal.SIGHUP)
            next_hup += 60
        time.sleep(max(0.0, min(next_sample, next_flap, next_reload,
                                next_hup) - time.monotonic()))

    results = {k: p.stop() for k, p in probers.items()}
    st = hw.status()
    say("probes: " + "; ".join("%s %d (%s)" % (k, len(r), R.summary(r))
                               for k, r in results.items()))
    failed = {k: [x for x in r if x[2] is None] for k, r in results.items()}
    failed = {k: v for k, v in failed.items() if v}
    if failed:
        ok = False
        say("probes that got no answer: %s" % json.dumps(
            {k: [x[3] for x in v[:3]] for k, v in failed.items()}))
    lat = {k: R.max_latency(r)[0] * 1000 for k, r in results.items()}
    say("slowest probe (ms): %s" % ", ".join("%s %.1f" % kv
                                              for kv in lat.items()))
    say("hapwatch: %d polls, %d stats errors %s, %d HAProxy reloads seen, "
        "%d config reloads (%d refused), %d transitions of web" % (
            st["haproxy"]["polls"], st["haproxy"]["errors"],
            {k: v for k, v in st["haproxy"]["errors_by_reason"].items() if v},
            st["haproxy"]["reloads"], st["config"]["reloads"],
            st["config"]["reload_failures"],
            st["services"]["web"]["transitions"]))
    flat, text = thirds_verdict(samples, 60.0)
    say("verdict: %s: %s" % ("FLAT" if flat else "GROWING", text))
    rc = hw.stop()
    say("hapwatch stopped, exit %d" % rc)
    return ok and flat


if __name__ == "__main__":
    sys.exit(main())
