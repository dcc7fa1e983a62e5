# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take a service's spec once, check it and name what it runs as (controller only).

roles/engine/tasks/service.yml did this in three tasks: the spec taken into a
fact, checked with ansible.builtin.validate_argument_spec against the entry
point "service" of roles/engine/meta/argument_specs.yml, and the unit,
container and files named. Each task costs its own round through Ansible's
executor for every host and service, twice per deploying run (plan, then
apply); this is one.
"""

from __future__ import annotations

import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

SPECS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                      "roles", "engine", "meta", "argument_specs.yml"))
_VALIDATOR = {}


def validator():
    """The entry point "service", read once per process."""
    if "service" not in _VALIDATOR:
        with open(SPECS, encoding="utf-8") as handle:
            options = yaml.safe_load(handle)["argument_specs"]["service"]["options"]
        _VALIDATOR["service"] = ArgumentSpecValidator(options)
    return _VALIDATOR["service"]


class ActionModule(ActionBase):
    """spiff.arena.spiff_service_spec: the service's facts, from its spec and the defaults."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("spec", "defaults", "config_dir", "engine_bin"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        spec = dict(args.get("defaults") or {})
        spec.update(args.get("spec") or {})
        checked = validator().validate({"spiff_engine_service": spec})
        if checked.error_messages:
            raise AnsibleActionFail("The service spec does not match the entry point \"service\" of "
                                    "roles/engine/meta/argument_specs.yml: " + "; ".join(checked.error_messages))
        name = spec["name"]
        config_dir = args["config_dir"]
        result["changed"] = False
        result["ansible_facts"] = {
            "_spiff_svc": spec,
            "_spiff_svc_unit": f"spiff-{name}.service",
            "_spiff_svc_unit_path": f"/etc/systemd/system/spiff-{name}.service",
            "_spiff_svc_container": f"spiff-{name}",
            "_spiff_svc_env_file": f"{config_dir}/{name}.env",
            # Present while a rollout holds the replica out of the proxies' pool.
            "_spiff_svc_out_of_pool": f"{config_dir}/{name}.out-of-pool",
            "_spiff_svc_bin": args["engine_bin"],
            "_spiff_svc_image_changed": False,
        }
        return result
