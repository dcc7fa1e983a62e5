#!/usr/bin/python
# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the service spec action; the work is done on the controller by plugins/action/spiff_service_spec.py."""

from __future__ import annotations

DOCUMENTATION = r"""
module: spiff_service_spec
short_description: Take a service's spec, check it, and name its unit, container and files
description:
  - Runs on the controller only (an action plugin); no host is contacted.
  - "Merges O(spec) over O(defaults), checks the result against the entry point C(service) of
    C(roles/engine/meta/argument_specs.yml) and sets the facts C(roles/engine/tasks/service.yml)
    works with: C(_spiff_svc) (the spec) and the names of its unit, unit file, container,
    environment file and out-of-pool marker."
  - The spec may hold secrets; give the task C(no_log).
options:
  spec:
    description: The service's spec (C(spiff_engine_service)).
    type: dict
    required: true
  defaults:
    description: Values for the keys the spec leaves out.
    type: dict
    default: {}
  config_dir:
    description: Directory of the service's environment file (C(spiff_config_dir)).
    type: path
    required: true
  engine_bin:
    description: Path of the container engine's binary on the host.
    type: path
    required: true
author: spiff.arena authors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Take the service's spec
  spiff.arena.spiff_service_spec:
    spec: "{{ spiff_engine_service }}"
    config_dir: /etc/spiff
    engine_bin: /usr/bin/podman
  no_log: true
"""

RETURN = r"""
ansible_facts:
  description: C(_spiff_svc) and the names C(_spiff_svc_unit), C(_spiff_svc_unit_path), C(_spiff_svc_container),
    C(_spiff_svc_env_file), C(_spiff_svc_out_of_pool), C(_spiff_svc_bin), C(_spiff_svc_image_changed).
  type: dict
  returned: always
"""
