#!/usr/bin/python
# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only: everything the plan compares, read from a host in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: spiff_plan_read
short_description: Read what a host has of the Spiff Arena services, in one call
description:
  - "Reads, for the plan of C(playbooks/site.yml), what a host has of what the
    collection deploys there: the checksum, mode and owner of files, the mode
    and owner of directories, the checksum of each line of environment files
    (by key), the enabled and active state of units, whether images and
    containers exist, the image id each service's container was created
    from, and the checksums of the files of a directory tree."
  - Returns checksums only, never the content of a file.
  - Changes nothing; supports check mode.
options:
  files:
    description: Files to read the checksum, mode and owner of.
    type: list
    elements: path
    default: []
  env_files:
    description: Environment files (KEY=value lines); each line's checksum is returned under its key.
    type: list
    elements: path
    default: []
  dirs:
    description: Directories to read the mode and owner of.
    type: list
    elements: path
    default: []
  exists:
    description: Paths to test for existence only.
    type: list
    elements: path
    default: []
  units:
    description: systemd units to read the enabled and active state of.
    type: list
    elements: str
    default: []
  engine:
    description: Container engine binary (images and containers are looked up with it).
    type: path
    default: /usr/bin/podman
  images:
    description: Image references to look for.
    type: list
    elements: str
    default: []
  containers:
    description: Container names to look for.
    type: list
    elements: str
    default: []
  container_images:
    description:
      - Container names whose image id (the id of the image each was created from) is read, in one
        engine call; the plan compares it with the id the engine has for the service's image
        reference now (O(images)).
    type: list
    elements: str
    default: []
  stamps:
    description: Small files whose text (the first 200 bytes, stripped) is read, such as the image id the schema was migrated for.
    type: list
    elements: path
    default: []
  trees:
    description: Directories whose files (all of them, recursively) are checksummed.
    type: list
    elements: path
    default: []
  gits:
    description:
      - "Git clones to compare with their remote: C({dir, url, version, key_file}) each; the remote is asked
        (C(git ls-remote)) which commit its C(version) names now."
    type: list
    elements: dict
    default: []
  record:
    description:
      - A plan recorded on the host after its last apply (JSON with C(fingerprint),
        C(resolved) and C(items)).
      - When it exists and its addresses are those of O(resolve) now, the module reads
        what the recorded items name (the options above are then ignored) and returns
        their verdicts and the record's fingerprint (RV(record_fingerprint)); the caller
        compares that with the fingerprint of this run's inputs. Otherwise
        RV(record_fingerprint) is empty and nothing more is read.
    type: path
  gather_subset:
    description:
      - Also gather this host's facts, as M(ansible.builtin.setup) does with this subset,
        and return them as C(ansible_facts), so the plan reads a host once, facts included.
      - Empty (the default) gathers none.
    type: list
    elements: str
    default: []
  gather_timeout:
    description: Seconds each fact collector may take (see M(ansible.builtin.setup)).
    type: int
    default: 10
  resolve:
    description:
      - Host names to resolve to an IPv4 address, as this host resolves them (the backend
        hosts, for the database's and the firewall's rules).
      - With O(record), a recorded plan whose addresses differ is not read.
    type: list
    elements: str
    default: []
  private_address:
    description:
      - This host's private address (C(spiff_private_address)), an IPv4 address or a name.
      - With O(gather_subset), the facts also hold C(spiff_private_ipv4), the IPv4 address
        the host publishes its ports on. That is the address itself when it is one of the
        host's own; for a name, the first of its IPv4 addresses (as this host resolves it)
        that is one of the host's own; else (an address the host does not have, binding it
        would fail) the default route's address, else 127.0.0.1.
    type: str
    default: ""
author: spiff.arena authors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read what the host has
  spiff.arena.spiff_plan_read:
    files: [/etc/spiff/api.env, /etc/systemd/system/spiff-api.service]
    env_files: [/etc/spiff/api.env]
    units: [spiff-api.service]
    images: [ghcr.io/sartography/spiffworkflow-backend:v3.0.0]
  register: observed
"""

RETURN = r"""
files:
  description: "{path: {sha, mode, uid, gid}} of the files that exist."
  type: dict
  returned: always
env:
  description: "{path: {key: checksum of the line}} of the environment files that exist."
  type: dict
  returned: always
dirs:
  description: "{path: {mode, uid, gid}} of the directories that exist."
  type: dict
  returned: always
exists:
  description: "{path: true or false}."
  type: dict
  returned: always
units:
  description: "{unit: {enabled, active}} as systemctl reports them."
  type: dict
  returned: always
images:
  description: "{reference: image id, or an empty string when absent}."
  type: dict
  returned: always
containers:
  description: "{name: true or false}."
  type: dict
  returned: always
container_images:
  description: "{name: the id of the image the container was created from} of the containers of O(container_images) that exist."
  type: dict
  returned: always
trees:
  description: "{directory: {relative path: checksum}}."
  type: dict
  returned: always
stamps:
  description: "{path: its text} of the stamp files that exist."
  type: dict
  returned: always
gits:
  description: "{directory: {head, remote, problem}}: the commit checked out, the one the remote names, why not read."
  type: dict
  returned: always
resolved:
  description: The first IPv4 address of each name of O(resolve), in order (empty when it does not resolve).
  type: list
  elements: str
  returned: always
record_fingerprint:
  description: The fingerprint of the plan read from O(record), empty when none was read.
  type: str
  returned: always
verdicts:
  description: "One verdict per recorded item: {host, component, name, action, reasons}."
  type: list
  elements: dict
  returned: when record_fingerprint is not empty
ansible_facts:
  description: The host's facts, as M(ansible.builtin.setup) gathers them, when O(gather_subset) is given.
  type: dict
  returned: when gather_subset is not empty
"""

import json
import os
import socket
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.facts import ansible_collector, default_collectors
from ansible.module_utils.facts.namespace import PrefixFactNamespace
from ansible_collections.spiff.arena.plugins.module_utils.plan import (
    OBSERVED,
    env_digest_bytes,
    file_sha256,
    git_state,
    plan_request,
    plan_verdicts,
    tree_digest,
)


def owner_mode(st):
    return {"mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def units_state(module, units):
    if not units:
        return {}
    rc, out, dummy = module.run_command(
        ["systemctl", "show", "--property", "Id,UnitFileState,ActiveState,LoadState", "--"] + list(units))
    states, current = {}, {}
    # One block of properties per unit, in the order asked, separated by blank lines.
    for line in (out.splitlines() + [""]) if rc == 0 else []:
        if not line.strip():
            if current:
                states[current.get("Id", "")] = current
            current = {}
            continue
        key, dummy, value = line.partition("=")
        current[key] = value
    result = {}
    for unit in units:
        found = states.get(unit, {})
        loaded = found.get("LoadState") not in (None, "not-found")
        result[unit] = {"enabled": found.get("UnitFileState", "") if loaded else "not-found",
                        "active": found.get("ActiveState", "") if loaded else "inactive"}
    return result


def observe(module, params):
    """What the host has of what params (the plan_request form) names."""
    result = {key: {} for key in OBSERVED}
    for path in params["stamps"]:
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                result["stamps"][path] = handle.read(200).decode("utf-8", "replace").strip()
    for path in params["files"]:
        if os.path.isfile(path):
            result["files"][path] = dict(owner_mode(os.stat(path)), sha=file_sha256(path))
    for path in params["env_files"]:
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                result["env"][path] = env_digest_bytes(handle.read())
    for path in params["dirs"]:
        if os.path.isdir(path):
            result["dirs"][path] = owner_mode(os.stat(path))
    for path in params["exists"]:
        result["exists"][path] = os.path.lexists(path)
    for path in params["trees"]:
        result["trees"][path] = tree_digest(path) if os.path.isdir(path) else {}
    for git in params["gits"]:
        result["gits"][git["dir"]] = git_state(git)
    result["units"] = units_state(module, params["units"])
    engine = params["engine"]
    have_engine = os.access(engine, os.X_OK)
    result["images"] = image_ids(module, engine, params["images"]) if have_engine else dict.fromkeys(params["images"], "")
    names = container_names(module, engine) if have_engine and params["containers"] else set()
    result["containers"] = {name: name in names for name in params["containers"]}
    if have_engine:
        result["container_images"] = container_image_ids(module, engine, params["container_images"])
    return result


def image_ids(module, engine, images):
    """{image: its id, '' when absent}: one engine call when every image is there (the usual case)."""
    def inspect(names):
        rc, out, dummy = module.run_command([engine, "image", "inspect", "--format", "{{.Id}}", "--"] + names)
        return rc, out.split()

    if not images:
        return {}
    rc, ids = inspect(list(images))
    if rc == 0 and len(ids) == len(images):
        return dict(zip(images, ids))
    # Some image is missing: the output no longer lines up with the names, so ask for each.
    found = {}
    for image in images:
        rc, ids = inspect([image])
        found[image] = ids[0] if rc == 0 and ids else ""
    return found


def container_image_ids(module, engine, names):
    """{name: id of the image it was created from} of the named containers that exist (one call).

    docker and podman both print the containers they find and an error for
    each missing one; docker's names start with '/'. Both print the id in
    the form their 'image inspect' gives .Id (docker sha256:<hex>, podman <hex>).
    """
    if not names:
        return {}
    dummy, out, dummy = module.run_command(
        [engine, "container", "inspect", "--format", "{{.Name}} {{.Image}}", "--"] + list(names))
    found = {}
    for line in out.splitlines():
        name, dummy, image_id = line.strip().partition(" ")
        if image_id:
            found[name.lstrip("/")] = image_id.strip()
    return {name: found[name] for name in names if name in found}


def container_names(module, engine):
    """The names of every container the engine has, running or not (one call)."""
    rc, out, dummy = module.run_command([engine, "container", "ls", "--all", "--format", "{{.Names}}"])
    return set(out.split()) if rc == 0 else set()


def resolve(names):
    """The first IPv4 address of each name, as getent ahostsv4 gives it ('' when none)."""
    found = []
    for name in names:
        try:
            found.append(socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
        except (socket.gaierror, IndexError, UnicodeError):
            found.append("")
    return found


def recorded_plan(path, resolved):
    """(fingerprint, items) of the plan recorded at path for these addresses, or ('', None)."""
    if not path or not os.path.isfile(path):
        return "", None
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except ValueError:
        return "", None
    if not isinstance(record, dict) or record.get("resolved", []) != resolved or not record.get("fingerprint"):
        return "", None
    return record["fingerprint"], record.get("items") or []


# The collectors setup runs even when a subset leaves them out.
MINIMAL_FACTS = frozenset(["apparmor", "caps", "cmdline", "date_time", "distribution", "dns", "env", "fips", "local",
                           "lsb", "pkg_mgr", "platform", "python", "selinux", "service_mgr", "ssh_pub_keys", "user"])


def gather_facts(module, subset, timeout):
    """The host's facts as setup returns them (ansible_ prefixed) for this subset."""
    collector = ansible_collector.get_ansible_collector(
        all_collector_classes=default_collectors.collectors,
        namespace=PrefixFactNamespace(namespace_name="ansible", prefix="ansible_"),
        gather_subset=subset, gather_timeout=timeout, minimal_gather_subset=MINIMAL_FACTS)
    facts = collector.collect(module=module)
    facts["ansible_gather_subset"] = subset
    return facts


def private_ipv4(address, facts):
    """The host's own IPv4 address for its private address (see the option private_address)."""
    own = facts.get("ansible_all_ipv4_addresses") or []
    fallback = (facts.get("ansible_default_ipv4") or {}).get("address") or "127.0.0.1"
    if not address:
        return fallback
    try:
        socket.inet_aton(address)
        literal = address.count(".") == 3
    except (OSError, UnicodeError):
        literal = False
    if literal:
        return address if address in own else fallback
    try:
        found = [info[4][0] for info in socket.getaddrinfo(address, None, socket.AF_INET, socket.SOCK_STREAM)]
    except (socket.gaierror, UnicodeError):
        found = []
    return next((a for a in found if a in own), fallback)


def main():
    listed = {"type": "list", "elements": "path", "default": []}
    module = AnsibleModule(
        argument_spec={
            "files": listed, "env_files": listed, "dirs": listed, "exists": listed, "trees": listed, "stamps": listed,
            "units": {"type": "list", "elements": "str", "default": []},
            "engine": {"type": "path", "default": "/usr/bin/podman"},
            "images": {"type": "list", "elements": "str", "default": []},
            "containers": {"type": "list", "elements": "str", "default": []},
            "container_images": {"type": "list", "elements": "str", "default": []},
            "gits": {"type": "list", "elements": "dict", "default": []},
            "record": {"type": "path"},
            "resolve": {"type": "list", "elements": "str", "default": []},
            "gather_subset": {"type": "list", "elements": "str", "default": []},
            "gather_timeout": {"type": "int", "default": 10},
            "private_address": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    params = module.params
    result = {"changed": False, "resolved": resolve(params["resolve"])}
    if params["gather_subset"]:
        result["ansible_facts"] = gather_facts(module, params["gather_subset"], params["gather_timeout"])
        result["ansible_facts"]["ansible_spiff_private_ipv4"] = private_ipv4(params["private_address"],
                                                                             result["ansible_facts"])
    result["record_fingerprint"], items = recorded_plan(params["record"], result["resolved"])
    if items is not None:
        seen = observe(module, plan_request(items, params["engine"]))
        result["verdicts"] = plan_verdicts(items, seen)
    elif params["record"]:
        module.exit_json(**result)
    else:
        seen = observe(module, params)
    result.update(seen)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
