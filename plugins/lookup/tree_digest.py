# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checksums of the files of a directory on the controller."""

from __future__ import annotations

DOCUMENTATION = """
name: tree_digest
author: spiff.arena developers (!UNKNOWN)
short_description: The SHA-256 of every file under a directory on the controller
description:
  - "Returns one dictionary per directory given, C({relative path: sha256}) of every
    regular file under it (recursively; C(.git) directories are left out), as the
    plan of C(playbooks/site.yml) compares it with the process models on a host."
options:
  _terms:
    description: Directories on the controller.
    required: true
"""

EXAMPLES = """
- name: Checksums of the process models to copy
  ansible.builtin.debug:
    msg: "{{ lookup('spiff.arena.tree_digest', 'files/process_models') }}"
"""

RETURN = """
_raw:
  description: One dictionary per directory, relative path to SHA-256.
  type: list
  elements: dict
"""

import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.spiff.arena.plugins.module_utils.plan import tree_digest


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        result = []
        for term in terms:
            # Found as the copy module finds its src: relative to the play's and roles' files.
            path = self.find_file_in_search_path(variables, "files", term, ignore_missing=True) or term
            if not os.path.isdir(path):
                raise AnsibleError(f"tree_digest: {term} is not a directory on the controller")
            result.append(tree_digest(path))
        return result
