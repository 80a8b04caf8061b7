#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets: test/fuzz/corpus/<name>/.

Run from anywhere: python3 test/fuzz/seeds.py. It copies the real inputs
already in the tree (the HAProxy 2.6, 3.0, 3.2 and 3.4 captures of
test/unit/data/ that capture_versions.py wrote, the configs in test/conf/
and conf/) and writes the small ones that have no file of their own (AWS
probe requests, PROXY headers, agent-send lines, durations, HAPROXY.md
section 6 log lines). Files named live26_* are not written here: they
were captured once from Debian's HAProxy 2.6.12 (see README.md) and are
kept as they are.

Seeds of poll_reply start with one byte, the poll plan (fuzz_poll_reply.c):
bit 7 targeted, bits 0-5 the number of "show stat" outputs asked for.
"""
import os
import shutil
import struct

FUZZ = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(FUZZ))
DATA = os.path.join(TOP, "test", "unit", "data")
CORPUS = os.path.join(FUZZ, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy(target, src, name=None):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(src, os.path.join(d, name or os.path.basename(src)))


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- stats_csv, show_info, poll_reply: HAProxy's own output -------------

# The captures of test/unit/data/ (capture_versions.py), one set per
# HAProxy version: hapMN_<what>.
VERSIONS = ["hap26", "hap30", "hap32", "hap34"]
CSV = ["show_stat.csv", "show_stat_-1_2_-1.csv", "show_stat_-1_2_-1_up.csv",
       "show_stat_web_6_-1.csv", "show_stat_agents_6_-1.csv",
       "show_stat_fe_only_2_-1.txt", "show_stat_nosuch_2_-1.txt",
       "stats_page.csv", "show_stat_startup.csv"]
CSV_ONCE = {"hap26": ["show_stat_reversed.csv", "show_stat_-1_4_-1.csv"],
            "hap34": ["show_stat_unpub_6_-1.csv"]}
# Whole replies: the poll plan byte comes from the command line the
# capture sent (hapMN_captures.txt).
POLLS = ["poll_targeted.txt", "poll_error_mid.txt", "poll_all2.txt",
         "poll_all6.txt"]


def project(csv_text, cols):
    """The rows of a capture cut to the columns the parser reads: small
    seeds the fuzzer mutates faster, with the real values."""
    lines = csv_text.decode().rstrip("\n").split("\n")
    hdr = lines[0][2:].rstrip(",").split(",")
    idx = [hdr.index(c) for c in cols]
    out = ["# " + "".join(c + "," for c in cols)]
    for line in lines[1:]:
        f = line.rstrip(",").split(",")
        if len(f) != len(hdr):
            continue            # a quoted comma: keep the seed simple
        out.append("".join(f[i] + "," for i in idx))
    return ("\n".join(out) + "\n\n").encode()


def cap(ver, what):
    return read(os.path.join(DATA, "%s_%s" % (ver, what)))


def commands(ver):
    """{file name: command line} from hapMN_captures.txt."""
    out = {}
    for line in cap(ver, "captures.txt").decode().splitlines():
        name, _, how = line.partition("\t")
        if ": " in how:
            out[name] = how.split(": ", 1)[1].split(" (")[0]
    return out


def plan_byte(cmd):
    """fuzz_poll_reply.c's plan byte for a poll line."""
    stats = cmd.split(";")[1:]
    targeted = not stats[0].startswith("show stat -1 ")
    assert 0 < len(stats) < 64
    return bytes([(0x80 if targeted else 0) | len(stats)])


def cli_texts(ver):
    """hapMN_cli_texts.txt cut into its answers: [(header, answer)]."""
    text = cap(ver, "cli_texts.txt")
    out = []
    for part in (b"\n" + text).split(b"\n>>> ")[1:]:
        head, _, answer = part.partition(b"\n")
        out.append((head.decode(), answer))
    return out


def clean(target):
    """Seeds named hap* are all written here: drop the old ones."""
    d = os.path.join(CORPUS, target)
    for f in os.listdir(d) if os.path.isdir(d) else []:
        if f.startswith("hap"):
            os.unlink(os.path.join(d, f))


def stats_seeds():
    for t in ("stats_csv", "show_info", "poll_reply"):
        clean(t)
    texts = set()           # HAProxy's answers, each once
    for ver in VERSIONS:
        for f in CSV + CSV_ONCE.get(ver, []):
            put("stats_csv", "%s_%s" % (ver, f), cap(ver, f))
        put("show_info", "%s_show_info.txt" % ver, cap(ver, "show_info.txt"))
        for i, (head, answer) in enumerate(cli_texts(ver)):
            if not answer.startswith(b"# ") and answer not in texts:
                texts.add(answer)
                put("show_info", "%s_cli_text_%02d" % (ver, i), answer)
        cmd = commands(ver)
        for f in POLLS:
            name = "%s_%s" % (ver, f)
            put("poll_reply", name, plan_byte(cmd[name]) + cap(ver, f))
    cols = ["pxname", "svname", "status", "weight", "act", "bck", "type",
            "stot"]
    put("stats_csv", "min_show_stat", project(
        cap("hap34", "show_stat.csv"), cols))
    put("stats_csv", "min_reordered", project(
        cap("hap26", "show_stat_be_6_-1.csv"), list(reversed(cols))))
    put("stats_csv", "min_startup", project(
        cap("hap34", "show_stat_startup.csv"), cols))
    put("stats_csv", "quoted_name",
        '# pxname,svname,status,weight,act,bck,type,\n'
        '"a,""b""",BACKEND,UP,1,1,0,1,\n'
        '"a,""b""",s1,"UP 1/2",1,1,0,2,\n\n')

    info = cap("hap26", "show_info.txt")
    # The old process of a reload (HAPROXY.md section 7).
    put("show_info", "stopping", info.replace(b"Stopping: 0", b"Stopping: 1"))
    put("show_info", "min",
        "Pid: 9332\nUptime_sec: 5\nStopping: 0\nVersion: 2.6.12\n\n")

    # Whole replies assembled from the 2.6.12 captures.
    put("poll_reply", "all2", b"\x01" + info +
        cap("hap26", "show_stat_-1_2_-1.csv"))
    put("poll_reply", "targeted", b"\x83" + info +
        cap("hap26", "show_stat_web_6_-1.csv") +
        cap("hap26", "show_stat_nosuch_2_-1.txt") +
        cap("hap26", "show_stat_agents_6_-1.csv"))
    put("poll_reply", "multi", b"\x84" + info +
        cap("hap26", "show_stat_multi.txt"))
    put("poll_reply", "stopping", b"\x01" +
        info.replace(b"Stopping: 0", b"Stopping: 1") +
        cap("hap26", "show_stat_-1_2_-1.csv"))
    put("poll_reply", "min", b"\x82" +
        b"Pid: 9332\nUptime_sec: 5\nStopping: 0\nVersion: 2.6.12\n\n" +
        project(cap("hap26", "show_stat_be_6_-1.csv"),
                ["pxname", "svname", "status", "weight", "act", "bck",
                 "type"]) +
        b"No such proxy.\n\n")


# ---- config --------------------------------------------------------------

def config_seeds():
    for d in (os.path.join(TOP, "test", "conf"), os.path.join(TOP, "conf"),
              os.path.join(TOP, "conf", "examples")):
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(".json"):
                prefix = "" if d.endswith("test/conf") else "conf_"
                copy("config", os.path.join(d, f), prefix + f)
    minimal = read(os.path.join(TOP, "test", "conf", "good-minimal.json"))
    # Quick options, as fuzz_config.c reads them from "//@" comments.
    put("config", "overrides.json", minimal +
        b"//@stats tcp:127.0.0.1:9999\n//@http 127.0.0.1:8081\n"
        b"//@agent [::1]:9707\n//@backend app\n//@backend api\n")
    put("config", "overrides-bad.json", minimal +
        b"//@stats nope\n//@http :0\n//@backend bad name\n")


# ---- http_head: what probes and operators send ---------------------------

HTTP = {
    # AWS ALB and NLB (HTTP health check) and Classic ELB, as in
    # test/unit/test_http_parse.c.
    "alb": "GET /haproxy_status HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"
           "User-Agent: ELB-HealthChecker/2.0\r\n"
           "Accept-Encoding: gzip, compress, deflate\r\n\r\n",
    "nlb": "GET /haproxy_status HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"
           "Connection: close\r\nUser-Agent: ELB-HealthChecker/2.0\r\n"
           "Accept-Encoding: gzip, compress, deflate\r\n\r\n",
    "classic_elb": "GET /haproxy_status HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"
                   "User-Agent: ELB-HealthChecker/1.0\r\nAccept: */*\r\n\r\n",
    "haproxy_httpchk": "HEAD /haproxy_status HTTP/1.0\r\n\r\n",
    "curl_status": "GET /status HTTP/1.1\r\nHost: localhost\r\n"
                   "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    "admin_post": "POST /services/web/drain HTTP/1.1\r\nHost: 10.0.0.5:9000\r\n"
                  "Authorization: Bearer s3cr3t-t0ken\r\n"
                  "Content-Length: 0\r\n\r\n",
    "prometheus": "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
                  "User-Agent: Prometheus/2.42.0\r\nAccept: text/plain;"
                  "version=0.0.4;q=1,*/*;q=0.1\r\n"
                  "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-"
                  "Seconds: 10\r\n\r\n",
    "absolute": "GET http://10.0.0.1:8080/haproxy_status?x=1 HTTP/1.1\r\n"
                "Host: 10.0.0.1:8080\r\n\r\n",
    "http10_keepalive": "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    "bare_lf": "GET /haproxy_status HTTP/1.1\nHost: x\nConnection: close\n\n",
    "pipelined": "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                 "HEAD /b?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "chunked": "POST /services/drain HTTP/1.1\r\nHost: x\r\n"
               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "options_star": "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "h2_preface": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}


# ---- proxyproto: what NLB and Classic ELB send ---------------------------

V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(cmd, fam, body):
    return V2SIG + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(body)) + body


def tlv(t, value):
    return bytes([t]) + struct.pack(">H", len(value)) + value


def proxy_seeds():
    req = HTTP["nlb"].encode()
    put("proxyproto", "v1_tcp4", "PROXY TCP4 10.0.1.17 10.0.0.5 48612 8080\r\n")
    put("proxyproto", "v1_tcp4_then_http",
        b"PROXY TCP4 10.0.1.17 10.0.0.5 48612 8080\r\n" + req)
    put("proxyproto", "v1_tcp6",
        "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 65535 80\r\n")
    put("proxyproto", "v1_unknown", "PROXY UNKNOWN\r\n")
    put("proxyproto", "v1_unknown_addrs",
        "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:fff 65535 65535\r\n")
    a4 = bytes([10, 0, 1, 17, 10, 0, 0, 5]) + struct.pack(">HH", 48612, 8080)
    # NLB: PROXY over TCP4, then its VPC endpoint TLV (0xEA, subtype 0x01).
    put("proxyproto", "v2_tcp4_aws_vpce",
        v2(1, 0x11, a4 + tlv(0xEA, b"\x01vpce-08d2bf15fac5001c9")) + req)
    put("proxyproto", "v2_tcp4", v2(1, 0x11, a4))
    put("proxyproto", "v2_tcp4_tlvs", v2(1, 0x11, a4 +
        tlv(0x03, b"\x12\x34\x56\x78") + tlv(0x04, b"") +
        tlv(0xEA, b"\x01vpce-0123456789abcdef0")))
    a6 = (bytes.fromhex("20010db8000000000000000000000001") +
          bytes.fromhex("00000000000000000000ffff0a000001") +
          struct.pack(">HH", 65535, 80))
    put("proxyproto", "v2_tcp6", v2(1, 0x21, a6))
    put("proxyproto", "v2_local", v2(0, 0x00, b""))
    put("proxyproto", "v2_local_health", v2(0, 0x11, a4) + req)
    put("proxyproto", "v2_unspec", v2(1, 0x00, b""))
    put("proxyproto", "v2_unix", v2(1, 0x31, b"/run/a".ljust(108, b"\0") +
        b"/run/b".ljust(108, b"\0")))


# ---- agent_line, duration --------------------------------------------------

AGENT = {
    "web": "web\n", "web_crlf": "web\r\n", "default": "default\n",
    "agent_send": "hello be\n", "empty": "\n", "no_newline": "web",
    "longest": "w" * 256 + "\n", "too_long": "w" * 257 + "\n",
    "nul": "w\0b\n", "two_lines": "web\napi\n",
}

DURATIONS = ["250ms", "10ms", "1s", "10s", "500ms", "2s", "30s", "1m", "1h",
             "0s", "604800s", "10080m", "168h", "604800000ms", "604801s",
             "169h", "1.5s", "-1s", "10 s", "1h30m", "", "s", "007s",
             "99999999999999999999ms", "1S", "1sec"]


# ---- logtrig: HAProxy's syslog lines, HAPROXY.md section 6 ------------------

LOGS = [
    '<129>Nov 22 02:04:58 haproxy[9332]: Server be2/x1 is DOWN, reason: '
    'Layer4 connection problem, info: "Connection refused", check duration: '
    '0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, '
    '0 remaining in queue.\n',
    '<128>Nov 22 02:04:58 haproxy[9332]: backend be2 has no server '
    'available!\n',
    '<129>Nov 22 02:05:58 haproxy[9332]: Server be/s1 is DOWN, reason: '
    'Layer7 wrong status, code: 0, info: "via agent : down (my reason)", '
    'check duration: 306ms. 1 active and 1 backup servers left. 0 sessions '
    'active, 0 requeued, 0 remaining in queue.\n',
    '<129>Nov 22 02:04:58 haproxy[9332]: Server be2/x1 is DOWN, reason: '
    'Layer4 connection problem, info: "ECONNREFUSED returned by OS '
    '(Connection refused)", check duration: 0ms. 0 active and 0 backup '
    'servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n',
    '<132>Nov 22 02:06:01 haproxy[9332]: Paused frontend fe.\n',
    '<132>Nov 22 02:06:02 haproxy[9332]: Resumed frontend fe.\n',
    '<134>Nov 22 02:06:03 haproxy[9332]: 10.0.1.17:48612 '
    '[22/Nov/2026:02:06:03.120] fe_main app/a1 0/0/1/2/3 200 512 - - ---- '
    '1/1/0/0/0 0/0 "GET /haproxy_status HTTP/1.1"\n',
]


def main():
    stats_seeds()
    config_seeds()
    for k, v in HTTP.items():
        put("http_head", k, v)
    proxy_seeds()
    for k, v in AGENT.items():
        put("agent_line", k, v)
    for i, v in enumerate(DURATIONS):
        put("duration", "d%02d" % i, v)
    for i, v in enumerate(LOGS):
        put("logtrig", "haproxy_md_%d" % i, v)


if __name__ == "__main__":
    main()
