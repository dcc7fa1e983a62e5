# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the plan of playbooks/site.yml (the logic is in module_utils/plan.py)."""

from __future__ import annotations

from ansible_collections.spiff.arena.plugins.module_utils.plan import (
    env_digest,
    plan_files,
    plan_request,
    plan_table,
    plan_verdicts,
)


class FilterModule:
    def filters(self):
        return {
            "env_digest": env_digest,
            "plan_files": plan_files,
            "plan_request": plan_request,
            "plan_verdicts": plan_verdicts,
            "plan_table": plan_table,
        }
