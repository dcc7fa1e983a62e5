#!/usr/bin/env python3
"""Keep the README's generated tables equal to their sources.

  docs.py          rewrite the tables between their markers in README.md
  docs.py --check  fail (exit 1) when a table is out of date

variables: every option of every role's `main` entry point (the engine
role's options are the collection-wide settings), with what the guard accepts
for it: its type, choices and list elements from the spec, and the named
check of plugins/plugin_utils/checks.py (OPTION_CHECKS).
managed: the upstream settings the collection sets itself and the variable
to set instead (_spiff_managed_env in roles/engine/vars/main.yml).
"""

import importlib.util
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("checks", REPO / "plugins" / "plugin_utils" / "checks.py")
checks = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(checks)
README = REPO / "README.md"
MARKERS = {"variables": ("<!-- variables:start -->", "<!-- variables:end -->"),
           "managed": ("<!-- managed:start -->", "<!-- managed:end -->")}
ORDER = ["engine", "database", "redis", "backend", "frontend", "connector", "proxy"]


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def default(option):
    if "default" not in option:
        return "(required)" if option.get("required") else ""
    value = option["default"]
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, (dict, list)):
        value = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return f"`{cell(value)}`" if value != "" else '`""`'


def accepted(name, option):
    """What the guard accepts: type (list elements), choices, the named check."""
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        kind = f"list of {option['elements']}"
    parts = [kind]
    if option.get("choices"):
        parts.append("one of " + ", ".join(f"`{c}`" for c in option["choices"]))
    names = checks.OPTION_CHECKS.get(name) or []
    for check in [names] if isinstance(names, str) else names:
        parts.append(checks.doc(check))
    return "; ".join(parts)


def table():
    rows = ["| role | variable | default | accepted | meaning |", "|---|---|---|---|---|"]
    roles = sorted((p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists()),
                   key=lambda r: (ORDER.index(r) if r in ORDER else len(ORDER), r))
    for role in roles:
        spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
        for name, option in (spec["argument_specs"]["main"].get("options") or {}).items():
            description = option.get("description", "")
            if isinstance(description, list):
                description = " ".join(description)
            where = "all (collection-wide)" if role == "engine" else role
            rows.append(f"| {where} | `{name}` | {default(option)} | {cell(accepted(name, option))} | {cell(description)} |")
    return "\n".join(rows)


def managed_table():
    managed = yaml.safe_load((REPO / "roles" / "engine" / "vars" / "main.yml").read_text())["_spiff_managed_env"]
    rows = ["| component | upstream setting | set instead |", "|---|---|---|"]
    for component, settings in managed.items():
        for name, instead in settings.items():
            rows.append(f"| {component} | `{name}` | {cell(instead)} |")
    return "\n".join(rows)


def main():
    text = README.read_text()
    new = text
    for name, make in (("variables", table), ("managed", managed_table)):
        start, end = MARKERS[name]
        head, _, rest = new.partition(start)
        _, _, tail = rest.partition(end)
        if not rest:
            sys.exit(f"docs: {README.name} has no {start} marker")
        new = f"{head}{start}\n{make()}\n{end}{tail}"
    if "--check" in sys.argv:
        if new != text:
            sys.exit("docs: README.md's generated tables differ from their sources: run tests/tools/docs.py")
        print("docs: README.md's variables and managed-settings tables match their sources")
        return
    README.write_text(new)


if __name__ == "__main__":
    main()
