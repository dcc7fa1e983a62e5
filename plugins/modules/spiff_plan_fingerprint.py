#!/usr/bin/python
# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the fingerprint action; the work is done on the controller by plugins/action/spiff_plan_fingerprint.py."""

from __future__ import annotations

DOCUMENTATION = r"""
module: spiff_plan_fingerprint
short_description: One checksum of everything the plan of a host is made from
description:
  - Runs on the controller only (an action plugin); no host is contacted.
  - "Hashes every C(spiff_*) variable of the host (resolved as a play would: inventory, extra vars,
    every role's defaults; secrets only as part of the checksum), the C(spiff_*) groups and their
    hosts' private addresses, the facts the roles read, the Ansible version, the collection's own files and the controller's secrets and process
    models directories."
  - "Before that, given O(platforms), it refuses a host whose platform is not in that list, from the facts the play
    has of it (the filter P(spiff.arena.platform_refusal#filter), which the engine's preflight uses too)."
  - The plan of C(playbooks/site.yml) records it on a host with the items it applied there;
    a later run with the same fingerprint compares the recorded items with the host instead of
    rendering them again.
options:
  platforms:
    description:
      - "The platforms the collection knows, each a dict with C(family), C(distributions),
        C(releases) and C(tested) (the engine's C(_spiff_platforms)); an empty list refuses every host."
      - Not given, no platform is checked (the fingerprint taken again when the plan is recorded).
    type: list
    elements: dict
  sort:
    description:
      - "Also compare with the plan's read of the host (the registered C(_spiff_plan_read)): return the verdicts
        of the plan the host recorded for this fingerprint (RV(plan)), and put the host into the group
        C(spiff_plan_busy) when it has anything to do (no such record, a verdict to act on, or
        C(spiff_apply_unchanged)), as M(ansible.builtin.group_by) would."
    type: bool
    default: false
author: spiff.arena authors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Fingerprint this host's plan inputs
  spiff.arena.spiff_plan_fingerprint:
    platforms: "{{ _spiff_platforms }}"
  register: fingerprint
"""

RETURN = r"""
fingerprint:
  description: SHA-256 of the inputs, hexadecimal.
  type: str
  returned: always
plan:
  description: The verdicts of the plan the host recorded for this fingerprint, each with C(host); empty without such a record.
  type: list
  elements: dict
  returned: with O(sort)
busy:
  description: Whether the host has anything to do (it then joined C(spiff_plan_busy)).
  type: bool
  returned: with O(sort)
"""
