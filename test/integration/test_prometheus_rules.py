"""The shipped Prometheus rules (conf/prometheus/hapwatch.rules.yml):

* `promtool check rules` accepts them; `promtool test rules` passes their
  unit tests (conf/prometheus/hapwatch.rules.test.yml);
* every alert is tested both firing and not firing, and every recording
  rule is tested;
* every rule has what an on-call reader needs: severity page or warning,
  a summary and a description naming the instance (and the service, where
  the alert has one);
* the reader this suite uses for the rules file (fleet_util.rules) finds
  as many rules as promtool does.

promtool (Debian's prometheus package) missing is a failure, not a skip.
"""
import re

import fleet_util as F
import harness as H
import operate as U


def read(path):
    with open(path) as f:
        return f.read()


class PrometheusRulesTest(H.Case):

    def test_promtool_check_and_unit_tests(self):
        out, n = F.promtool_check_rules()
        H.log("promtool check rules:\n" + out)
        r = U.run([U.tool("promtool"), "test", "rules", F.RULES_TEST],
                  timeout=120, check=True)
        H.log("promtool test rules:\n" + r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout + r.stderr)
        self.assertEqual(len(F.rules()), n,
                         "fleet_util.rules() does not read every rule")

    def test_every_rule_is_tested(self):
        rules = F.rules()
        alerts = [r["alert"] for r in rules if "alert" in r]
        records = [r["record"] for r in rules if "record" in r]
        self.assertGreaterEqual(len(alerts), 10, alerts)
        self.assertEqual(len(set(alerts)), len(alerts), "duplicate alerts")
        # Each alert_rule_test: "alertname: X" then its exp_alerts, empty
        # ("[]": not firing) or a list (firing).
        text = read(F.RULES_TEST)
        seen = {}
        for m in re.finditer(r"alertname:\s*(\S+)\s*\n\s*exp_alerts:(.*)",
                             text):
            kind = "quiet" if m.group(2).strip() == "[]" else "firing"
            seen.setdefault(m.group(1), set()).add(kind)
        for a in alerts:
            self.assertEqual(seen.get(a), {"quiet", "firing"},
                             "%s: tested firing and not firing?" % a)
        self.assertEqual(set(seen) - set(alerts), set(),
                         "tests of alerts the rules do not have")
        tested_exprs = re.findall(r"^\s*- expr:\s*(.+)$", text, re.M)
        for rec in records:
            self.assertTrue(any(rec in e for e in tested_exprs),
                            "recording rule %s has no promql_expr_test" % rec)

    def test_labels_and_annotations(self):
        text = read(F.RULES)
        # Each alert's block: from "- alert:" to the next rule or group.
        blocks = re.split(r"\n(?=\s*- (?:alert|record|name):)", text)
        n = 0
        for b in blocks:
            m = re.match(r"\s*- alert:\s*(\S+)", b)
            if not m:
                continue
            n += 1
            name = m.group(1)
            sev = re.search(r"^\s*severity:\s*(\S+)\s*$", b, re.M)
            self.assertIsNotNone(sev, name)
            self.assertIn(sev.group(1), ("page", "warning"), name)
            for key in ("summary", "description"):
                self.assertRegex(b, r"\n\s*%s:" % key, name)
            self.assertIn("{{ $labels.instance }}", b, name)
            # An alert whose firing instances carry a service label (as
            # the unit tests expect them) names the service.
            if name in self.alerts_with_service():
                self.assertIn("{{ $labels.service }}", b, name)
        self.assertEqual(n, len([r for r in F.rules() if "alert" in r]))
        self.assertIn("HapwatchServiceDown", self.alerts_with_service())

    def alerts_with_service(self):
        """Alerts whose expected firing labels (the unit tests') include
        `service`."""
        text = read(F.RULES_TEST)
        out = set()
        for m in re.finditer(r"alertname:\s*(\S+)\s*\n\s*exp_alerts:\s*\n"
                             r"(.*?)(?=\n\s*- eval_time|\n  - name|\Z)", text,
                             re.S):
            seg = m.group(2)
            labels = re.findall(r"exp_labels:\s*\{([^}]*)\}", seg)
            labels += re.findall(r"exp_labels:\s*\n(.*?)\n\s*exp_annotations",
                                 seg, re.S)
            if any(re.search(r"(^|[\s,])service:", l) for l in labels):
                out.add(m.group(1))
        return out

    def test_down_alert_contract(self):
        """The service-down alert reads the effective state "down" (never
        drain or maint) and fires within 1m at a 15s scrape: its `for` is
        at most 30s."""
        r = [r for r in F.rules() if r.get("alert") == "HapwatchServiceDown"]
        self.assertEqual(len(r), 1)
        self.assertIn('hapwatch_service_state{state="down"} == 1', r[0]["expr"])
        self.assertNotRegex(r[0]["expr"], r"drain|maint")
        m = re.match(r"^(\d+)([sm])$", r[0]["for"])
        self.assertIsNotNone(m, r[0]["for"])
        secs = int(m.group(1)) * (60 if m.group(2) == "m" else 1)
        self.assertLessEqual(secs + 15 + 15, 60)


if __name__ == "__main__":
    H.main()
