"""Permissions as upstream reads them: one YAML file of groups and permissions.

The file is SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_ABSOLUTE_PATH, else the
file named by SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_NAME among the ones
bundled in the image (standin/bundled_permissions/). Its format is upstream's:

    groups:       {group: {users: [email, ...]}}
    permissions:  {name: {groups: [group, ...], actions: [...], uri: ...}}

An action is create, read, update, delete, all or start; "DENY:<action>"
denies it, and a deny wins over any permit (as upstream's grant_type deny).
A uri is a path under /v1.0 ("/*" and "/process-models/*" end in a
wildcard) or the macros PG:ALL and PM:ALL (every process group and model).
Other macros (BASIC, ELEVATED, SUPPORT) grant nothing the stand-in serves.
Every user is in the group "everybody" (SPIFFWORKFLOW_BACKEND_DEFAULT_USER_GROUP).
No file at all: nothing is checked (the stand-in's other tests need none).
"""

import os

import yaml

from . import settings

METHOD_ACTIONS = {"GET": "read", "HEAD": "read", "POST": "create", "PUT": "update",
                  "PATCH": "update", "DELETE": "delete"}
CRUD = ["create", "read", "update", "delete"]
BUNDLED = os.path.join(os.path.dirname(__file__), "bundled_permissions")


def path():
    given = settings.env("SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_ABSOLUTE_PATH")
    if given:
        return given
    name = settings.env("SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_NAME")
    return os.path.join(BUNDLED, name) if name else ""


def load(file_path):
    """[(groups, grant, action, target)] of a permissions file."""
    with open(file_path, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle) or {}
    rules = []
    for name, rule in (doc.get("permissions") or {}).items():
        actions = rule.get("actions", rule.get("allowed_permissions")) or []
        targets = _targets(str(rule.get("uri", "")))
        for action in actions:
            grant = "permit"
            if str(action).startswith("DENY:"):
                grant, action = "deny", action[len("DENY:"):]
            for one in CRUD if action == "all" else [action]:
                if one == "start":
                    rules += [(rule.get("groups") or [], grant, "create", t) for t in
                              ["/process-instances/*", "/process-instance-run/*"]]
                else:
                    rules += [(rule.get("groups") or [], grant, one, t) for t in targets]
    members = {group: set((info or {}).get("users") or []) for group, info in (doc.get("groups") or {}).items()}
    return rules, members


def _targets(uri):
    if uri in ("PG:ALL", "PG:/ALL"):
        return ["/process-groups/*", "/process-models/*"]
    if uri in ("PM:ALL", "PM:/ALL"):
        return ["/process-models/*"]
    if uri.startswith("/"):
        return [uri]
    return []


def _matches(target, actual):
    """upstream's target_uri_matches_actual_uri, with * for its %."""
    if target.endswith("*"):
        stem = target[:-1]
        return actual == stem.rstrip(":/") or actual.startswith(stem)
    return actual == target


def allowed(user, method, request_path):
    """(allowed, reason) for `user` doing `method` on `request_path` (with or without /v1.0)."""
    file_path = path()
    if not file_path:
        return True, "no permissions file"
    rules, members = load(file_path)
    groups = {"everybody"} | {g for g, users in members.items() if user in users}
    action = METHOD_ACTIONS.get(method.upper(), "read")
    actual = request_path[len("/v1.0"):] if request_path.startswith("/v1.0/") else request_path
    found = [grant for rule_groups, grant, rule_action, target in rules
             if rule_action == action and groups.intersection(rule_groups) and _matches(target, actual)]
    if not found:
        return False, f"User {user} is not authorized to perform requested action: {action} - {actual}"
    if "deny" in found:
        return False, f"User {user} is denied the requested action: {action} - {actual}"
    return True, "permitted"
