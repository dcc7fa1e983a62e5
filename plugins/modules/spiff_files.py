#!/usr/bin/python
# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a service's files (environment, unit, configuration) in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: spiff_files
short_description: Write several files from their content in one call, each atomically
description:
  - "Writes each file whose content, owner, group or mode differs from what is
    given, and reports which ones changed: what one C(ansible.builtin.copy)
    with C(content) per file does, in one call to the host instead of three
    or more per file."
  - Each file is written to a temporary file in its directory and moved over
    the old one, so a reader never sees half a file.
  - "The content of the files in O(masked_files) is kept out of the output,
    at any verbosity and with C(--diff); the files in O(files) show their
    difference with C(--diff), like C(ansible.builtin.copy)."
  - Supports check mode.
options:
  files:
    description: The files to write whose content may be shown.
    type: list
    elements: dict
    default: []
    suboptions: &file_options
      dest:
        description: Path of the file; its directory must exist.
        type: path
        required: true
      content:
        description: The file's whole text.
        type: str
        required: true
      owner:
        description: Owner, a user name.
        type: str
        default: root
      group:
        description: Group, a group name.
        type: str
        default: root
      mode:
        description: Permissions, octal text such as C(0640).
        type: str
        default: "0640"
      secret:
        description: Ignored (the list it is in decides); accepted so that one spec serves both lists.
        type: bool
        default: false
  masked_files:
    description: The files to write whose content is never shown (written after O(files)).
    type: list
    elements: dict
    default: []
    suboptions: *file_options  # the same as those of O(files)
author: spiff.arena authors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Write the environment and unit of spiff-api
  spiff.arena.spiff_files:
    files:
      - {dest: /etc/systemd/system/spiff-api.service, content: "[Unit]\n", mode: "0644"}
    masked_files:
      - {dest: /etc/spiff/api.env, content: "A=1\n", mode: "0600"}
"""

RETURN = r"""
files:
  description: Each file given (O(files), then O(masked_files)), with whether it changed.
  returned: always
  type: list
  elements: dict
  sample: [{dest: /etc/spiff/api.env, changed: true}]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_one(module, spec, secret):
    dest = spec["dest"]
    directory = os.path.dirname(dest) or "."
    if not os.path.isdir(directory):
        module.fail_json(msg=f"Destination directory {directory} does not exist (for {dest})")
    wanted = to_bytes(spec["content"], errors="surrogate_or_strict")
    before = read(dest)
    changed = before != wanted
    written = changed and not module.check_mode
    if written:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".spiff-files.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(wanted)
            # The new file gets its owner and mode before it takes the name:
            # a secret is never readable by others, not even for a moment.
            os.chmod(tmp, int(spec["mode"], 8))
            module.set_owner_if_different(tmp, spec["owner"], False)
            module.set_group_if_different(tmp, spec["group"], False)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    elif before is not None:
        # the same content: its owner and mode may still differ
        changed = module.set_owner_if_different(dest, spec["owner"], changed)
        changed = module.set_group_if_different(dest, spec["group"], changed)
        changed = module.set_mode_if_different(dest, spec["mode"], changed)
    diff = None
    if module._diff and before != wanted:
        diff = {"before_header": dest, "after_header": dest}
        if secret:
            diff.update(before="(secret content not shown)\n" if before is not None else "",
                        after="(secret content not shown, changed)\n")
        else:
            diff.update(before=to_text(before or b"", errors="surrogate_or_replace"),
                        after=to_text(wanted, errors="surrogate_or_replace"))
    return changed, diff


def main():
    def options(no_log):
        return {"type": "list", "elements": "dict", "default": [], "options": {
            "dest": {"type": "path", "required": True},
            "content": {"type": "str", "required": True, "no_log": no_log},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str", "default": "0640"},
            "secret": {"type": "bool", "default": False},
        }}
    module = AnsibleModule(argument_spec={"files": options(False), "masked_files": options(True)},
                           supports_check_mode=True)
    results, diffs = [], []
    for key in ("files", "masked_files"):
        for spec in module.params[key]:
            try:
                int(spec["mode"], 8)
            except ValueError:
                module.fail_json(msg=f"mode of {spec['dest']} is not octal text: {spec['mode']!r}")
            changed, diff = write_one(module, spec, key == "masked_files")
            results.append({"dest": spec["dest"], "changed": changed})
            if diff:
                diffs.append(diff)
    result = {"changed": any(r["changed"] for r in results), "files": results}
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
