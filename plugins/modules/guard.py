#!/usr/bin/python
# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the guard action; the work is done on the controller by plugins/action/guard.py."""

from __future__ import annotations

DOCUMENTATION = r"""
module: guard
short_description: Check every host's Spiff Arena variables and the inventory before any host is contacted
description:
  - Runs on the controller only (an action plugin). No host is contacted, so unreachable hosts and
    C(--limit) change nothing. Run it once (C(run_once)), as the first play of C(playbooks/site.yml) does.
  - For every host of every C(spiff_*) group (or O(hosts)), resolves each option of every role's
    C(meta/argument_specs.yml) as a play would (role defaults, then the inventory and extra vars) and
    checks its C(type), C(choices), C(elements) and C(spiff_check) (named checks of ports, URLs, secrets,
    names, paths on the controller, PEM text). Any text that reaches a file must be one line.
  - Then checks the rules between variables and between hosts (groups, external URIs, ports of a host,
    TLS pair of a proxy host, one release, frontend settings, managed upstream settings).
  - Fails with every problem at once, each once; a problem shared by several hosts names the group
    (or every host) it comes from. A secret's value is never shown.
options:
  hosts:
    description: Hosts to check (default every host of every C(spiff_*) group).
    type: list
    elements: str
author: spiff.arena authors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check every host's variables and the inventory
  spiff.arena.guard:
  run_once: true
"""

RETURN = r"""
problems:
  description: One line per problem (variable, where it comes from, what is wrong and what to do); empty when none.
  type: list
  elements: str
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"hosts": {"type": "list", "elements": "str"}})
    module.fail_json(msg="spiff.arena.guard runs on the controller through its action plugin only")


if __name__ == "__main__":
    main()
