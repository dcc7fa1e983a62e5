# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fingerprint of everything a plan of one host is made from (controller only).

Given platforms, it first refuses a host whose platform the collection does
not know (from the host's gathered facts: the filter spiff.arena.platform_refusal,
which roles/engine/tasks/preflight.yml uses too), one task less per host in
the plan than a separate check.

The plan of playbooks/site.yml records, on each host it applied, the items it
rendered and this fingerprint. A later run whose fingerprint for the host is
the same renders nothing: the host compares the recorded items with what it
has (spiff.arena.spiff_plan_read, option record), which finds drift too.
So the fingerprint must change whenever a rendering could: it covers
  - every spiff_* variable of the host, resolved (inventory, extra vars and
    every role's defaults), secrets included (only their checksum leaves
    this plugin), but for the few no rendering reads (NOT_RENDERED);
  - the inventory's spiff_* groups and the private address of each of
    their hosts;
  - the facts the roles read (addresses, CPUs, OS) and the Ansible version
    (the backend hosts' addresses as the host resolves them are recorded
    beside the fingerprint and compared by the module itself);
  - the collection's own files (roles, plugins, playbooks);
  - the controller's files a rendering reads: the secrets directory and the
    process models directory;
  - whether the proxy's self-signed certificate in the secrets directory
    expires within spiff_proxy_tls_renew_days: time alone makes it due, and
    the rendering (roles/proxy/tasks/tls.yml) renews it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.spiff.arena.plugins.filter.addresses import private_addresses
from ansible_collections.spiff.arena.plugins.filter.platform import platform_refusal

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Settings of the run itself that no rendering reads: a run with one of them
# changed still compares with the recorded plan.
NOT_RENDERED = {"spiff_apply_unchanged", "spiff_no_log"}
FACTS = ("default_ipv4", "spiff_private_ipv4", "processor_vcpus", "os_family", "distribution", "distribution_version",
         "distribution_major_version")
_CODE = {}


def renewal_due(path, days):
    """True when the PEM certificate at path expires within days (False when absent or unreadable)."""
    try:
        from cryptography import x509
        with open(path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
        return left < datetime.timedelta(days=int(days))
    except (OSError, ValueError, TypeError, ImportError, AttributeError):
        return False


def _tree(top, skip=(".git",)):
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in skip and d != "__pycache__")
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.isfile(path):
                digest.update(os.path.relpath(path, top).encode() + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def _code():
    """The collection's roles, plugins and playbooks (once per process)."""
    if "sha" not in _CODE:
        _CODE["sha"] = "".join(_tree(os.path.join(ROOT, d)) for d in ("roles", "plugins", "playbooks")
                               if os.path.isdir(os.path.join(ROOT, d)))
    return _CODE["sha"]


def _plain(value):
    return json.loads(json.dumps(value, sort_keys=True, default=str))


class ActionModule(ActionBase):
    """spiff.arena.spiff_plan_fingerprint: one checksum of a host's plan inputs."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("platforms", "sort"))

    def _role_defaults(self):
        defaults = {}
        roles = os.path.join(ROOT, "roles")
        for role in sorted(os.listdir(roles)):
            path = os.path.join(roles, role, "defaults", "main.yml")
            if os.path.exists(path):
                try:
                    data = self._loader.load_from_file(path, trusted_as_template=True)
                except TypeError:  # ansible-core before 2.19
                    data = self._loader.load_from_file(path)
                defaults.update(data or {})
        return defaults

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        platforms = self._task.args.get("platforms")
        refusal = platforms is not None and platform_refusal(task_vars.get("ansible_facts"), platforms,
                                                             task_vars.get("inventory_hostname"))
        if refusal:
            return dict(result, failed=True, msg=refusal)
        context = dict(self._role_defaults())
        context.update(task_vars)
        templar = self._templar.copy_with_new_env(available_variables=context)
        inputs = {}
        for name in sorted(k for k in context if k.startswith("spiff_") and k not in NOT_RENDERED):
            try:
                inputs[name] = _plain(templar.template(context[name]))
            except AnsibleError as error:  # a value this host cannot resolve: its raw text then
                inputs[name] = ["unresolved", str(context[name]), str(error).split("\n", maxsplit=1)[0]]
        groups = {g: list(h) for g, h in sorted(task_vars.get("groups", {}).items()) if g.startswith("spiff_")
                  and not g.startswith("spiff_plan_")}
        members = sorted({h for hosts in groups.values() for h in hosts})
        facts = task_vars.get("ansible_facts", {})
        inputs.update({
            "_host": [task_vars.get("inventory_hostname"), _plain(context.get("ansible_host"))],
            "_groups": groups,
            "_addresses": private_addresses(members, task_vars.get("hostvars", {})),
            "_facts": _plain({k: facts.get(k) for k in FACTS}),
            "_ansible": str(task_vars.get("ansible_version", {}).get("full", "")),
            "_code": _code(),
        })
        for key in ("spiff_secrets_dir", "spiff_backend_process_models_src"):
            path = inputs.get(key)
            if isinstance(path, str) and path:
                try:
                    found = self._find_needle("files", path) if not os.path.isabs(path) else path
                except AnsibleError:
                    found = path
                inputs["_dir_" + key] = _tree(found) if os.path.isdir(found) else "absent"
                if key == "spiff_secrets_dir":
                    inputs["_tls_renewal_due"] = renewal_due(os.path.join(found, "proxy-tls.crt"),
                                                             inputs.get("spiff_proxy_tls_renew_days", 30))
        result["changed"] = False
        result["fingerprint"] = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
        if self._task.args.get("sort"):
            result.update(self._sort(result["fingerprint"], task_vars, templar.template(context.get("spiff_apply_unchanged", False))))
        return result

    @staticmethod
    def _sort(fingerprint, task_vars, apply_unchanged):
        """What the plan's read (registered as _spiff_plan_read) gives this host: when it recorded
        the plan it applied for this fingerprint, its verdicts (plan); and whether the host has
        anything to do (no such record, a verdict to act on, or spiff_apply_unchanged), in which
        case it joins the group spiff_plan_busy, as group_by would put it: only those hosts run
        the rest of the plan (rendering, the joining of the apply plays' groups)."""
        read = task_vars.get("_spiff_plan_read") or {}
        host = task_vars.get("inventory_hostname")
        recorded = bool(read.get("record_fingerprint")) and read.get("record_fingerprint") == fingerprint
        plan = [dict(v, host=host) for v in read.get("verdicts") or []] if recorded else []
        if boolean(apply_unchanged, strict=False):
            plan = [dict(v, action="apply", reasons=["spiff_apply_unchanged"]) for v in plan]
        busy = not recorded or any(v.get("action") != "none" for v in plan)
        found = {"plan": _plain(plan), "busy": busy}
        if busy:
            found.update(add_group="spiff_plan_busy", parent_groups=[])
        return found
