# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check every host's variables against the roles' argument specs, and the inventory, at once.

Runs on the controller only (no connection). For every host in a spiff_*
group it resolves each option of every role's meta/argument_specs.yml as a
play would (role defaults, then the inventory and extra vars), checks type,
choices, elements and ``spiff_check`` (plugin_utils/checks.py), then the rules
between variables and between hosts (rules.py). Problems that several hosts
share are reported once, naming the group (or "every host") they come from.
"""

from __future__ import annotations

import json
import os
import re

from ansible.errors import AnsibleError
from ansible.module_utils.common.validation import check_type_bool, check_type_int
from ansible.plugins.action import ActionBase

from ansible_collections.spiff.arena.plugins.plugin_utils import checks, rules

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")
GROUPS = ["spiff_database", "spiff_redis", "spiff_api", "spiff_worker", "spiff_background",
          "spiff_frontend", "spiff_connector", "spiff_proxy"]


class ActionModule(ActionBase):
    """spiff.arena.guard: every problem of the inventory, at once."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("hosts",))

    def _load(self, path):
        if not os.path.exists(path):
            return {}
        try:
            data = self._loader.load_from_file(path, trusted_as_template=True)
        except TypeError:  # ansible-core before 2.19: every loaded string is a template
            data = self._loader.load_from_file(path)
        return data or {}

    def _specs_and_defaults(self):
        options, defaults, role_vars = {}, {}, {}
        for role in sorted(os.listdir(ROLES)):
            spec = self._load(os.path.join(ROLES, role, "meta", "argument_specs.yml"))
            for name, option in ((spec.get("argument_specs") or {}).get("main", {}).get("options") or {}).items():
                options[name] = dict(option, role=role)
            defaults.update(self._load(os.path.join(ROLES, role, "defaults", "main.yml")))
            role_vars.update(self._load(os.path.join(ROLES, role, "vars", "main.yml")))
        return options, defaults, role_vars

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        hostvars = task_vars["hostvars"]
        groups = {name: list(hosts) for name, hosts in task_vars["groups"].items()}
        hosts = self._task.args.get("hosts")
        if hosts is None:
            hosts = sorted({h for g in GROUPS for h in groups.get(g, [])},
                           key=lambda h: groups["all"].index(h) if h in groups["all"] else 0)
        options, defaults, role_vars = self._specs_and_defaults()
        secrets = {name for name, option in options.items() if option.get("no_log")}

        values, problems = {}, []
        # Hosts given the same variables in the same groups resolve every option
        # to the same value, except those whose templates read the host itself
        # (its name, address, facts): those are resolved per host, the others
        # once per such class of hosts. A large inventory costs a few classes.
        resolved, dependent = {}, None
        for host in hosts:
            given = hostvars.raw_get(host)
            context = dict(defaults)
            context.update(role_vars)
            context.update(given)
            context["hostvars"] = hostvars
            templar = self._templar.copy_with_new_env(available_variables=context)
            host_values = {"_groups": [g for g in GROUPS if host in groups.get(g, [])],
                           "_given": set(given)}
            if dependent is None:
                dependent = _host_dependent(context)
            signature = _signature(given, host_values["_groups"])
            known = resolved.setdefault(signature, {})
            for name, option in options.items():
                if name in known and name not in dependent:
                    value, problem = known[name]
                else:
                    value, problem = self._resolve(templar, context, name, option, name in secrets, host_values)
                    known[name] = (value, problem)
                if problem:
                    problem = problem.replace("{value}", "" if name in secrets else _show(value)).strip()
                    problems.append((host, name, problem))
                else:
                    host_values[name] = value
            for key in ("ansible_host",):
                if key in context:
                    host_values[key] = context[key]
            values[host] = host_values

        for host, name, problem in rules.check(values, groups, role_vars):
            problems.append((host, name, problem))

        report = _report(problems, hosts, groups, secrets)
        result["changed"] = False
        if report:
            result["failed"] = True
            result["msg"] = (f"The inventory has {len(report)} problem{'s' if len(report) > 1 else ''};"
                             " no host was contacted. Correct them and run again:\n"
                             + "\n".join(f"- {line}" for line in report))
        else:
            result["msg"] = f"{len(hosts)} hosts checked"
            result["problems"] = []
        return result

    def _resolve(self, templar, context, name, option, secret, host_values):
        """The value of one option on one host, converted to its type, or a problem."""
        generated = isinstance(option.get("default"), str) and "spiff.arena.secret" in option["default"]
        raw = context.get(name)
        if generated and name not in host_values["_given"] and raw == option.get("default") \
                and _truthy(context.get("spiff_generate_secrets", True), templar):
            return None, None  # generated when first used: right by construction
        try:
            value = templar.template(raw)
        except AnsibleError as error:
            text = str(error).split("\n", maxsplit=1)[0].split(" failed: ", 1)[-1]
            if secret and "spiff_generate_secrets is false" not in text:
                text = "its template failed (details hidden: it is a secret)"
            return None, f"could not be worked out: {text}"
        if value is None:
            return raw, "is empty (null): give a value, or remove the variable to use the default"
        converted, problem = _convert(value, option)
        if problem:
            return value, problem
        value = converted
        if "choices" in option and value not in option["choices"]:
            return value, f"{{value}} is not one of {', '.join(map(str, option['choices']))}: use one of them"
        names = option.get("spiff_check") or checks.OPTION_CHECKS.get(name) or []
        names = [names] if isinstance(names, str) else names
        if isinstance(value, str) and not any(n.startswith("pem_") for n in names):  # PEM goes to a file whole
            problem = checks.one_line(value)
            if problem:
                return value, problem
        for check in names:
            problem = checks.check(check, value)
            if problem:
                return value, f"{{value}} {problem}"
        return value, None


# Variables whose value differs from host to host however the inventory gives them.
_PER_HOST = re.compile(r"\b(inventory_hostname\w*|ansible_host|ansible_facts|ansible_[a-z0-9_]+|group_names)\b")
_MAGIC = {"inventory_hostname", "inventory_hostname_short", "ansible_host", "group_names"}


def _host_dependent(context):
    """Names of the variables whose template reads the host, directly or through another variable."""
    texts = {name: json.dumps(value, default=str) if not isinstance(value, str) else value
             for name, value in context.items() if name != "hostvars"}
    found = {name for name, text in texts.items() if "{" in text and _PER_HOST.search(text)}
    while True:
        if not found:
            return found
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(found))) + r")\b")
        more = {name for name, text in texts.items() if name not in found and "{" in text and pattern.search(text)}
        if not more:
            return found
        found |= more


def _signature(given, host_groups):
    """What makes two hosts resolve the host-independent options alike."""
    return json.dumps([host_groups, {k: v for k, v in given.items() if k not in _MAGIC}], sort_keys=True, default=str)


def _show(value):
    if value is None:
        return ""
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


def _truthy(value, templar):
    try:
        return check_type_bool(templar.template(value))
    except (TypeError, AnsibleError):
        return True


def _convert(value, option):
    kind = option.get("type", "str")
    if kind == "raw":
        return value, None
    if kind == "str":
        if isinstance(value, bool):
            return None, "{value} is a boolean (yes/no/true/false unquoted): quote it to give text"
        if isinstance(value, (int, float)):
            return str(value), None
        if not isinstance(value, str):
            return None, f"is a {type(value).__name__}, not text: give text"
        return str(value), None
    if kind == "int":
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            return None, "{value} is not a whole number: give one"
        try:
            return check_type_int(value), None
        except (TypeError, ValueError):
            return None, "{value} is not a whole number: give one"
    if kind == "bool":
        try:
            return check_type_bool(value), None
        except (TypeError, ValueError):
            return None, "{value} is not a boolean: give true or false"
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            return None, f"is a {type(value).__name__}, not a list: give a YAML list ([a, b])"
        elements = option.get("elements")
        if elements == "str":
            if any(isinstance(item, (dict, list, tuple, bool)) or item is None for item in value):
                return None, "holds an item that is not text: give a list of texts"
            value = [str(item) for item in value]
        return list(value), None
    if kind == "dict":
        if not isinstance(value, dict):
            return None, f"is a {type(value).__name__}, not a dict: give NAME: value pairs"
        return dict(value), None
    return value, None


def _where(hosts, all_hosts, groups):
    hosts = sorted(set(hosts), key=all_hosts.index)
    if len(hosts) > 1 and len(hosts) == len(all_hosts):
        return "every host"
    for group in GROUPS + sorted(groups):
        if group not in ("all", "ungrouped") and len(hosts) > 1 and set(groups.get(group, [])) == set(hosts):
            return f"group {group}"
    if len(hosts) > 4:
        return f"hosts {', '.join(hosts[:4])} and {len(hosts) - 4} more"
    return ("host " if len(hosts) == 1 else "hosts ") + ", ".join(hosts)


def _report(problems, all_hosts, groups, secrets):
    """One line per distinct problem: variable (where): what is wrong and what to do."""
    merged = {}
    for host, name, problem in problems:
        merged.setdefault((name, problem), []).append(host)
    lines = []
    for (name, problem), hosts in merged.items():
        where = _where([h for h in hosts if h in all_hosts] or hosts, all_hosts or hosts, groups) if hosts[0] else "inventory"
        text = problem
        lines.append(f"{name} ({where}): {text}".replace("  ", " "))
    return lines
