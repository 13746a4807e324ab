#!/usr/bin/env bash
# monitoring/list-metrics.sh: print every metric name that an alert rule or a
# Grafana dashboard queries, one per line, sorted. monitoring/metrics.txt is
# this output (committed), so a Go test can check that each name is exported
# by some service, and monitoring/check.sh fails when the file is stale.
#
#   monitoring/list-metrics.sh              print the list
#   monitoring/list-metrics.sh -w           rewrite monitoring/metrics.txt
#   monitoring/list-metrics.sh --self-test  check the extractor on tricky PromQL
#
# Names are the ones a /metrics page shows as a family: a histogram's
# _bucket, _sum and _count series are listed under their base name. Series
# Prometheus makes itself (up, scrape_*, ALERTS*) are left out.
#
# How names are found, without a PromQL parser: string literals, label
# matchers {...}, ranges [...], grouping clauses by/without/on/ignoring/
# group_left/group_right (...) and Grafana variables ($x, ${x}) are blanked;
# Grafana's label_values(metric, label) becomes metric; every identifier
# left that is not a PromQL keyword and not followed by "(" (a function or
# aggregation) is a metric name. Selectors by {__name__="x"} are read from
# the matcher; {__name__=~"..."} is refused, since it cannot be listed.
#
# Needs python3 with PyYAML (Debian package python3-yaml; check.sh installs it).
set -euo pipefail

MON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

find_python() {
	local py
	for py in python3 /usr/bin/python3; do
		if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import yaml' 2>/dev/null; then
			echo "$py"
			return 0
		fi
	done
	echo "list-metrics: no python3 with PyYAML found (apt-get install python3-yaml)" >&2
	return 1
}

PY=$(find_python)

mode=print
case ${1:-} in
"") ;;
-w) mode="write" ;;
--self-test) mode=selftest ;;
*)
	echo "usage: $0 [-w | --self-test]" >&2
	exit 2
	;;
esac

run() {
	"$PY" - "$MON_DIR" "$mode" <<'PYEOF'
import glob, json, os, re, sys

import yaml

mon_dir, mode = sys.argv[1], sys.argv[2]

# PromQL keywords and aggregation operators that can stand without "(" right
# after them (sum by (x) (...), a and b, x offset 5m, ...). Functions are
# recognised by the "(" that follows them.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "atan2", "inf", "nan", "start", "end",
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}
# Series that Prometheus itself creates: no service exports them.
SYNTHETIC = re.compile(r"^(up|ALERTS|ALERTS_FOR_STATE|scrape_[a-z_]+)$")
HISTOGRAM_SUFFIX = re.compile(r"_(bucket|sum|count)$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
NAME_MATCHER = re.compile(r'__name__\s*(=~|!~|!=|=)\s*("(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\')')
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
# Grafana's label_values(label) and label_values(metric{...}, label).
LABEL_VALUES = re.compile(r"\blabel_values\s*\(\s*((?:[^(){},]|\{[^}]*\})*?)\s*(,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*)?\)")
IDENT = re.compile(r"(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def names(expr):
    """Metric names (base names, synthetic series excluded) queried by expr."""
    found = set()
    for op, lit in NAME_MATCHER.findall(expr):
        if op != "=":
            raise ValueError(f"cannot list metric names selected by __name__{op}: {expr!r}")
        found.add(lit[1:-1])
    s = re.sub(r"#[^\n]*", " ", expr)  # PromQL comments
    s = LABEL_VALUES.sub(lambda m: " " + m.group(1) + " " if m.group(2) else " ", s)
    s = STRING.sub('""', s)
    s = re.sub(r"\$\{[^}]*\}|\$\w+", " ", s)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = GROUPING.sub(" ", s)
    for m in IDENT.finditer(s):
        ident, call = m.group(1), m.group(2)
        if call or ident in KEYWORDS:
            continue
        found.add(ident)
    out = set()
    for n in found:
        if not METRIC_NAME.match(n):
            raise ValueError(f"not a metric name: {n!r} in {expr!r}")
        n = HISTOGRAM_SUFFIX.sub("", n)
        if not SYNTHETIC.match(n):
            out.add(n)
    return out


def rule_exprs(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            yield f"{path}: {r.get('alert') or r.get('record')}", r["expr"]


def dashboard_exprs(path):
    with open(path) as f:
        doc = json.load(f)

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(doc.get("panels", [])):
        for t in p.get("targets", []):
            if t.get("expr"):
                yield f"{path}: panel {p.get('title')!r} {t.get('refId')}", t["expr"]
    for v in doc.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if q:
            yield f"{path}: variable {v.get('name')}", q


def self_test():
    cases = [
        ('sum by (job, le) (rate(grpc_server_handling_seconds_bucket{job="sso", le="0.1"}[5m]))', {"grpc_server_handling_seconds"}),
        ("up == 0", set()),
        ("sum(go_goroutines)", {"go_goroutines"}),
        ("process_resident_memory_bytes", {"process_resident_memory_bytes"}),
        ('a_total{x="y"} / on (job) group_left (instance) b_total and c offset 5m', {"a_total", "b_total", "c"}),
        ('histogram_quantile(0.99, sum without (instance) (rate(h_seconds_bucket[$__rate_interval])))', {"h_seconds"}),
        ('rate(x_total{code=~"5..|sum(y)"}[5m]) > bool 1e3', {"x_total"}),
        ('label_values(up{job="$job"}, instance)', set()),
        ("label_values(kafka_consumer_lag, group)", {"kafka_consumer_lag"}),
        ("label_values(job)", set()),
        ('{__name__="by_name_total", job="x"}', {"by_name_total"}),
        ("max_over_time(g[1h:5m]) unless g2 offset 1h", {"g", "g2"}),
        ("count(q_count) * 60 + sum(r_sum)", {"q", "r"}),
        ("topk(3, sum by (m) (rate(t_total[5m])))  # a comment naming fake_metric", {"t_total"}),
        ("ALERTS{alertname=\"x\"} or scrape_duration_seconds", set()),
    ]
    bad = 0
    for expr, want in cases:
        got = names(expr)
        if got != want:
            bad += 1
            print(f"FAIL {expr!r}: got {sorted(got)}, want {sorted(want)}", file=sys.stderr)
    try:
        names('{__name__=~"go_.*"}')
        bad += 1
        print("FAIL __name__=~ was not refused", file=sys.stderr)
    except ValueError:
        pass
    if bad:
        sys.exit(1)
    print(f"list-metrics self-test: {len(cases) + 1} passed, 0 failed")


if mode == "selftest":
    self_test()
    sys.exit(0)

sources = []
for path in sorted(glob.glob(os.path.join(mon_dir, "prometheus", "rules", "*.yml"))):
    if path.endswith("_test.yml"):
        continue
    sources += list(rule_exprs(path))
for path in sorted(glob.glob(os.path.join(mon_dir, "grafana", "dashboards", "*.json"))):
    sources += list(dashboard_exprs(path))
if not sources:
    sys.exit("list-metrics: no alert rules or dashboards found under " + mon_dir)

all_names = set()
for where, expr in sources:
    try:
        all_names |= names(expr)
    except ValueError as e:
        sys.exit(f"list-metrics: {where}: {e}")

out = "".join(n + "\n" for n in sorted(all_names))
if mode == "write":
    with open(os.path.join(mon_dir, "metrics.txt"), "w") as f:
        f.write(out)
else:
    sys.stdout.write(out)
PYEOF
}

run
