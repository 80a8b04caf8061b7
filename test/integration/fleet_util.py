"""fleet_util.py: helpers of the fleet-monitoring tests (the shipped
Prometheus rules and Grafana dashboard; a real Prometheus and Alertmanager),
on top of harness.py. Python 3 standard library only: the rules file is
read by a small reader of its own layout (every `expr:` a plain scalar or a
block scalar), cross-checked with promtool's count of rules.

The same rules as harness.py: every wait has a deadline (wait_for), every
process is the test's and is killed, and a missing tool is a failure that
names the Debian package to install, never a skip.
"""
import json
import os
import re
import urllib.parse
import urllib.request

import harness as H
import operate as U

RULES = os.path.join(H.SRC, "conf", "prometheus", "hapwatch.rules.yml")
RULES_TEST = os.path.join(H.SRC, "conf", "prometheus",
                          "hapwatch.rules.test.yml")
DASHBOARD = os.path.join(H.SRC, "conf", "grafana", "hapwatch.json")

# Daemons the alert-path test runs, and their Debian packages.
DAEMONS = {
    "prometheus": ("/usr/bin/prometheus", "prometheus"),
    "alertmanager": ("/usr/bin/prometheus-alertmanager",
                     "prometheus-alertmanager"),
}

# Series that Prometheus makes itself, not hapwatch.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

# The service states the rules and the dashboard know.
KNOWN_STATES = {"up", "degraded", "down", "drain", "maint"}


def daemon(name):
    """The path of a daemon the test runs; fail (never skip) without it."""
    path, pkg = DAEMONS[name]
    if not os.access(path, os.X_OK):
        raise AssertionError("%s is missing: install Debian's %s package "
                             "(./dev deps)" % (path, pkg))
    return path


# ---- PromQL: the metric names an expression reads -------------------------

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
             "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2",
             "start", "end"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r'\b(?:by|without|on|ignoring|group_left|group_right)'
                       r'\s*\([^()]*\)')
_IDENT = re.compile(r'(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)')


def metric_names(expr):
    """The metric names a PromQL expression selects: identifiers that are
    not functions (followed by "("), keywords, label names (in matchers
    and in by/without/on/ignoring/group_* lists), durations, numbers,
    strings or Grafana variables ($x, ${x}, $__rate_interval)."""
    s = _STRING.sub('""', expr)			# first: "}" or "#" in a value
    s = re.sub(r"#[^\n]*", " ", s)			# comments
    s = re.sub(r"\$\{[^}]*\}|\$\w+", " ", s)		# Grafana variables
    s = re.sub(r"\{[^{}]*\}", " ", s)			# label matchers
    s = re.sub(r"\[[^\[\]]*\]", " ", s)		# ranges, subqueries
    s = _GROUPING.sub(" ", s)				# label lists
    s = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", s)	# offset 5m
    s = re.sub(r"@\s*[-+0-9.e]+|@\s*(?:start|end)\s*\(\s*\)", " ", s)
    out = set()
    for m in _IDENT.finditer(s):
        name = m.group(1)
        if re.match(r"\s*\(", s[m.end():]):
            continue					# a function
        if name.lower() in _KEYWORDS:
            continue
        out.add(name)
    return out


def variable_metric_names(query):
    """Metric names of a Grafana Prometheus variable query:
    label_values(EXPR, label), query_result(EXPR), metrics(...), or a bare
    label_values(label) (none)."""
    q = query.strip()
    m = re.match(r"^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$", q,
                 re.S)
    if m:
        return metric_names(m.group(1))
    if re.match(r"^label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$", q):
        return set()
    m = re.match(r"^query_result\((.*)\)$", q, re.S)
    if m:
        return metric_names(m.group(1))
    return metric_names(q)


# ---- the dashboard ---------------------------------------------------------

def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_exprs(dash):
    """[(where, expr)] of every panel target's expr, nested panels
    (rows) included."""
    out = []

    def walk(panels, where):
        for p in panels:
            here = "%s/%s" % (where, p.get("title", p.get("id")))
            for t in p.get("targets", []):
                if "expr" in t:
                    out.append(("%s[%s]" % (here, t.get("refId")), t["expr"]))
            walk(p.get("panels", []), here)
    walk(dash.get("panels", []), "")
    return out


def dashboard_variable_queries(dash):
    """[(name, query)] of the query variables."""
    out = []
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        out.append((v["name"], q or v.get("definition", "")))
    return out


# ---- the rules file --------------------------------------------------------

def _indent(line):
    return len(line) - len(line.lstrip(" "))


def rules():
    """[{"alert"|"record": name, "expr": text, "for": ...}] of the shipped
    rules file, in order."""
    with open(RULES) as f:
        lines = f.read().splitlines()
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)- (alert|record):\s*(\S+)\s*$", line)
        if m:
            out.append({m.group(2): m.group(3)})
            i += 1
            continue
        m = re.match(r"^(\s*)(expr|for):\s*(.*?)\s*$", line)
        if m and out:
            ind, key, val = len(m.group(1)), m.group(2), m.group(3)
            if val in ("|", "|-", ">", ">-"):
                body = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          _indent(lines[i]) > ind):
                    body.append(lines[i].strip())
                    i += 1
                out[-1][key] = "\n".join(body).strip()
                continue
            out[-1][key] = val
        i += 1
    for r in out:
        if "expr" not in r:
            raise AssertionError("rule %r: no expr read" % r)
    return out


def promtool_check_rules(path=RULES):
    """promtool check rules PATH -> (its output, the number of rules it
    found); fails unless it exits 0."""
    r = U.run([U.tool("promtool"), "check", "rules", path], check=True)
    out = r.stdout + r.stderr
    m = re.search(r"SUCCESS: (\d+) rules found", out)
    if not m:
        raise AssertionError("promtool check rules: no count in %r" % out)
    return out, int(m.group(1))


# ---- /metrics: families and samples ----------------------------------------

def families(text):
    """{family: (type, number of samples)} of a text exposition. A
    histogram's _bucket, _sum and _count samples count for it."""
    types = {}
    for line in text.splitlines():
        m = re.match(r"^# TYPE (\S+) (\S+)$", line)
        if m:
            types[m.group(1)] = m.group(2)
    counts = {name: 0 for name in types}
    for (name, _), _v in H.parse_metrics(text).items():
        fam = name
        if name not in types:
            for suffix in ("_bucket", "_sum", "_count"):
                base = name[:-len(suffix)]
                if name.endswith(suffix) and types.get(base) in (
                        "histogram", "summary"):
                    fam = base
        counts[fam] = counts.get(fam, 0) + 1
    return {name: (types.get(name, "untyped"), n)
            for name, n in counts.items()}


def family_of(name, fams):
    """The family a metric name selects (a histogram's for _bucket, _sum,
    _count), or None if /metrics has none."""
    if name in fams:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and fams.get(base, ("",))[0] in (
                "histogram", "summary"):
            return base
    return None


# ---- Prometheus and Alertmanager HTTP APIs ----------------------------------

def api_get(port, path, params=None, timeout=H.T_IO):
    """GET http://127.0.0.1:PORT/PATH?params -> parsed JSON."""
    url = "http://127.0.0.1:%d%s" % (port, path)
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=timeout * H.SCALE) as r:
        return json.loads(r.read().decode())


def prom_query(port, expr):
    """An instant query -> its result list; fails on an error answer."""
    doc = api_get(port, "/api/v1/query", {"query": expr})
    if doc.get("status") != "success":
        raise AssertionError("query %r: %r" % (expr, doc))
    return doc["data"]["result"]
