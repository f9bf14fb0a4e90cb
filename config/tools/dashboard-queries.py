#!/usr/bin/env python3
"""List every PromQL query of the GpuAudit Grafana dashboards, or check their structure.

  dashboard-queries.py [--var NAME=VALUE ...] [DASHBOARD.json | DIR ...]
      prints one JSON object per query:
      {"dashboard": uid, "panel": title, "ref": refId, "instant": bool, "expr": PromQL}
      with Grafana variables ($var, ${var}, ${var:format}, [[var]]) replaced by --var values or
      the defaults below, so the lines can be sent to Prometheus' /api/v1/query(_range) as they
      are. A variable with no value is an error (exit 2): a query must never reach Prometheus
      with a literal "$job_id" in it.

  dashboard-queries.py --check [DASHBOARD.json | DIR ...]
      checks what Grafana needs and what our conventions promise: schemaVersion >= 39, a
      `datasource` variable of type datasource (query prometheus), every panel and target
      using ${datasource}, every panel with at least one target with an expression, every
      variable an expression uses defined on the dashboard, unique panel ids and dashboard
      uids; a multi-select `cluster` variable on every dashboard and `$cluster` in every query
      (one Grafana over several clusters' data); the node, GPU and cluster variables
      multi-select with an "All" of `.*`; a unit and thresholds on every panel. Prints one line
      per dashboard, exits 1 if any fails.

Without paths it reads dashboards/*.json of this repository. Python 3 standard library only
(it runs on CI machines and in the end-to-end test).
"""
import argparse
import json
import pathlib
import re
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

# Values of Grafana's built-in variables when the caller gives none: a one-hour dashboard range
# and a 15 s scrape interval (the shipped scrape config).
BUILTIN_DEFAULTS = {
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
}
# Variables Grafana defines itself (the checker accepts them without a templating entry).
BUILTIN_NAMES = set(BUILTIN_DEFAULTS) | {"__dashboard", "__org", "__user", "__name", "timeFilter"}

# $name, ${name}, ${name:format}, [[name]], [[name:format]]
VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
MIN_SCHEMA_VERSION = 39
# Variables a reader compares several values of (several nodes, GPUs, clusters at once).
MULTI_SELECT = ("cluster", "instance", "uuid")


def dashboard_files(paths):
    """Dashboard JSON files named by the arguments (files, or directories holding *.json)."""
    if not paths:
        paths = [REPO_ROOT / "dashboards"]
    files = []
    for raw in paths:
        path = pathlib.Path(raw)
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise SystemExit(f"dashboard-queries: {raw}: no such file or directory")
    if not files:
        raise SystemExit(f"dashboard-queries: no *.json dashboard under {', '.join(map(str, paths))}")
    return files


def load(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SystemExit(f"dashboard-queries: {path}: not a readable JSON dashboard ({error})")


def panels_of(dashboard):
    """Every panel, including those nested in collapsed rows; rows themselves are not panels."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def variables_in(text):
    return {next(group for group in match.groups() if group) for match in VARIABLE.finditer(text)}


def substitute(expr, values):
    def replace(match):
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise KeyError(name)
        return values[name]

    return VARIABLE.sub(replace, expr)


def queries(files, values):
    for path in files:
        dashboard = load(path)
        for panel in panels_of(dashboard):
            for target in panel.get("targets", []):
                if target.get("hide") or not target.get("expr"):
                    continue
                try:
                    expr = substitute(target["expr"], values)
                except KeyError as missing:
                    raise SystemExit(
                        f"dashboard-queries: {path.name}, panel {panel.get('title')!r}: variable "
                        f"${missing.args[0]} has no value; pass --var {missing.args[0]}=VALUE")
                yield {
                    "dashboard": dashboard.get("uid", path.stem),
                    "panel": panel.get("title", ""),
                    "ref": target.get("refId", ""),
                    "instant": bool(target.get("instant")) and not target.get("range"),
                    "expr": expr,
                }


def uses_datasource_variable(reference):
    """True for {"uid": "${datasource}"} (Grafana's object form) or the legacy "$datasource"."""
    if isinstance(reference, dict):
        reference = reference.get("uid")
    return reference in ("${datasource}", "$datasource")


def problems_of(dashboard):
    problems = []
    if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < MIN_SCHEMA_VERSION:
        problems.append(f"schemaVersion {dashboard.get('schemaVersion')!r} is below {MIN_SCHEMA_VERSION}")
    if not dashboard.get("uid"):
        problems.append("no uid (links between dashboards need one)")
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    source = variables.get("datasource")
    if not source or source.get("type") != "datasource" or source.get("query") != "prometheus":
        problems.append("no `datasource` variable of type datasource with query prometheus")
    for name, variable in variables.items():
        if variable.get("type") == "query" and not uses_datasource_variable(variable.get("datasource")):
            problems.append(f"variable {name} does not query ${{datasource}}")
        if name in MULTI_SELECT and not (variable.get("multi") and variable.get("includeAll") and variable.get("allValue") == ".*"):
            problems.append(f"variable {name} is not multi-select with an All of .*")
    if "cluster" not in variables:
        problems.append("no `cluster` variable")
    defined = set(variables) | BUILTIN_NAMES
    ids = set()
    panels = list(panels_of(dashboard))
    if not panels:
        problems.append("no panels")
    for panel in panels:
        title = panel.get("title") or f"id {panel.get('id')}"
        if panel.get("id") in ids:
            problems.append(f"panel {title!r}: duplicate id {panel.get('id')}")
        ids.add(panel.get("id"))
        if "gridPos" not in panel:
            problems.append(f"panel {title!r}: no gridPos")
        if not uses_datasource_variable(panel.get("datasource")):
            problems.append(f"panel {title!r}: datasource is not ${{datasource}}")
        targets = [t for t in panel.get("targets", []) if t.get("expr")]
        if not targets:
            problems.append(f"panel {title!r}: no target with an expression")
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        if not defaults.get("unit"):
            problems.append(f"panel {title!r}: no unit (fieldConfig.defaults.unit; \"none\" for counts and tables)")
        if not defaults.get("thresholds", {}).get("steps"):
            problems.append(f"panel {title!r}: no thresholds (fieldConfig.defaults.thresholds)")
        for target in targets:
            if not uses_datasource_variable(target.get("datasource")):
                problems.append(f"panel {title!r} target {target.get('refId')}: datasource is not ${{datasource}}")
            for name in sorted(variables_in(target["expr"]) - defined):
                problems.append(f"panel {title!r}: expression uses undefined variable ${name}")
            if "cluster" not in variables_in(target["expr"]):
                problems.append(f"panel {title!r} target {target.get('refId')}: does not select cluster=~\"$cluster\"")
    return problems


def check(files):
    failed = 0
    uids = {}
    for path in files:
        dashboard = load(path)
        problems = problems_of(dashboard)
        uid = dashboard.get("uid")
        if uid in uids:
            problems.append(f"uid {uid!r} already used by {uids[uid]}")
        uids[uid] = path.name
        if problems:
            failed += 1
            print(f"FAIL {path.name}")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"ok   {path.name} ({sum(1 for _ in panels_of(dashboard))} panels)")
    return 1 if failed else 0


def parse_assignment(text):
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE, e.g. job_id=4242")
    return name, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="dashboard JSON files or directories (default: dashboards/)")
    parser.add_argument("--var", action="append", type=parse_assignment, default=[], metavar="NAME=VALUE",
                        help="value of a dashboard variable (repeatable), e.g. --var job_id=4242 --var __range=5m")
    parser.add_argument("--check", action="store_true", help="check dashboard structure instead of listing queries")
    arguments = parser.parse_args()
    files = dashboard_files(arguments.paths)
    if arguments.check:
        return check(files)
    values = dict(BUILTIN_DEFAULTS)
    values.update(arguments.var)
    for query in queries(files, values):
        print(json.dumps(query))
    return 0


if __name__ == "__main__":
    sys.exit(main())
