#!/usr/bin/env python3
"""Fail when a role's meta/argument_specs.yml and defaults/main.yml disagree.

For every role: the options of the `main` entry point must be exactly the keys
of defaults/main.yml, and each option's `default` must equal the value there
(options without a default in the spec must not be in defaults either).
"""

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def check(role: Path) -> list[str]:
    errors = []
    spec_file = role / "meta" / "argument_specs.yml"
    defaults_file = role / "defaults" / "main.yml"
    if not spec_file.exists():
        return [f"{role.name}: meta/argument_specs.yml is missing"]
    options = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"].get("options") or {}
    defaults = {}
    if defaults_file.exists():
        defaults = yaml.safe_load(defaults_file.read_text()) or {}
    for key in sorted(set(defaults) - set(options)):
        errors.append(f"{role.name}: {key} is in defaults/main.yml but not in meta/argument_specs.yml")
    for key, option in sorted(options.items()):
        if not option.get("description"):
            errors.append(f"{role.name}: {key} has no description in meta/argument_specs.yml")
        if key.startswith("_"):
            continue
        if key not in defaults:
            if "default" in option or not option.get("required"):
                errors.append(f"{role.name}: {key} is in meta/argument_specs.yml but not in defaults/main.yml"
                              " (mark it required: true or give it a default)")
            continue
        if option.get("default") != defaults[key]:
            errors.append(f"{role.name}: {key} defaults to {defaults[key]!r} in defaults/main.yml"
                          f" but to {option.get('default')!r} in meta/argument_specs.yml")
    return errors


def main():
    roles = sorted(p for p in (REPO / "roles").iterdir() if p.is_dir())
    errors = [e for role in roles for e in check(role)]
    for error in errors:
        print(f"argument specs: {error}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"argument specs: {len(roles)} roles agree with their defaults")


if __name__ == "__main__":
    main()
