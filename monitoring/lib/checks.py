"""Checks behind monitoring/check.sh that need more than a one-liner.

Each subcommand prints what it checked and exits non-zero with one line per
problem. Run through check.sh, which installs what they need (python3 with
PyYAML) and passes the paths:

    checks.py rules-meta   RULES TESTS RUNBOOK
    checks.py prom-drift   NATIVE_CONFIG COMPOSE_CONFIG
    checks.py dashboards   DASHBOARD_DIR RULES_OUT
    checks.py compose      COMPOSE_JSON REPO_ROOT
    checks.py dockerfile   DOCKERFILE REPO_ROOT WORK_DIR
"""

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml

SEVERITIES = {"critical", "warning"}
ANNOTATIONS = ("summary", "description", "runbook")
SERVICES = {  # compose service / scrape job -> module directory
    "sso": "services/sso",
    "loyalty-points": "services/loyalty-points",
    "welcome-notifier": "services/welcome-notifier",
}


class Problems:
    def __init__(self, what):
        self.what = what
        self.items = []

    def add(self, msg):
        self.items.append(msg)

    def finish(self, ok_msg):
        if self.items:
            for m in self.items:
                print(f"  {self.what}: {m}", file=sys.stderr)
            sys.exit(1)
        print(f"  {ok_msg}")


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def github_anchor(heading):
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


# ---------------------------------------------------------------- rules-meta
def rules_meta(rules_path, tests_path, runbook_path):
    """Every alert: a severity, the three annotations, a runbook section that
    exists, a unique name, and unit tests where it fires and where it must
    not."""
    p = Problems("alerts")
    with open(runbook_path) as f:
        anchors = {github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", f.read(), re.M)}
    alerts = []
    for g in load_yaml(rules_path)["groups"]:
        for r in g["rules"]:
            if "alert" not in r:
                continue
            name = r["alert"]
            alerts.append(name)
            sev = (r.get("labels") or {}).get("severity")
            if sev not in SEVERITIES:
                p.add(f"{name}: severity label {sev!r} is not one of {sorted(SEVERITIES)}")
            ann = r.get("annotations") or {}
            for a in ANNOTATIONS:
                if not str(ann.get(a, "")).strip():
                    p.add(f"{name}: missing annotation {a}")
            m = re.match(r"RUNBOOK\.md#([\w-]+):\s*\S", str(ann.get("runbook", "")))
            if not m:
                p.add(f"{name}: runbook annotation must read 'RUNBOOK.md#<section>: <hint>'")
            elif m.group(1) not in anchors:
                p.add(f"{name}: {os.path.basename(runbook_path)} has no section #{m.group(1)}")
    dupes = {a for a in alerts if alerts.count(a) > 1}
    if dupes:
        p.add(f"duplicate alert names: {sorted(dupes)}")

    fires, silent = set(), set()
    for t in load_yaml(tests_path).get("tests", []):
        for a in t.get("alert_rule_test") or []:
            (fires if a.get("exp_alerts") else silent).add(a["alertname"])
    for name in alerts:
        if name not in fires:
            p.add(f"{name}: no unit test where it fires (alert_rule_test with exp_alerts)")
        if name not in silent:
            p.add(f"{name}: no unit test where it must stay silent (alert_rule_test with empty exp_alerts)")
    for name in (fires | silent) - set(alerts):
        p.add(f"tests refer to unknown alert {name}")
    p.finish(f"{len(alerts)} alerts: severity, annotations, runbook sections, firing and silent tests present")


# ---------------------------------------------------------------- prom-drift
def prom_drift(native_path, compose_path):
    """prometheus.compose.yml must be prometheus.yml with the services'
    127.0.0.1:<port> targets replaced by <job>:<port> and without the
    services' file_sd_configs (local extra instances)."""
    p = Problems("prometheus.compose.yml")
    native, compose = load_yaml(native_path), load_yaml(compose_path)
    expect = json.loads(json.dumps(native))
    jobs = set()
    for sc in expect.get("scrape_configs", []):
        if sc["job_name"] not in SERVICES:
            continue
        jobs.add(sc["job_name"])
        # Extra local instances (deploy/local/services --replicas) come
        # from files under .local; compose runs one of each.
        sc.pop("file_sd_configs", None)
        for st in sc.get("static_configs", []):
            targets = []
            for t in st.get("targets", []):
                host, _, port = t.rpartition(":")
                if host != "127.0.0.1":
                    p.add(f"native job {sc['job_name']}: target {t} is not on 127.0.0.1")
                targets.append(f"{sc['job_name']}:{port}")
            st["targets"] = targets
    if jobs != set(SERVICES):
        p.add(f"native config scrapes {sorted(jobs)}, want {sorted(SERVICES)}")
    if expect != compose:
        p.add("differs from prometheus.yml by more than the service targets "
              "(<job>:<port> instead of 127.0.0.1:<port>); keep them in step")
    p.finish("prometheus.compose.yml = prometheus.yml with compose DNS targets")


# ---------------------------------------------------------------- dashboards
# Grafana variables replaced by sample values, so that promtool can parse
# each query as PromQL.
GRAFANA_VARS = {
    "__rate_interval": "1m", "__interval": "1m", "__range": "1h",
    "__range_s": "3600", "__interval_ms": "60000",
}


def substitute(expr, variables):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name in GRAFANA_VARS:
            return GRAFANA_VARS[name]
        if name in variables:
            return variables[name]
        raise KeyError(name)
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def dashboards(dash_dir, rules_out):
    """Structure of every dashboard, and its queries written out as
    recording rules for promtool check rules (PromQL syntax)."""
    p = Problems("dashboards")
    files = sorted(glob.glob(os.path.join(dash_dir, "*.json")))
    if not files:
        p.add(f"no dashboards in {dash_dir}")
    uids, rules = {}, []
    for path in files:
        name = os.path.basename(path)
        try:
            with open(path) as f:
                d = json.load(f)
        except ValueError as e:
            p.add(f"{name}: not JSON: {e}")
            continue
        uid = d.get("uid")
        if not uid or uid in uids:
            p.add(f"{name}: uid {uid!r} missing or also used by {uids.get(uid)}")
        uids[uid] = name
        if not d.get("title"):
            p.add(f"{name}: no title")
        if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 39:
            p.add(f"{name}: schemaVersion {d.get('schemaVersion')!r}, want 39 or newer")
        variables = {}
        for v in d.get("templating", {}).get("list", []):
            variables[v["name"]] = ".*" if v.get("includeAll") else "sso"
            if v.get("type") == "query":
                ds = v.get("datasource") or {}
                if ds.get("uid") != "prometheus":
                    p.add(f"{name}: variable {v['name']}: datasource {ds!r}, want uid prometheus")
        ids, npanels, ntargets = set(), 0, 0

        def walk(panels):
            for panel in panels:
                yield panel
                yield from walk(panel.get("panels", []))

        for panel in walk(d.get("panels", [])):
            npanels += 1
            title = panel.get("title", "?")
            if panel.get("id") in ids:
                p.add(f"{name}: panel id {panel.get('id')} used twice")
            ids.add(panel.get("id"))
            gp = panel.get("gridPos") or {}
            if not all(isinstance(gp.get(k), int) for k in "hwxy") or gp["x"] + gp["w"] > 24:
                p.add(f"{name}: panel {title!r}: gridPos {gp} is not within the 24-column grid")
            if panel.get("type") == "row":
                continue
            if (panel.get("datasource") or {}).get("uid") != "prometheus":
                p.add(f"{name}: panel {title!r}: datasource must be uid prometheus")
            if not panel.get("targets"):
                p.add(f"{name}: panel {title!r} has no queries")
            for t in panel.get("targets", []):
                ntargets += 1
                if (t.get("datasource") or {}).get("uid") != "prometheus":
                    p.add(f"{name}: panel {title!r} {t.get('refId')}: datasource must be uid prometheus")
                try:
                    expr = substitute(t.get("expr", ""), variables)
                except KeyError as e:
                    p.add(f"{name}: panel {title!r}: unknown variable ${e.args[0]}")
                    continue
                rules.append({"record": f"dashboard:check:{len(rules)}", "expr": expr,
                              "labels": {"dashboard": name, "panel": title, "ref": t.get("refId", "")}})
        print(f"  {name}: {npanels} panels, {ntargets} queries, variables {sorted(variables)}")
    with open(rules_out, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, f, sort_keys=False)
    p.finish(f"{len(files)} dashboards: structure ok; {len(rules)} queries written to {rules_out} for promtool")


# ---------------------------------------------------------------- compose
ENV_TAG = re.compile(r'env:"([A-Z0-9_]+)"')


EMBEDDED = re.compile(r'^\s*config\.(\w+)\s+`envPrefix:"([A-Z0-9_]+)"`', re.M)
STRUCT = re.compile(r'^type (\w+) struct \{(.*?)^\}', re.M | re.S)


def shared_env(repo):
    """The env tags of each struct libs/config offers for embedding (Process,
    Kafka), by struct name, without the prefix a service gives them."""
    structs = {}
    for path in glob.glob(os.path.join(repo, "libs", "config", "*.go")):
        if path.endswith("_test.go"):
            continue
        with open(path) as f:
            for name, body in STRUCT.findall(f.read()):
                structs[name] = set(ENV_TAG.findall(body))
    return structs


def env_read_by(repo, module):
    """The environment variables a service reads: the env tags of its config
    package, those of the libs/config structs it embeds under its prefix
    (config.Process `envPrefix:"SSO_"` reads SSO_LOG_LEVEL), plus CONFIG_FILE
    (libs/config)."""
    names = {"CONFIG_FILE"}
    shared = shared_env(repo)
    files = [f for f in glob.glob(os.path.join(repo, module, "internal", "config", "*.go"))
             if not f.endswith("_test.go")]
    for path in files:
        with open(path) as f:
            text = f.read()
        names |= set(ENV_TAG.findall(text))
        for struct, prefix in EMBEDDED.findall(text):
            names |= {prefix + n for n in shared.get(struct, ())}
    return names, files


def dockerfile_env(path):
    """Names set by ENV instructions (KEY=VALUE form) of a Dockerfile's final
    stage, the image the service runs in (the build stage's ENV configures
    Go, not the service)."""
    names = set()
    for instr, args in dockerfile_instructions(path):
        if instr == "FROM":
            names = set()
        elif instr == "ENV":
            for tok in shlex.split(args):
                if "=" not in tok:
                    raise ValueError(f"{path}: use ENV KEY=VALUE, not {args!r}")
                names.add(tok.split("=", 1)[0])
    return names


def compose(model_path, repo):
    """Every environment variable compose.yaml (and each service Dockerfile)
    sets for our services is one the service reads; Prometheus' compose
    targets match the services' HTTP ports; bind-mounted files exist."""
    p = Problems("compose")
    with open(model_path) as f:
        model = json.load(f)
    services = model.get("services", {})
    for svc, module in SERVICES.items():
        s = services.get(svc)
        if s is None:
            p.add(f"service {svc} is missing")
            continue
        read, files = env_read_by(repo, module)
        if len(read) < 3:
            p.add(f"{svc}: found no env tags in {module}/internal/config")
            continue
        env = s.get("environment") or {}
        unknown = sorted(set(env) - read)
        for name in unknown:
            p.add(f"{svc}: sets {name}, which {module}/internal/config does not read")
        empty = sorted(k for k, v in env.items() if v is None)
        for name in empty:
            p.add(f"{svc}: {name} has no value (it would be taken from the caller's environment)")
        dockerfile = os.path.join(repo, (s.get("build") or {}).get("dockerfile", f"{module}/Dockerfile"))
        build = s.get("build") or {}
        if os.path.realpath(build.get("context", "")) != os.path.realpath(repo):
            p.add(f"{svc}: build context {build.get('context')!r} is not the repository root")
        if not os.path.isfile(dockerfile):
            p.add(f"{svc}: Dockerfile {dockerfile} does not exist")
        else:
            try:
                for name in sorted(dockerfile_env(dockerfile) - read):
                    p.add(f"{svc}: {os.path.relpath(dockerfile, repo)} sets ENV {name}, which the service does not read")
            except ValueError as e:
                p.add(str(e))
        http = [v for k, v in env.items() if k.endswith("_HTTP_ADDR")]
        if len(http) != 1 or not str(http[0]).startswith("0.0.0.0:"):
            p.add(f"{svc}: wants exactly one *_HTTP_ADDR bound to 0.0.0.0, got {http}")
        print(f"  {svc}: {len(env)} variables, all read by {module}/internal/config ({len(read)} known)"
              if not unknown else f"  {svc}: {len(unknown)} unknown variables")

    # Prometheus (compose variant) scrapes each service on its HTTP port.
    prom = load_yaml(os.path.join(repo, "monitoring", "prometheus", "prometheus.compose.yml"))
    for sc in prom.get("scrape_configs", []):
        job = sc["job_name"]
        if job not in SERVICES or job not in services:
            continue
        ports = {str(v).rpartition(":")[2] for k, v in (services[job].get("environment") or {}).items()
                 if k.endswith("_HTTP_ADDR")}
        for st in sc.get("static_configs", []):
            for t in st.get("targets", []):
                host, _, port = t.rpartition(":")
                if host != job or port not in ports:
                    p.add(f"prometheus.compose.yml job {job}: target {t} is not {job}:<its HTTP port {sorted(ports)}>")

    # Bind mounts must point at files of the repository.
    for name, s in services.items():
        for v in s.get("volumes") or []:
            if v.get("type") == "bind" and not os.path.exists(v.get("source", "")):
                p.add(f"{name}: bind mount source {v.get('source')} does not exist")
    p.finish(f"{len(services)} compose services; environment of {', '.join(SERVICES)} matches their config")


# ---------------------------------------------------------------- dockerfile
def dockerfile_instructions(path):
    """(INSTRUCTION, arguments) pairs with continuation lines joined and
    comments dropped."""
    out, cur = [], ""
    with open(path) as f:
        for line in f:
            s = line.rstrip("\n")
            if not cur and (not s.strip() or s.lstrip().startswith("#")):
                continue
            if cur and s.lstrip().startswith("#"):
                continue
            if s.endswith("\\"):
                cur += s[:-1] + " "
                continue
            cur += s
            instr, _, args = cur.strip().partition(" ")
            out.append((instr.upper(), args.strip()))
            cur = ""
    return out


def dockerignore_patterns(path):
    pats = []
    with open(path) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            neg = s.startswith("!")
            s = s[1:] if neg else s
            s = os.path.normpath(s.strip("/"))
            pats.append((neg, re.compile(glob_to_regex(s))))
    return pats


def glob_to_regex(pat):
    """Docker's pattern syntax (Go filepath.Match plus **) as a regex."""
    out, i = "", 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pat.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return "^" + out + "$"


def ignored(rel, pats):
    """BuildKit semantics: the last pattern matching the path or one of its
    parent directories decides."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for neg, rx in pats:
        if any(rx.match(p) for p in prefixes):
            result = not neg
    return result


def build_context(repo, pats, dest):
    """Copy the files BuildKit would send to dest; returns their count."""
    n = 0
    negations = [rx for neg, rx in pats if neg]
    for root, dirs, files in os.walk(repo):
        rel_root = os.path.relpath(root, repo)
        rel_root = "" if rel_root == "." else rel_root
        keep = []
        for d in dirs:
            rel = f"{rel_root}/{d}" if rel_root else d
            # Prune an excluded directory unless a negation could re-include
            # something below it (e.g. "*" then "!libs/").
            if ignored(rel, pats) and not any(rx.pattern.startswith("^" + re.escape(rel)) for rx in negations):
                continue
            keep.append(d)
        dirs[:] = keep
        for fn in files:
            rel = f"{rel_root}/{fn}" if rel_root else fn
            if ignored(rel, pats):
                continue
            dst = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(repo, rel), dst)
            n += 1
    return n


def dockerfile(path, repo, work):
    """Run the build stage of a service Dockerfile natively: the context as
    the .dockerignore next to it selects it, the COPY layout, and the exact
    RUN commands (cache mounts dropped). Image paths are mapped under work:
    WORKDIR to work/root/<dir>, /out to work/out. Then check the runtime
    stage against what was built."""
    p = Problems(os.path.relpath(path, repo))
    instrs = dockerfile_instructions(path)
    ignore = path + ".dockerignore"
    if not os.path.isfile(ignore):
        p.add(f"no {os.path.basename(ignore)} next to it")
        p.finish("")
    ctx = os.path.join(work, "context")
    root = os.path.join(work, "root")
    out = os.path.join(work, "out")
    for d in (ctx, root, out):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    n = build_context(repo, dockerignore_patterns(ignore), ctx)
    print(f"  context: {n} files selected by {os.path.relpath(ignore, repo)}")

    def image_path(pth, cwd):
        if pth.startswith("/out"):
            return out + pth[len("/out"):]
        if pth.startswith("/"):
            return os.path.join(root, pth.lstrip("/"))
        return os.path.join(cwd, pth)

    env = dict(os.environ)
    args = {}
    stage, cwd = 0, root
    runtime = []
    for instr, a in instrs:
        if instr == "ARG":
            k, _, v = a.partition("=")
            args[k] = v
            continue
        if instr == "FROM":
            stage += 1
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), a.split()[0])
            print(f"  stage {stage}: FROM {image}")
            if stage == 1:
                m = re.match(r"golang:([\d.]+)", image)
                gov = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()
                if not m or not gov.startswith("go" + m.group(1)):
                    p.add(f"builder image {image} vs local {gov}: the simulation would not use the same Go")
            continue
        if stage != 1:
            runtime.append((instr, a))
            continue
        if instr == "WORKDIR":
            cwd = image_path(a, cwd)
            os.makedirs(cwd, exist_ok=True)
        elif instr == "ENV":
            for tok in shlex.split(a):
                k, _, v = tok.partition("=")
                env[k] = v
        elif instr == "COPY":
            toks = [t for t in shlex.split(a) if not t.startswith("--")]
            *srcs, dst = toks
            dst_path = image_path(dst, cwd)
            for src in srcs:
                sp = os.path.join(ctx, src)
                if not os.path.exists(sp):
                    p.add(f"COPY {src}: not in the build context (check the .dockerignore)")
                    continue
                if os.path.isdir(sp):
                    shutil.copytree(sp, dst_path, dirs_exist_ok=True)
                else:
                    target = os.path.join(dst_path, os.path.basename(src)) if dst.endswith("/") else dst_path
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copy2(sp, target)
        elif instr == "RUN":
            cmd = re.sub(r"^(--\S+\s+)+", "", a)
            cmd = re.sub(r"(?<![\w.])/out\b", out, cmd)
            print(f"  RUN {cmd}")
            r = subprocess.run(["bash", "-ec", cmd], cwd=cwd, env=env)
            if r.returncode:
                p.add(f"RUN failed ({r.returncode}): {a}")
                p.finish("")
        else:
            p.add(f"build stage: the simulation does not support {instr}")

    # Runtime stage: what it copies was built, what it runs was copied.
    copied, exposed, envs, entry, health = set(), set(), {}, None, ""
    for instr, a in runtime:
        if instr == "COPY":
            toks = shlex.split(a)
            if not any(t.startswith("--from=build") for t in toks):
                p.add(f"runtime COPY not from the build stage: {a}")
                continue
            src, dst = [t for t in toks if not t.startswith("--")]
            if not os.path.exists(image_path(src, root)):
                p.add(f"runtime COPY {src}: the build stage did not produce it")
            copied.add(dst)
        elif instr == "EXPOSE":
            exposed |= set(a.split())
        elif instr == "ENV":
            for tok in shlex.split(a):
                k, _, v = tok.partition("=")
                envs[k] = v
        elif instr == "ENTRYPOINT":
            entry = json.loads(a)[0]
        elif instr == "HEALTHCHECK":
            health = a
        elif instr == "USER":
            if a not in ("nonroot", "65532", "65532:65532"):
                p.add(f"USER {a}: want the distroless nonroot user")
    if entry not in copied:
        p.add(f"ENTRYPOINT {entry} is not a file copied from the build stage")
    http_ports = {v.rpartition(":")[2] for k, v in envs.items() if k.endswith("_HTTP_ADDR")}
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", health)
    if not m or m.group(1) not in http_ports:
        p.add(f"HEALTHCHECK does not probe the HTTP port {sorted(http_ports)}")
    for k, v in envs.items():
        if k.endswith("_ADDR") and v.rpartition(":")[2] not in exposed:
            p.add(f"ENV {k}={v}: port not in EXPOSE {sorted(exposed)}")
    # The binary must run on distroless/base: glibc only.
    binary = image_path("/out/" + os.path.basename(entry), root)
    if os.path.exists(binary):
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        libs = {l.split()[0] for l in ldd.splitlines() if l.strip()}
        glibc = re.compile(r"^(linux-vdso|/lib64/ld-linux|ld-linux|lib(c|m|pthread|dl|rt|resolv)\.so)")
        extra = sorted(l for l in libs if not glibc.match(l))
        if extra:
            p.add(f"{os.path.basename(binary)} links libraries distroless/base lacks: {extra}")
        else:
            print(f"  {os.path.basename(binary)}: {os.path.getsize(binary) // (1 << 20)} MiB, links only glibc ({', '.join(sorted(libs))})")
    p.finish(f"build stage ran natively; runtime stage consistent (entrypoint {entry}, ports {sorted(exposed)})")


def main():
    cmds = {
        "rules-meta": (rules_meta, 3), "prom-drift": (prom_drift, 2),
        "dashboards": (dashboards, 2), "compose": (compose, 2), "dockerfile": (dockerfile, 3),
    }
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) - 2 != cmds[sys.argv[1]][1]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    fn, _ = cmds[sys.argv[1]]
    fn(*sys.argv[2:])


if __name__ == "__main__":
    main()
