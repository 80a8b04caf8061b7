"""The .deb: built as "./dev package" builds it (cmake, then cpack -G DEB),
in a scratch build directory of its own (the tree's build dirs are left
alone), then taken apart, checked by lintian, and installed and run on
Debian 12 and Debian 13:

* dpkg-deb -c lists the binary, the unit (under /usr/lib, nothing under the
  aliased /lib, /bin, /sbin), the sysusers file, the config, both man pages
  (gzip'd), the copyright, the changelog, every example (conf/examples,
  conf/haproxy, conf/hooks), and the Prometheus rules and the Grafana
  dashboard under /usr/share/hapwatch (conf/prometheus, conf/grafana);
* dpkg-deb -I: package name, version from CMakeLists.txt's project(),
  dpkg's architecture, Depends exactly as dpkg-shlibdeps computes it for
  the packaged binary (libc6, libevent, json-c), plus the package of the
  libcurl.so.4 that hapwatch loads with dlopen(), adduser (the
  postinst) and procps (/bin/kill, the unit's ExecReload); Recommends
  haproxy; conffiles naming /etc/hapwatch/hapwatch.json; maintainer scripts
  that are valid sh and pass shellcheck;
* the copyright file is machine-readable and carries LICENSE; the changelog
  parses and its latest entry is the package's version;
* dpkg -x: the binary has Debian's hardening (relro, bindnow, PIE, stack
  protector, _FORTIFY_SOURCE) and is stripped as dh_strip strips; it runs
  "-c -f <root>/etc/hapwatch/hapwatch.json" and prints "configuration OK",
  and -V gives the package's version; the man pages render with man -l and
  groff -ww without a warning, and every complete JSON example in
  hapwatch.json(5) passes -c;
* the postinst, run with stand-ins for adduser, getent and the systemd
  helpers, creates the user, adds it to group haproxy, enables the unit
  and does not try to start it without systemd as PID 1;
* lintian, the host's and Debian 13's (in a fresh Debian 13 root): no
  error, no warning, and no other tag than those README.md's "Packaging"
  explains;
* in a fresh Debian 12 root and a fresh Debian 13 root (test/tools/mkroot
  builds and caches them, test/tools/inroot --fresh runs package_root.sh
  on a throw-away layer): "apt-get install ./hapwatch_*.deb" brings the
  release's libraries (Debian 13's t64 packages standing for the names
  dpkg-shlibdeps gave on 12); "hapwatch -c" passes on the shipped config
  as user hapwatch; then the release's HAProxy (its haproxy.cfg, the stats
  socket given to group haproxy) and hapwatch (user hapwatch, group
  haproxy, as the unit runs it) run in the foreground as pids this test
  owns, and from the host: the health path answers 200 "up" and the agent
  "up 100%", "hapwatch ctl status" (libcurl, loaded at run time) names
  that HAProxy's pid and version, the answer turns 503 "down" when the
  backend dies, and SIGTERM stops hapwatch with status 0. A package built
  on a newer release than the root must refuse to install there instead.

A missing tool (lintian, debootstrap, dpkg-dev...) or a root that cannot
be built is a failure, never a skip.
"""
import gzip
import json
import os
import re
import select
import shutil
import stat
import subprocess
import time

import harness as H
import operate as U

BUILD_TIMEOUT = 300.0
ROOT_TIMEOUT = 600.0	# debootstrap of a root (about 30 s near a mirror)
APT_TIMEOUT = 300.0	# one apt step inside a root
CURL_MIN = "7.85.0"	# CURLOPT_PROTOCOLS_STR; CMakeLists.txt's CPACK_HW_CURL_MIN

# The tools of these tests that operate does not know, with their package.
U.TOOLS.setdefault("dpkg-parsechangelog", ("/usr/bin/dpkg-parsechangelog",
                                           "dpkg-dev"))
U.TOOLS.setdefault("dpkg-query", ("/usr/bin/dpkg-query", "dpkg"))
U.TOOLS.setdefault("pkg-config", ("/usr/bin/pkg-config", "pkg-config"))
U.TOOLS.setdefault("readelf", ("/usr/bin/readelf", "binutils"))
U.TOOLS.setdefault("lintian", ("/usr/bin/lintian", "lintian"))
U.TOOLS.setdefault("debootstrap", ("/usr/sbin/debootstrap", "debootstrap"))

INROOT = os.path.join(H.TOOLS, "inroot")
MKROOT = os.path.join(H.TOOLS, "mkroot")
ROOT_SCRIPT = os.path.join(H.HERE, "package_root.sh")

# The releases the package is installed on: mkroot's name -> Debian's
# version, the HAProxy version it has, the packages that must provide the
# libraries there (Debian 13's t64 names standing for 12's).
RELEASES = {
    "bookworm": (12, "2.6.", ("libevent-core-2.1-7", "libjson-c5",
                              "libcurl4")),
    "trixie": (13, "3.0.", ("libevent-core-2.1-7t64", "libjson-c5",
                            "libcurl4t64")),
}

# lintian's informational tags that README.md ("Packaging") explains. Any
# other tag, and any error or warning, fails.
LINTIAN_EXPLAINED = {
    "package-supports-alternative-init-but-no-init.d-script",
}
LINTIAN_ARGS = ["--display-info", "--pedantic", "--display-experimental",
                "--show-overrides", "--fail-on", "error,warning"]


def host_release():
    """The build host's Debian version (12), or a large number for testing
    and unstable, which have none."""
    with open("/etc/os-release") as f:
        m = re.search(r'^VERSION_ID="?(\d+)', f.read(), re.M)
    return int(m.group(1)) if m else 1000


def mkroot(name):
    """The cached Debian root NAME (test/tools/mkroot builds it when
    missing); a root that cannot be built is a failure."""
    U.tool("debootstrap")
    r = U.run([MKROOT, name], timeout=ROOT_TIMEOUT)
    if r.returncode != 0:
        raise AssertionError("cannot build the Debian root %s: %s" % (
            name, r.stderr.strip()))
    return r.stdout.strip()


def lintian_tags(out):
    """lintian's output -> [(level letter, tag, the whole line)]."""
    return [(m.group(1), m.group(2), m.group(0)) for m in re.finditer(
        r"^([A-Z]): hapwatch(?: [a-z]+)?: ([a-z0-9][\w.+-]*).*$", out, re.M)]


def proc_state(pid):
    """(comm, state letter, ppid) of a pid, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat_line = f.read()
    except OSError:
        return None
    comm = stat_line[stat_line.index("(") + 1:stat_line.rindex(")")]
    rest = stat_line[stat_line.rindex(")") + 2:].split()
    return comm, rest[0], int(rest[1])


class RootRun:
    """package_root.sh in a fresh layer over a cached root (inroot
    --fresh): the test's child, killed with the test; its stdout lines
    read with deadlines, commands written to its stdin."""

    def __init__(self, env, root, args):
        shutil.copy(ROOT_SCRIPT, env.path("package_root.sh"))
        argv = [INROOT, "--fresh", root, "/bin/sh",
                env.path("package_root.sh")] + [str(a) for a in args]
        log_path = env.path("inroot.log")
        with open(log_path, "ab") as logf:
            p = subprocess.Popen(H.SETPRIV + argv, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=logf,
                                 cwd=env.dir)
        self.proc = H.Proc(env, "inroot", argv, log_path, p)
        env.procs.append(self.proc)	# env.close() ends it on every path
        self.buf = b""
        self.seen = []

    def _line(self, deadline, what):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            fd = self.proc.popen.stdout.fileno()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError("package_root.sh: no %s within the "
                                     "deadline; it said:\n%s" % (
                                         what, "\n".join(self.seen)))
            chunk = os.read(fd, 4096)
            if not chunk:
                rc = self.proc.popen.wait()
                raise AssertionError("package_root.sh exited %s before %s; "
                                     "it said:\n%s" % (rc, what,
                                                       "\n".join(self.seen)))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.decode("utf-8", "replace")
        self.seen.append(line)
        H.log("in the root: " + line)
        return line

    def expect(self, prefix, timeout):
        """Read lines until one starts with prefix; return them all."""
        deadline = time.monotonic() + timeout * H.SCALE
        got = []
        while not got or not got[-1].startswith(prefix):
            got.append(self._line(deadline, repr(prefix)))
        return got

    def fields(self, prefix, timeout):
        """The words after prefix on the line that starts with it."""
        return self.expect(prefix, timeout)[-1][len(prefix):].split()

    def send(self, cmd):
        self.proc.popen.stdin.write(cmd.encode() + b"\n")
        self.proc.popen.stdin.flush()

    def exit_status(self, timeout):
        """Close its stdin and wait for it to end."""
        self.proc.popen.stdin.close()
        rc = self.proc.wait(timeout)
        if rc is None:
            raise AssertionError("package_root.sh did not end within %.0fs"
                                 % (timeout * H.SCALE))
        return rc


def project_version():
    with open(os.path.join(H.SRC, "CMakeLists.txt")) as f:
        m = re.search(r"project\(hapwatch VERSION ([0-9.]+)", f.read())
    return m.group(1)


class PackageTest(H.Case):

    @classmethod
    def setUpClass(cls):
        """One build for every test of this file."""
        cls.env0 = H.Env(cls.__name__)
        try:
            cls.deb = cls.build_deb(cls.env0)
        except BaseException:
            cls.env0.close(True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env0.close(False)

    def setUp(self):
        super().setUp()
        # apt's sandbox user (_apt) and the users inside a root read the
        # .deb and the files here.
        os.chmod(self.env.dir, 0o755)

    @staticmethod
    def build_deb(env):
        build = env.path("build")
        cmake, cpack = U.tool("cmake"), U.tool("cpack")
        U.tool("dpkg-shlibdeps")	# CPACK_DEBIAN_PACKAGE_SHLIBDEPS
        U.run([cmake, "-S", H.SRC, "-B", build, "-DWERROR=ON",
               "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
              timeout=BUILD_TIMEOUT, check=True)
        U.run([cmake, "--build", build, "-j2"], timeout=BUILD_TIMEOUT,
              check=True)
        r = U.run([cpack, "-G", "DEB"], cwd=build, timeout=BUILD_TIMEOUT,
                  check=True)
        H.log(r.stdout.strip())
        debs = [f for f in os.listdir(build) if f.endswith(".deb")]
        if len(debs) != 1:
            raise AssertionError("cpack made %r:\n%s" % (debs, r.stdout))
        return os.path.join(build, debs[0])

    def expected_depends(self):
        """What Depends must be, worked out here the way Debian's tools do:
        dpkg-shlibdeps on the packaged binary (strictly: a library without
        package information fails), then the package that owns the
        libcurl.so.4 hapwatch was built against (it is dlopen()ed, so
        dpkg-shlibdeps cannot see it), then adduser (the postinst) and
        procps (/bin/kill, which the unit's ExecReload runs)."""
        root = self.extract()
        work = self.env.path("shlibdeps")
        os.makedirs(os.path.join(work, "debian"))
        open(os.path.join(work, "debian", "control"), "w").close()
        os.makedirs(os.path.join(root, "DEBIAN"), exist_ok=True)
        r = U.run([U.tool("dpkg-shlibdeps"), "-O",
                   "-e" + os.path.join(root, "usr", "bin", "hapwatch")],
                  cwd=work, check=True)
        self.assertEqual(r.stderr, "", "dpkg-shlibdeps warned")
        m = re.match(r"^shlibs:Depends=(.+)\n$", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        libdir = U.run([U.tool("pkg-config"), "--variable=libdir", "libcurl"],
                       check=True).stdout.strip()
        r = U.run([U.tool("dpkg-query"), "-S",
                   os.path.join(libdir, "libcurl.so.4")], check=True)
        curl = r.stdout.split(":")[0]
        return "%s, %s (>= %s), adduser, procps" % (m.group(1), curl,
                                                   CURL_MIN)

    def dpkg_deb(self, *args):
        return U.run([U.tool("dpkg-deb")] + list(args) + [self.deb],
                     check=True).stdout

    def extract(self):
        root = self.env.path("root")
        if not os.path.isdir(root):
            U.run([U.tool("dpkg-deb"), "-x", self.deb, root], check=True)
        return root

    def test_contents(self):
        listing = self.dpkg_deb("-c")
        files = {}
        for line in listing.splitlines():
            parts = line.split()
            path = parts[5]
            files[path[1:] if path.startswith("./") else path] = parts[0]
        want = {
            "/usr/bin/hapwatch": "-rwxr-xr-x",
            "/usr/lib/systemd/system/hapwatch.service": "-rw-r--r--",
            "/usr/lib/sysusers.d/hapwatch.conf": "-rw-r--r--",
            "/etc/hapwatch/hapwatch.json": "-rw-r--r--",
            "/usr/share/man/man8/hapwatch.8.gz": "-rw-r--r--",
            "/usr/share/man/man5/hapwatch.json.5.gz": "-rw-r--r--",
            "/usr/share/doc/hapwatch/copyright": "-rw-r--r--",
            "/usr/share/doc/hapwatch/changelog.gz": "-rw-r--r--",
        }
        ex = "/usr/share/doc/hapwatch/examples/"
        conf = os.path.join(H.SRC, "conf")
        for sub, dest in (("examples", ex), ("haproxy", ex + "haproxy/"),
                          ("hooks", ex + "hooks/")):
            top = os.path.join(conf, sub)
            for d, _, names in os.walk(top):
                for n in names:
                    rel = os.path.relpath(os.path.join(d, n), top)
                    exe = os.access(os.path.join(d, n), os.X_OK)
                    want[dest + rel] = "-rwxr-xr-x" if exe else "-rw-r--r--"
        share = "/usr/share/hapwatch/"
        for sub in ("prometheus", "grafana"):
            top = os.path.join(conf, sub)
            for n in os.listdir(top):
                want[share + sub + "/" + n] = "-rw-r--r--"
        self.assertIn(share + "prometheus/hapwatch.rules.yml", want)
        self.assertIn(share + "prometheus/hapwatch.rules.test.yml", want)
        self.assertIn(share + "grafana/hapwatch.json", want)
        self.assertIn(ex + "haproxy/server-state.cfg", want)
        self.assertIn(ex + "haproxy/log-trigger.cfg", want)
        self.assertIn(ex + "haproxy/haproxy.service.d/hapwatch-state.conf",
                      want)
        missing = sorted(set(want) - set(files))
        self.assertEqual(missing, [], "not in the package:\n" + listing)
        for path, mode in want.items():
            self.assertEqual(files[path], mode, path)
        # Nothing of the build or the tests slips in, and nothing goes to
        # /lib, /bin or /sbin, which merged /usr makes aliases (lintian's
        # aliased-location on Debian 13).
        for path, mode in files.items():
            self.assertNotRegex(path, r"^/(lib|bin|sbin)(/|$)", path)
            if mode.startswith("d"):
                continue
            self.assertRegex(path, r"^/(usr/(bin|lib/sysusers\.d|lib/systemd/"
                             r"system|share/(man|doc/hapwatch|hapwatch))|etc/"
                             r"hapwatch)(/|$)", path)

    def test_control(self):
        info = self.dpkg_deb("-I")
        H.log("dpkg-deb -I:\n" + info)
        fields = dict(re.findall(r"^ ([A-Z][\w-]*): (.*)$", info, re.M))
        self.assertEqual(fields["Package"], "hapwatch")
        self.assertEqual(fields["Version"], project_version())
        arch = U.run(["dpkg", "--print-architecture"], check=True)
        self.assertEqual(fields["Architecture"], arch.stdout.strip())
        self.assertEqual(fields["Depends"], self.expected_depends(),
                         "Depends is not dpkg-shlibdeps' + libcurl + adduser "
                         "+ procps")
        deps = [d.strip().split()[0] for d in fields["Depends"].split(",")]
        for lib in ("libc6", "libjson-c5", "adduser", "procps"):
            self.assertIn(lib, deps, fields["Depends"])
        for lib in ("libevent-core-2.1-7", "libcurl4"):
            self.assertTrue(any(d.startswith(lib) for d in deps),
                            (lib, fields["Depends"]))
        self.assertNotRegex(fields["Depends"], r"lib(asan|ubsan|cmocka)",
                            "a test or sanitizer library in Depends")
        self.assertEqual(fields["Recommends"], "haproxy")
        for name in ("conffiles", "postinst", "prerm", "postrm"):
            self.assertRegex(info, r"\n\s+\d+ bytes,\s+\d+ lines\s+\*?\s*%s\b"
                             % name)
        r = U.run([U.tool("dpkg-deb"), "-I", self.deb, "conffiles"],
                  check=True)
        self.assertEqual(r.stdout, "/etc/hapwatch/hapwatch.json\n")
        ctrl = self.env.path("control")
        U.run([U.tool("dpkg-deb"), "-e", self.deb, ctrl], check=True)
        for name in ("postinst", "prerm", "postrm"):
            p = os.path.join(ctrl, name)
            self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o755, name)
            U.run(["/bin/sh", "-n", p], check=True)
            U.run([U.tool("shellcheck"), "-s", "sh", p], check=True)

    def test_copyright(self):
        """Debian's machine-readable format, with LICENSE's notice and
        text."""
        root = self.extract()
        with open(os.path.join(root, "usr", "share", "doc", "hapwatch",
                               "copyright")) as f:
            text = f.read()
        with open(os.path.join(H.SRC, "LICENSE")) as f:
            lic = f.read()
        self.assertTrue(text.startswith(
            "Format: https://www.debian.org/doc/packaging-manuals/"
            "copyright-format/1.0/\n"), text[:200])
        paras = [dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", p, re.M))
                 for p in text.strip().split("\n\n")]
        self.assertEqual(paras[0].get("Upstream-Name"), "hapwatch")
        self.assertEqual(paras[1].get("Files"), "*")
        notice = re.search(r"^Copyright \(c\) (.+)$", lic, re.M).group(1)
        self.assertEqual(paras[1].get("Copyright"), notice)
        self.assertEqual(paras[1].get("License"), "BSD-2-Clause")
        self.assertEqual(paras[2].get("License"), "BSD-2-Clause")
        # The license text, unfolded, is LICENSE's after the notice.
        body = text.split("\nLicense: BSD-2-Clause\n", 2)[2]
        unfolded = "\n".join("" if l == " ." else l[1:]
                             for l in body.rstrip("\n").split("\n"))
        self.assertEqual(unfolded, lic.split(notice, 1)[1].strip())

    def test_changelog(self):
        """changelog.gz (a native package's), whose latest entry is this
        version, as dpkg-parsechangelog reads it."""
        root = self.extract()
        gz = os.path.join(root, "usr", "share", "doc", "hapwatch",
                          "changelog.gz")
        plain = self.env.path("changelog")
        with gzip.open(gz, "rb") as f, open(plain, "wb") as g:
            g.write(f.read())
        with open(plain, "rb") as f, open(os.path.join(
                H.SRC, "systemd", "deb", "changelog"), "rb") as g:
            self.assertEqual(f.read(), g.read())
        r = U.run([U.tool("dpkg-parsechangelog"), "-l", plain], check=True)
        self.assertEqual(r.stderr, "", "dpkg-parsechangelog warned")
        fields = dict(re.findall(r"^([A-Z][\w-]*): (.*)$", r.stdout, re.M))
        self.assertEqual(fields["Source"], "hapwatch")
        self.assertEqual(fields["Version"], project_version())
        info = self.dpkg_deb("-I")
        self.assertIn(" Maintainer: %s\n" % fields["Maintainer"], info)

    def test_extracted_binary_and_man_pages(self):
        root = self.extract()
        binp = os.path.join(root, "usr", "bin", "hapwatch")
        r = U.run([U.tool("file"), "-b", binp], check=True)
        self.assertIn("ELF", r.stdout)
        self.assertIn(", stripped", r.stdout)
        cfg = os.path.join(root, "etc", "hapwatch", "hapwatch.json")
        r = U.run([binp, "-c", "-f", cfg])
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "configuration OK\n", ""))
        r = U.run([binp, "-V"], check=True)
        self.assertEqual(r.stdout, "hapwatch %s\n" % project_version())
        with open(cfg, "rb") as f, \
                open(os.path.join(H.SRC, "conf", "hapwatch.json"), "rb") as g:
            self.assertEqual(f.read(), g.read())

        # The man pages: gzip'd, rendered without a warning.
        for page, sec, title in (("hapwatch.8", "8", "HAPWATCH(8)"),
                                 ("hapwatch.json.5", "5",
                                  "HAPWATCH.JSON(5)")):
            gz = os.path.join(root, "usr", "share", "man", "man" + sec,
                              page + ".gz")
            with gzip.open(gz, "rb") as f:
                src = f.read()
            with open(os.path.join(H.SRC, "conf", "man", page), "rb") as f:
                self.assertEqual(src, f.read(), page)
            plain = self.env.path(page)
            with open(plain, "wb") as f:
                f.write(src)
            r = U.run([U.tool("groff"), "-man", "-Tutf8", "-ww", "-z", plain])
            self.assertEqual((r.returncode, r.stderr), (0, ""),
                             "groff warnings in " + page)
            env = dict(os.environ, MANWIDTH="80", MAN_KEEP_STDERR="1",
                       LC_ALL="C.UTF-8")
            r = U.run([U.tool("man"), "-l", gz], env=env)
            self.assertEqual((r.returncode, r.stderr), (0, ""), page)
            self.assertTrue(r.stdout.startswith(title), r.stdout[:200])
            for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
                self.assertRegex(r.stdout, r"\n%s\n" % section, page)
            self.assertLessEqual(max(len(l) for l in
                                     r.stdout.splitlines()), 132, page)

    def test_binary_hardening(self):
        """Built with dpkg-buildflags' hardening (what lintian's hardening-*
        tags look for) and stripped as dh_strip strips."""
        binp = os.path.join(self.extract(), "usr", "bin", "hapwatch")
        readelf = U.tool("readelf")
        dyn = U.run([readelf, "-d", binp], check=True).stdout
        self.assertRegex(dyn, r"\(FLAGS\)\s+BIND_NOW", "bindnow")
        self.assertRegex(dyn, r"\(FLAGS_1\)\s+Flags: NOW PIE", "pie")
        hdr = U.run([readelf, "-lW", binp], check=True).stdout
        self.assertIn("GNU_RELRO", hdr, "relro")
        syms = U.run([readelf, "--dyn-syms", "-W", binp], check=True).stdout
        self.assertIn("__stack_chk_fail", syms, "stack protector")
        self.assertRegex(syms, r"__\w+_chk@", "_FORTIFY_SOURCE")
        sections = U.run([readelf, "-SW", binp], check=True).stdout
        for name in (".comment", ".note ", ".symtab", ".debug_info"):
            self.assertNotIn(name, sections)

    def test_man_examples_are_valid(self):
        """Each JSON example of hapwatch.json(5) that is a whole file passes
        hapwatch -c; the parts are checked inside a minimal file."""
        with open(os.path.join(H.SRC, "conf", "man", "hapwatch.json.5")) as f:
            src = f.read()
        blocks = re.findall(r"^\.EX\n(.*?)^\.EE\n", src, re.S | re.M)
        checked = 0
        for i, b in enumerate(blocks):
            text = b.replace("\\-", "-").replace("\\e", "\\")
            if not text.lstrip().startswith(("{", '"')):
                continue
            if text.lstrip().startswith('"'):
                # A fragment: members of the top-level object.
                frag = json.loads("{" + text + "}")
                doc = {"services": {"web": {"require": [{"backend": "b"}]}}}
                doc.update(frag)
            else:
                doc = json.loads(text)
            p = self.env.path("example%d.json" % i)
            with open(p, "w") as f:
                json.dump(doc, f)
            r = U.run([H.hapwatch_bin(), "-c", "-f", p])
            self.assertEqual((r.returncode, r.stdout, r.stderr),
                             (0, "configuration OK\n", ""),
                             "example %d of hapwatch.json(5):\n%s" % (i, text))
            checked += 1
        self.assertGreaterEqual(checked, 4)

    def test_postinst(self):
        """postinst configure with stand-ins that log their arguments."""
        ctrl = self.env.path("control")
        U.run([U.tool("dpkg-deb"), "-e", self.deb, ctrl], check=True)
        bindir = self.env.path("stubs")
        os.makedirs(bindir)
        calls = self.env.path("calls")
        stub = ("#!/bin/sh\necho \"$(basename \"$0\") $*\" >> %s\n" % calls)
        for name in ("adduser", "deb-systemd-helper", "deb-systemd-invoke",
                     "systemctl"):
            with open(os.path.join(bindir, name), "w") as f:
                f.write(stub + "exit 0\n")
        # getent: no user hapwatch yet, group haproxy exists. A first
        # install: deb-systemd-helper's was-enabled answers yes (exit 0, as
        # the real one does when it has no state for the unit).
        with open(os.path.join(bindir, "getent"), "w") as f:
            f.write(stub + '[ "$1 $2" = "group haproxy" ] && '
                    'echo "haproxy:x:105:" && exit 0\nexit 2\n')
        for n in os.listdir(bindir):
            os.chmod(os.path.join(bindir, n), 0o755)
        env = {"PATH": bindir + ":/usr/bin:/bin"}
        r = U.run(["/bin/sh", os.path.join(ctrl, "postinst"), "configure",
                   ""], env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(calls) as f:
            got = f.read().splitlines()
        H.log("postinst calls:\n" + "\n".join(got))
        self.assertIn("adduser --system --group --no-create-home --home "
                      "/nonexistent --gecos hapwatch daemon --quiet hapwatch",
                      got)
        self.assertIn("adduser --quiet hapwatch haproxy", got)
        self.assertIn("deb-systemd-helper enable hapwatch.service", got)
        if not os.path.isdir("/run/systemd/system"):
            self.assertFalse([c for c in got if c.startswith(
                ("systemctl", "deb-systemd-invoke"))],
                "tried to start without systemd: %r" % got)
        for script in ("prerm", "postrm"):
            for arg in ("remove", "purge", "upgrade"):
                if script == "postrm" and arg == "purge":
                    continue	# it removes /var/lib/hapwatch for real
                r = U.run(["/bin/sh", os.path.join(ctrl, script), arg],
                          env=env)
                self.assertEqual(r.returncode, 0, (script, arg, r.stderr))

    # ---- lintian ---------------------------------------------------------

    def assert_lintian_clean(self, rc, out, who):
        H.log("lintian of %s:\n%s" % (who, out))
        tags = lintian_tags(out)
        bad = [line for level, tag, line in tags
               if level in "EW" or tag not in LINTIAN_EXPLAINED]
        self.assertEqual(bad, [], "lintian of %s" % who)
        self.assertEqual(rc, 0, "lintian of %s:\n%s" % (who, out))

    def test_lintian(self):
        """The host's lintian (Debian 12's on the CI host)."""
        r = U.run([U.tool("lintian")] + LINTIAN_ARGS + [self.deb],
                  timeout=APT_TIMEOUT)
        self.assertNotRegex(r.stderr, r"(?m)^(?!running with root).+",
                            "lintian complained: " + r.stderr)
        self.assert_lintian_clean(r.returncode, r.stdout, "the host")

    def test_lintian_debian13(self):
        """Debian 13's lintian, in a fresh Debian 13 root."""
        root = mkroot("trixie")
        deb = self.env.path(os.path.basename(self.deb))
        shutil.copy(self.deb, deb)
        log = self.env.path("apt.log")
        script = ('export DEBIAN_FRONTEND=noninteractive; '
                  'apt-get update -q >%s 2>&1 && '
                  'apt-get install -y -q lintian >>%s 2>&1 || exit 100; '
                  'exec lintian "$@" 2>&1' % (log, log))
        r = U.run([INROOT, "--fresh", root, "/bin/sh", "-c", script,
                   "lintian"] + LINTIAN_ARGS + [deb], timeout=2 * APT_TIMEOUT)
        if r.returncode == 100:
            raise AssertionError("cannot install lintian in the Debian 13 "
                                 "root:\n" + H.tail(log, 30))
        out = "\n".join(l for l in r.stdout.splitlines()
                        if not l.startswith("running with root"))
        self.assert_lintian_clean(r.returncode, out, "Debian 13")

    # ---- installed and run on each release -------------------------------

    def test_debian12(self):
        self.install_and_run("bookworm")

    def test_debian13(self):
        self.install_and_run("trixie")

    def install_and_run(self, name):
        try:
            self._install_and_run(name)
        except AssertionError as e:
            logs = sorted(n for n in os.listdir(self.env.dir)
                          if n.endswith((".log", ".err", ".out")))
            raise AssertionError("%s\n%s" % (e, "".join(
                "\n---- %s ----\n%s\n" % (n, H.tail(self.env.path(n), 30))
                for n in logs))) from None

    def _install_and_run(self, name):
        release, haproxy_prefix, libs = RELEASES[name]
        root = mkroot(name)
        deb = self.env.path(os.path.basename(self.deb))
        shutil.copy(self.deb, deb)
        backends = self.backends()
        app = backends.add("app")
        with open(self.env.path("backend.cfg"), "w") as f:
            f.write(H.hap_backend("be_app", [app]))
        http_port, agent_port = self.env.port(), self.env.port()
        run = RootRun(self.env, root, [deb, self.env.dir, http_port,
                                       agent_port])

        # apt-get install ./hapwatch_*.deb, with the release's libraries.
        run.expect("step install-hapwatch", APT_TIMEOUT)
        if host_release() > release:
            # Built on a newer release: it must not install on this one.
            rc = run.exit_status(APT_TIMEOUT)
            self.assertNotEqual(rc, 0, "a package built on Debian %d "
                                "installed on Debian %d" % (host_release(),
                                                            release))
            with open(self.env.path("install-hapwatch.log")) as f:
                self.assertIn("unmet dependencies", f.read())
            return
        lines = run.expect("step check", APT_TIMEOUT)
        installed = dict(l.split()[1:3] for l in lines
                         if l.startswith("installed "))
        self.assertEqual(installed.get("hapwatch"), project_version(),
                         lines)
        for lib in libs:
            self.assertIn(lib, installed, "Debian %d: %s not installed: %r"
                          % (release, lib, installed))

        # hapwatch -c on the shipped config, as user hapwatch.
        self.assertEqual(run.fields("checked ", H.T_START), ["0"])
        with open(self.env.path("check.out")) as f, \
                open(self.env.path("check.err")) as g:
            self.assertEqual((f.read(), g.read()), ("configuration OK\n", ""))

        # The release's HAProxy, then both running as this test's pids.
        version = run.fields("haproxy ", APT_TIMEOUT)
        self.assertTrue(version and version[0].startswith(haproxy_prefix),
                        version)
        hp, hw = (int(x) for x in run.fields("running ", H.T_START))
        for pid, comm in ((hp, "haproxy"), (hw, "hapwatch")):
            def execd(pid=pid, comm=comm):
                st = proc_state(pid)
                if st is None or st[1] == "Z":
                    raise AssertionError("%s (pid %d) exited" % (comm, pid))
                self.assertEqual(st[2], run.proc.pid, "%s's parent" % comm)
                return st[0] == comm	# setpriv until it execs
            H.wait_for(execd, H.T_START, "pid %d to be %s" % (pid, comm))

        def health(code):
            def answered():
                for pid in (hp, hw):
                    st = proc_state(pid)
                    if st is None or st[1] == "Z":
                        raise AssertionError("pid %d exited" % pid)
                st, body = H.get(http_port, "/haproxy_status")
                return (st, body) if st == code else None
            return H.wait_for(answered, H.T_START + 10, "%d on "
                              "/haproxy_status" % code)[1]

        # From the host: up once HAProxy has answered and settled (5s).
        body = health(200)
        self.assertTrue(body.startswith("up"), body)
        self.assertEqual(H.agent(agent_port), b"up 100%\n")

        # hapwatch ctl (libcurl, loaded at run time) sees that HAProxy.
        run.send("ctl")
        self.assertEqual(run.fields("ctl ", H.T_START), ["0"])
        with open(self.env.path("ctl.out")) as f:
            status = json.load(f)
        self.assertEqual(status["haproxy"]["pid"], hp)
        self.assertTrue(status["haproxy"]["version"].startswith(
            haproxy_prefix), status["haproxy"])
        self.assertEqual(status["services"]["default"]["state"], "up")

        # Its answers follow that HAProxy's checks.
        backends.stop("app")
        body = health(503)
        self.assertTrue(body.startswith("down"), body)

        run.send("stop")
        self.assertEqual(run.fields("exited hapwatch ", H.T_STOP), ["0"])
        run.expect("finished", H.T_STOP)
        self.assertEqual(run.exit_status(H.T_STOP), 0)
        for pid in (hp, hw):
            self.assertIsNone(proc_state(pid), "pid %d is still there" % pid)


if __name__ == "__main__":
    H.main()
