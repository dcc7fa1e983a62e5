#!/usr/bin/python
# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only: the state and health of every Spiff Arena service on a host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: spiff_status
short_description: Report the state and health of the Spiff Arena services on a host
description:
  - Reads every C(spiff-*.service) unit the collection wrote under C(/etc/systemd/system),
    its systemd state, the image of its container and its uptime, and runs the health
    check recorded in the unit's C([X-Spiff]) section once (an HTTP status from the host,
    or a command inside the container).
  - Also lists every running container whose command is the Background scheduler's,
    whatever started it.
  - Changes nothing; supports check mode. Used by C(playbooks/status.yml).
options:
  unit_dir:
    description: Where the units are.
    type: path
    default: /etc/systemd/system
  background_command:
    description: A word of the Background container's command that no other container has.
    type: str
    default: start_blocking_apscheduler
  timeout:
    description:
      - Seconds each health check may take; a command check (a Celery ping, which first loads the
        backend's application) may take three times as long.
    type: int
    default: 10
  models_dir:
    description:
      - The process models directory of a backend host, whose revision is reported (RV(models)); empty for
        another host.
    type: str
    default: ''
author: spiff.arena authors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the services of this host
  spiff.arena.spiff_status:
  register: status
"""

RETURN = r"""
services:
  description: One entry per unit, sorted by unit name.
  type: list
  elements: dict
  returned: always
background:
  description: Names of the running containers whose command is the Background scheduler's.
  type: list
  elements: str
  returned: always
models:
  description:
    - "The process models' revision: C(git <commit>) for a git clone (with C(+changes) and the content's checksum when
      files differ from it), else C(sha256 <checksum>) of the content (every file's path and checksum, .git left
      out); C(missing) when the directory is not there. Empty when O(models_dir) is."
  type: str
  returned: always
"""

import glob
import hashlib
import json
import os
import urllib.error

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import ConnectionError as UrlConnectionError, open_url


def read_section(path, section="X-Spiff"):
    """{key: value} of one section of a unit file."""
    values, current = {}, None
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("[") and line.endswith("]"):
                current = line[1:-1]
            elif current == section and "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key] = value
    return values


def systemd_state(module, unit):
    props = "Type,ActiveState,SubState,Result,UnitFileState,ActiveEnterTimestampMonotonic"
    rc, out, _err = module.run_command(["systemctl", "show", "--property", props, unit])
    state = dict(line.split("=", 1) for line in out.splitlines() if "=" in line) if rc == 0 else {}
    return state


def _release(reference):
    """The tag of an image reference (name:tag or name:tag@sha256:...); empty for name@sha256:..."""
    name = reference.split("@")[0]
    return name.rsplit(":", 1)[-1] if ":" in name.rsplit("/", 1)[-1] else ""


def uptime(state):
    """Seconds since the unit became active, or None."""
    entered = int(state.get("ActiveEnterTimestampMonotonic") or 0)
    if state.get("ActiveState") != "active" or not entered:
        return None
    with open("/proc/uptime", encoding="ascii") as handle:
        now = float(handle.read().split()[0])
    return max(int(now - entered / 1e6), 0)


def check_url(url, expected, timeout):
    try:
        with open_url(url, timeout=timeout) as response:
            code = response.status
    except urllib.error.HTTPError as err:
        code = err.code
    except (urllib.error.URLError, UrlConnectionError, OSError) as err:
        return False, f"GET {url}: {getattr(err, 'reason', err)}"
    return code == expected, f"HTTP {code}"


def check_cmd(module, engine, container, argv, timeout):
    rc, out, err = module.run_command(["timeout", str(timeout), engine, "exec", container] + argv)
    last = (out.strip() or err.strip()).splitlines()[-1:] or [""]
    return rc == 0, ("ok" if rc == 0 else f"exit {rc}: {last[0][:80]}")


def models_revision(module, top):
    """git <commit>, or sha256 <checksum> of the content (.git left out); missing without the directory."""
    if not top:
        return ""
    if not os.path.isdir(top):
        return "missing"
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    digest.update(os.path.relpath(path, top).encode() + b"\0" + hashlib.sha256(handle.read()).digest())
    content = "sha256 " + digest.hexdigest()[:16]
    if os.path.isdir(os.path.join(top, ".git")) and module.get_bin_path("git"):
        # Editable models are the backend user's: root's git asks to trust them.
        git = ["git", "-c", "safe.directory=*", "-C", top]
        rc, out, _err = module.run_command(git + ["rev-parse", "--verify", "-q", "HEAD"])
        if rc == 0 and out.strip():
            _rc, dirty, _err = module.run_command(git + ["status", "--porcelain", "--untracked-files=all"])
            return "git " + out.strip()[:12] + (" +changes, " + content if dirty.strip() else "")
    return content


def main():
    module = AnsibleModule(
        argument_spec={
            "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
            "background_command": {"type": "str", "default": "start_blocking_apscheduler"},
            "timeout": {"type": "int", "default": 10},
            "models_dir": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    timeout = module.params["timeout"]
    services, engines = [], set()
    for path in sorted(glob.glob(os.path.join(module.params["unit_dir"], "spiff-*.service"))):
        unit = os.path.basename(path)
        spiff = read_section(path)
        if not spiff.get("Component"):
            continue
        engine = spiff.get("Engine", "podman")
        engines.add(engine)
        container = unit[: -len(".service")]
        state = systemd_state(module, unit)
        image = spiff.get("Image", "")
        # The image the container runs (podman names it as given; docker keeps it in
        # Config.Image); the image recorded in the unit when there is no container.
        fmt = "{{.Config.Image}}" if engine == "docker" else "{{.ImageName}}"
        rc, out, _err = module.run_command([engine, "container", "inspect", "--format", fmt, container])
        shown = out.strip() if rc == 0 and out.strip() else image
        oneshot = state.get("Type") == "oneshot"
        entry = {
            "unit": unit,
            "component": spiff["Component"],
            "active": state.get("ActiveState", "unknown"),
            "sub": state.get("SubState", ""),
            "enabled": state.get("UnitFileState", ""),
            "image": shown,
            # The tag (name:tag or name:tag@sha256:...); none for name@sha256:...
            "release": _release(shown),
            "uptime": uptime(state),
            "oneshot": oneshot,
        }
        if oneshot:
            # A one-shot task (the schema migration): healthy when its last run succeeded.
            entry["healthy"] = state.get("Result") == "success" and state.get("ActiveState") != "failed"
            entry["health"] = "last run " + state.get("Result", "unknown")
        elif entry["active"] != "active":
            entry["healthy"], entry["health"] = False, "not running"
        elif "HealthUrl" in spiff:
            entry["healthy"], entry["health"] = check_url(spiff["HealthUrl"], int(spiff.get("HealthStatus", 200)), timeout)
        elif "HealthCmd" in spiff:
            entry["healthy"], entry["health"] = check_cmd(module, engine, container, json.loads(spiff["HealthCmd"]), 3 * timeout)
        else:
            entry["healthy"], entry["health"] = True, "running (no check)"
        services.append(entry)

    background = []
    for engine in sorted(engines) or ["podman"]:
        if module.get_bin_path(engine) is None:
            continue
        rc, out, _err = module.run_command([engine, "ps", "--no-trunc", "--format", "{{.Names}}\t{{.Command}}"])
        for line in out.splitlines() if rc == 0 else []:
            name, _tab, command = line.partition("\t")
            if module.params["background_command"] in command:
                background.append(name)
    module.exit_json(changed=False, services=services, background=sorted(background),
                     models=models_revision(module, module.params["models_dir"]))


if __name__ == "__main__":
    main()
