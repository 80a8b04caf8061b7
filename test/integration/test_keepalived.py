"""keepalived + hapwatch track files, for real, in two network namespaces.

The test creates two network namespaces (named hwfo-ka-<test pid>-a|b),
joined by a veth pair created directly inside them (eth0 in each, so the
host's interfaces are never touched), with 10.0.1.11/24 (node A) and
10.0.1.12/24 (node B). In each namespace: two HTTP backends, a HAProxy,
a hapwatch built from conf/examples/keepalived/hapwatch.json (its
track_file notify writing a file of this test), and a keepalived built from
conf/examples/keepalived/keepalived.conf (unicast_src_ip/unicast_peer,
`track_file hapwatch_web { ... weight 0 }`, VIP 10.0.1.100; node A
priority 150, node B 100, no nopreempt), run as
`keepalived -n -l -D -P -f CONF -p PIDFILE -r VRRP_PIDFILE -c ... -b ...`
with pid files of its own (keepalived 2.3 refuses to start while another
holds a default one, even one of a child it will not run).

* A holds the VIP (seen with `ip -n A addr`), B does not.
* A's backends die: A's hapwatch writes 1, A's keepalived goes to FAULT
  and drops the VIP, B takes it.
* A's backends come back: A writes 0, leaves FAULT and, having the higher
  priority, takes the VIP back from B.
* keepalived started first: A's keepalived starts before A's hapwatch,
  before even the track file's directory exists (at boot nothing orders
  keepalived after hapwatch, and systemd makes /run/hapwatch only when it
  starts hapwatch); once hapwatch runs, A's keepalived follows the file.

Namespaces (with their veths) and every process in them are removed
whatever happens (addCleanup), and namespaces left by a crashed earlier run
of this test (an owner pid that no longer exists) are removed at start.
The example files pass `keepalived -t` (with the track file's path made
to name a file that exists: keepalived 2.3, Debian 13's, fails -t on a
missing one) and `hapwatch -c`.
"""
import os
import re
import subprocess
import time

import netns_hooks as U
import harness as H
from harness import wait_for

KEEPALIVED = "/usr/sbin/keepalived"
PREFIX = "hwfo-ka-"
EX_DIR = os.path.join(U.EXAMPLES_DIR, "keepalived")
EX_KA = os.path.join(EX_DIR, "keepalived.conf")
EX_HW = os.path.join(EX_DIR, "hapwatch.json")
IP_A, IP_B, VIP = "10.0.1.11", "10.0.1.12", "10.0.1.100"


def require(path, pkg):
    if not os.access(path, os.X_OK):
        raise AssertionError("%s is missing: install Debian's %s package "
                             "(./dev deps)" % (path, pkg))


class Node:
    pass


class KeepalivedTest(H.Case):

    def setUp(self):
        super().setUp()
        require(KEEPALIVED, "keepalived")
        require(U.IP, "iproute2")
        U.netns_clean_stale(PREFIX)
        self.nodes = {}
        for name in ("a", "b"):
            ns = "%s%d-%s" % (PREFIX, os.getpid(), name)
            U.ip("netns", "add", ns)
            self.addCleanup(U.netns_destroy, ns)
            n = Node()
            n.name, n.ns = name, ns
            self.nodes[name] = n
        a, b = self.nodes["a"], self.nodes["b"]
        # Both ends created inside the namespaces: nothing on the host.
        U.ip("-n", a.ns, "link", "add", "eth0", "type", "veth", "peer",
             "name", "eth0", "netns", b.ns)
        for n, addr in ((a, IP_A), (b, IP_B)):
            U.ip("-n", n.ns, "addr", "add", addr + "/24", "dev", "eth0")
            U.ip("-n", n.ns, "link", "set", "lo", "up")
            U.ip("-n", n.ns, "link", "set", "eth0", "up")

    # ---- building a node ----

    def keepalived_conf(self, n, src, peer, priority):
        with open(EX_KA) as f:
            text = f.read()
        text = text.replace(IP_A, "@SRC@").replace(IP_B, "@PEER@")
        text = text.replace("@SRC@", src).replace("@PEER@", peer)
        text = text.replace("/run/hapwatch/web.track", n.track)
        text, k = re.subn(r"priority 150", "priority %d" % priority, text)
        self.assertEqual(k, 1, "the example's priority line")
        # The AWS notify script is not here: everything else is as shipped.
        text, k = re.subn(r'(?m)^\s*notify_master .*$', "", text)
        self.assertEqual(k, 1, "the example's notify_master line")
        text = text.replace("router_id haproxy_a", "router_id node_" +
                            n.name)
        path = self.env.path("keepalived-%s.conf" % n.name)
        U.write_file(path, text)
        return path

    def start_node(self, n, src, peer, priority, hapwatch=True):
        env = self.env
        # In a directory of its own, as /run/hapwatch/web.track is in
        # /run/hapwatch, which systemd makes when it starts hapwatch
        # (RuntimeDirectory=): here start_hapwatch makes it.
        n.track = env.path("run-%s/web.track" % n.name)
        n.b = U.NsBackends(env, n.ns, 18081)
        ports = n.b.add_many("s", 2)
        n.hap = U.NsHAProxy(env, H.hap_backend("webapp", ports), n.ns,
                            name="haproxy-" + n.name).start()
        conf = U.load_jsonc(EX_HW)
        conf["haproxy"].update(stats=n.hap.stats_url, interval="100ms",
                               settle="0s")
        conf["services"]["web"]["up_after"] = "500ms"
        conf["listen"] = [l for l in conf["listen"] if not l.get("admin")]
        self.assertEqual(conf["notify"][0]["track_file"],
                         "/run/hapwatch/web.track")
        conf["notify"][0]["track_file"] = n.track
        n.hw = U.NsHapwatch(env, conf, n.ns, name="hapwatch-" + n.name)
        n.conf = self.keepalived_conf(n, src, peer, priority)
        if hapwatch:
            self.start_hapwatch(n)

    def start_hapwatch(self, n):
        os.makedirs(os.path.dirname(n.track), exist_ok=True)
        n.hw.start()
        n.hw.wait_state("web", "up")
        self.wait_track(n, "0")

    def start_keepalived(self, n):
        # Every pid file of its own, the checkers' and BFD's included:
        # keepalived 2.3 (Debian 13) refuses to start ("daemon is already
        # running") while another keepalived holds the default
        # /run/bfd.pid, even with -P (VRRP only), and the two nodes (and
        # any other test's) share /run.
        pid = lambda what: self.env.path("ka-%s%s.pid" % (n.name, what))
        n.ka = self.env.spawn("keepalived-" + n.name, [
            U.IP, "netns", "exec", n.ns, KEEPALIVED, "-n", "-l", "-D", "-P",
            "-f", n.conf, "-p", pid(""), "-r", pid("-vrrp"),
            "-c", pid("-checkers"), "-b", pid("-bfd")])

    # ---- observing ----

    def wait_track(self, n, want):
        wait_for(lambda: (U.read_text(n.track) or "").strip() == want,
                 H.T_STATE, "%s's track file to hold %s" % (n.name, want))

    def has_vip(self, n):
        out = U.ip("-n", n.ns, "-4", "-o", "addr", "show", "dev", "eth0")
        return (" %s/" % VIP) in out

    def wait_holder(self, holder, what):
        a, b = self.nodes["a"], self.nodes["b"]

        def only():
            for n in (a, b):
                if hasattr(n, "ka"):
                    n.ka.check_alive()
            ha, hb = self.has_vip(a), self.has_vip(b)
            return (ha, hb) == (holder == "a", holder == "b")
        wait_for(only, 30, "the VIP on %s only (%s)" % (holder, what))

    def ka_log(self, n, pattern):
        return U.log_lines(n.ka, pattern)

    # ---- the test ----

    def test_examples_check(self):
        # keepalived -t on the example as shipped, but for the track
        # file's path, which names a file that exists (as
        # /run/hapwatch/web.track does once hapwatch runs): keepalived 2.3
        # (Debian 13) makes a missing track file an error of -t (exit 5,
        # "realpath() error 2"), though it follows one that appears later
        # (test_keepalived_started_first); 2.2 (Debian 12) does not.
        track = self.env.path("web.track")
        U.write_file(track, "0\n")
        with open(EX_KA) as f:
            text = f.read()
        self.assertIn("file /run/hapwatch/web.track", text)
        conf = self.env.path("keepalived-example.conf")
        U.write_file(conf, text.replace("/run/hapwatch/web.track", track))
        p = subprocess.run([KEEPALIVED, "-t", "-f", conf],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        rc, out, err = U.check_config(EX_HW)
        self.assertEqual((rc, out), (0, "configuration OK\n"), err)
        with open(EX_KA) as f:
            text = f.read()
        for want in (r"track_file hapwatch_web \{\s*file "
                     r"/run/hapwatch/web\.track\s*weight 0",
                     r"track_file \{\s*hapwatch_web\s*\}",
                     r"unicast_src_ip", r"unicast_peer", r"virtual_ipaddress"):
            self.assertRegex(text, want)
        self.assertNotRegex(text, r"(?m)^\s*nopreempt")

    def test_vip_follows_hapwatch(self):
        a, b = self.nodes["a"], self.nodes["b"]
        self.start_node(a, IP_A, IP_B, 150)
        self.start_node(b, IP_B, IP_A, 100)
        self.start_keepalived(a)
        self.start_keepalived(b)
        self.wait_holder("a", "A has the higher priority")
        H.log("VIP on A; B: %s" % self.ka_log(b, r"Entering \w+ STATE")[-1:])

        t0 = time.monotonic()
        a.b.stop("s1", "s2")
        a.hw.wait_state("web", "down")
        self.wait_track(a, "1")
        t_track = time.monotonic()
        self.wait_holder("b", "A's backends are dead")
        t_moved = time.monotonic()
        self.assertTrue(self.ka_log(a, r"Entering FAULT STATE"),
                        "A went to FAULT")
        H.log("backends killed -> track file 1 in %.2fs -> VIP on B in "
              "%.2fs" % (t_track - t0, t_moved - t_track))

        t0 = time.monotonic()
        a.b.start("s1", "s2")
        a.hw.wait_state("web", "up")
        self.wait_track(a, "0")
        t_track = time.monotonic()
        self.wait_holder("a", "A is healthy again and preempts")
        H.log("backends back -> track file 0 in %.2fs -> VIP back on A in "
              "%.2fs" % (t_track - t0, time.monotonic() - t_track))
        self.assertTrue(self.ka_log(b, r"Entering BACKUP STATE"))
        # B never wrote anything but 0: it stayed healthy throughout.
        self.assertEqual((U.read_text(b.track) or "").strip(), "0")

        self.stop_all()

    def stop_all(self):
        for n in self.nodes.values():
            rc = n.ka.terminate(10.0)
            self.assertEqual(rc, 0, "keepalived-%s exit status" % n.name)
            n.hw.stop()

    def test_keepalived_started_first(self):
        """Nothing orders keepalived after hapwatch at boot: a keepalived
        that starts before hapwatch (before /run/hapwatch exists, then)
        must follow the track file all the same once hapwatch runs."""
        a, b = self.nodes["a"], self.nodes["b"]
        self.start_node(b, IP_B, IP_A, 100)
        self.start_node(a, IP_A, IP_B, 150, hapwatch=False)
        self.assertFalse(os.path.exists(os.path.dirname(a.track)))
        self.start_keepalived(a)
        self.start_keepalived(b)
        self.start_hapwatch(a)
        self.wait_holder("a", "A has the higher priority")
        a.b.stop("s1", "s2")
        a.hw.wait_state("web", "down")
        self.wait_track(a, "1")
        self.wait_holder("b", "A's backends are dead, A's track file "
                         "was written after keepalived started")
        self.stop_all()
        for n in (a, b):
            self.assertFalse(self.has_vip(n), "VIP left on %s after "
                             "keepalived stopped" % n.name)


if __name__ == "__main__":
    H.main()
