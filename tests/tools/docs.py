#!/usr/bin/env python3
"""Keep the README's variables table equal to the roles' argument specs.

  docs.py          rewrite the table between the markers in README.md
  docs.py --check  fail (exit 1) when the table is out of date

The table lists every option of every role's `main` entry point: the engine
role's options are the collection-wide settings.
"""

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
START, END = "<!-- variables:start -->", "<!-- variables:end -->"
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


def table():
    rows = ["| role | variable | default | meaning |", "|---|---|---|---|"]
    roles = sorted((p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists()),
                   key=lambda r: (ORDER.index(r) if r in ORDER else len(ORDER), r))
    for role in roles:
        spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
        for name, option in (spec["argument_specs"]["main"].get("options") or {}).items():
            description = option.get("description", "")
            if isinstance(description, list):
                description = " ".join(description)
            where = "all (collection-wide)" if role == "engine" else role
            rows.append(f"| {where} | `{name}` | {default(option)} | {cell(description)} |")
    return "\n".join(rows)


def main():
    text = README.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        sys.exit(f"docs: {README.name} has no {START} marker")
    new = f"{head}{START}\n{table()}\n{END}{tail}"
    if "--check" in sys.argv:
        if new != text:
            sys.exit("docs: README.md's variables table differs from the argument specs: run tests/tools/docs.py")
        print("docs: README.md's variables table matches the argument specs")
        return
    README.write_text(new)


if __name__ == "__main__":
    main()
