"""`hapwatch -c`: the config check, on the test/conf corpus and the command
line's quick options.

good-*.json: "configuration OK" on stdout, exit 0. bad-*.json: exit 1 and,
on stderr, exactly the lines declared by the file's leading `// expect:`
comments, each prefixed with the file name as given on the command line
("<path>: " + message; a syntax error's ":LINE:COL: ..." gets just
"<path>"), in the declared order: the convention of test/unit/test_conf.c,
which checks the loader itself, here checked on the binary's stderr.
"""
import glob
import os
import re
import subprocess

import harness as H

CONF_DIR = os.path.join(H.SRC, "test", "conf")
DEFAULT_FILE = "/etc/hapwatch/hapwatch.json"


def expectations(path):
    """The `// expect: ` lines that start the file."""
    out = []
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line.startswith("// expect: "):
                break
            out.append(line[len("// expect: "):])
    return out


class ConfigCheckTest(H.Case):

    def run_hw(self, *args, cwd=None, env=None):
        e = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        e.update(env or {})
        p = subprocess.run([H.hapwatch_bin()] + list(args), cwd=cwd or
                           self.env.dir, stdin=subprocess.DEVNULL, env=e,
                           capture_output=True, timeout=30 * H.SCALE)
        return p.returncode, p.stdout.decode("utf-8", "replace"), \
            p.stderr.decode("utf-8", "replace")

    def assert_ok(self, *args, cwd=None):
        rc, out, err = self.run_hw("-c", *args, cwd=cwd)
        self.assertEqual((rc, out), (0, "configuration OK\n"),
                         "hapwatch -c %s: stderr %r" % (" ".join(args), err))
        return err

    def test_errors_at_err_priority_under_journald(self):
        """Under systemd (JOURNAL_STREAM set), ExecStartPre's and
        ExecReload's "hapwatch -c" print every error with the err priority
        prefix, so "journalctl -p err" shows why a reload failed; the
        result line on stdout stays as it is."""
        journal = {"JOURNAL_STREAM": "8:123456"}
        name = "bad-duplicate-key.json"
        want = [name + ": " + m if not m.startswith(":") else name + m
                for m in expectations(os.path.join(CONF_DIR, name))]
        rc, out, err = self.run_hw("-c", "-f", name, cwd=CONF_DIR,
                                   env=journal)
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(err.splitlines(), ["<3>" + l for l in want])
        # The same file without journald: no prefix.
        self.assertEqual(self.run_hw("-c", "-f", name, cwd=CONF_DIR)[2],
                         "".join(l + "\n" for l in want))
        # A command-line error too.
        rc, _, err = self.run_hw("-c", "--log-level", "loud", env=journal)
        self.assertEqual(rc, 1)
        self.assertEqual(err, '<3>hapwatch: unknown log level "loud"\n')
        rc, out, err = self.run_hw("-c", env=journal)
        self.assertEqual((rc, out), (0, "configuration OK\n"), err)
        # hapwatch ctl as an ExecStop or ExecStartPost: its errors too.
        sock = os.path.join(CONF_DIR, "no-such-admin.sock")
        rc, _, err = self.run_hw("ctl", "-s", sock, "status", env=journal)
        self.assertEqual((rc, err), (3, "<3>hapwatch ctl: %s does not exist: "
                                     "is hapwatch running, with an admin "
                                     "listener there?\n" % sock))

    def test_good_files(self):
        files = sorted(glob.glob(os.path.join(CONF_DIR, "good-*.json")))
        self.assertTrue(files, "no good-*.json in %s" % CONF_DIR)
        for path in files:
            name = os.path.basename(path)
            with self.subTest(file=name):
                err = self.assert_ok("-f", name, cwd=CONF_DIR)
                if err:
                    H.log("%s: stderr %r" % (name, err))

    def test_shipped_files(self):
        """Every config we ship: the annotated default and the examples."""
        src = os.environ.get("HAPWATCH_SRC") or os.path.dirname(
            os.path.dirname(CONF_DIR))
        files = [os.path.join(src, "conf", "hapwatch.json")] + sorted(
            glob.glob(os.path.join(src, "conf", "examples", "**", "*.json"),
                      recursive=True))
        self.assertGreaterEqual(len(files), 7, files)
        for path in files:
            with self.subTest(file=os.path.relpath(path, src)):
                self.assert_ok("-f", path)

    def test_bad_files(self):
        files = sorted(glob.glob(os.path.join(CONF_DIR, "bad-*.json")))
        self.assertTrue(files, "no bad-*.json in %s" % CONF_DIR)
        for path in files:
            name = os.path.basename(path)
            with self.subTest(file=name):
                want = [name + e if e.startswith(":") else name + ": " + e
                        for e in expectations(path)]
                self.assertTrue(want, "%s declares no // expect: line" % name)
                rc, out, err = self.run_hw("-c", "-f", name, cwd=CONF_DIR)
                got = err.splitlines()
                self.assertEqual(rc, 1, "exit status; stderr %r" % err)
                self.assertEqual(out, "", "stdout of a failed check")
                self.assertEqual(got, want, "stderr lines")

    def test_missing_file(self):
        path = self.env.path("nope.json")
        rc, out, err = self.run_hw("-c", "-f", path)
        self.assertEqual(rc, 1, err)
        self.assertEqual(out, "")
        self.assertIn(path, err)

    def test_quick_options(self):
        self.assertFalse(os.path.exists(DEFAULT_FILE), "%s exists on this "
                         "machine: the built-in default cannot be tested" %
                         DEFAULT_FILE)
        # Built-in default, then each quick option over it.
        self.assert_ok()
        self.assert_ok("--stats", "unix:" + self.env.path("admin.sock"))
        self.assert_ok("--stats", "tcp:127.0.0.1:9999")
        self.assert_ok("--stats", "http://127.0.0.1:8404/stats")
        self.assert_ok("--http", "127.0.0.1:18080")
        self.assert_ok("--agent", "127.0.0.1:19707")
        self.assert_ok("--backend", "webapp")
        self.assert_ok("--stats", "unix:" + self.env.path("admin.sock"),
                       "--http", "127.0.0.1:18080", "--agent",
                       "127.0.0.1:19707", "--backend", "webapp",
                       "--backend", "api", "--log-level", "debug")
        # Over a file.
        self.assert_ok("-f", os.path.join(CONF_DIR, "good-minimal.json"),
                       "--http", "127.0.0.1:18080", "--backend", "x")
        # Wrong values are config errors.
        for args in (("--stats", "ftp://127.0.0.1/x"),
                     ("--http", "not an address"),
                     ("--log-level", "loud")):
            rc, out, err = self.run_hw("-c", *args)
            self.assertEqual(rc, 1, "%r: stdout %r stderr %r" % (args, out,
                                                                  err))
            self.assertNotIn("configuration OK", out)
            self.assertTrue(err.strip(), "%r: no error message" % (args,))

    def test_version_and_help(self):
        with open(os.path.join(H.SRC, "CMakeLists.txt")) as f:
            version = re.search(r"project\(hapwatch VERSION ([0-9.]+)",
                                f.read()).group(1)
        for opt in ("-V", "--version"):
            rc, out, err = self.run_hw(opt)
            self.assertEqual((rc, out), (0, "hapwatch %s\n" % version), err)
        rc, out, err = self.run_hw("-h")
        self.assertEqual(rc, 0, err)
        self.assertIn("usage: hapwatch", out)


if __name__ == "__main__":
    H.main()
