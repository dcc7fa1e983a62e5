#!/usr/bin/env python3
"""Install the collections of requirements.yml from PyPI's `ansible` package.

Ansible Galaxy is not reachable from the build machines, but PyPI is, and the
`ansible` package bundles the collections. This downloads that one wheel
(version ANSIBLE_PACKAGE below), checks that each collection named in
requirements.yml has exactly the pinned version there, and extracts only those
collections into DEST/ansible_collections. (This repository itself is found
as spiff.arena through the collections/ link that ansible.cfg names.)

With --oldest, it installs instead the oldest versions the collection
declares it works with: galaxy.yml's dependency minimums, which must be
exactly the versions OLDEST_ANSIBLE_PACKAGE carries (the `ansible` release of
the oldest ansible-core tested, see `make matrix`), and the collections those
depend on, at the versions that release carries.

Usage: install_collections.py DEST [--oldest]   (DEST: a directory for ANSIBLE_COLLECTIONS_PATH)
"""

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

ANSIBLE_PACKAGE = "ansible==12.3.0"
OLDEST_ANSIBLE_PACKAGE = "ansible==9.13.0"  # ansible-core 2.16
REPO = Path(__file__).resolve().parents[2]


def oldest_wanted():
    """galaxy.yml's dependencies as [{name, version}] of their minimums (">=X" only)."""
    wanted = []
    for name, spec in yaml.safe_load((REPO / "galaxy.yml").read_text())["dependencies"].items():
        if not spec.startswith(">=") or "," in spec:
            sys.exit(f"galaxy.yml: {name}: {spec!r}: give each dependency as >=<oldest version tested>")
        wanted.append({"name": name, "version": spec[2:]})
    return wanted


def main():
    oldest = "--oldest" in sys.argv[2:]
    package = OLDEST_ANSIBLE_PACKAGE if oldest else ANSIBLE_PACKAGE
    source = "galaxy.yml's minimum" if oldest else "requirements.yml's pin"
    dest = Path(sys.argv[1]).resolve() / "ansible_collections"
    dest.mkdir(parents=True, exist_ok=True)
    wanted = oldest_wanted() if oldest else yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]
    stamp = dest / ".installed"
    key = json.dumps([package, wanted], sort_keys=True)
    if stamp.exists() and stamp.read_text() == key:
        print(f"collections: up to date in {dest}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--dest", tmp, package], check=True)
            wheel = zipfile.ZipFile(next(Path(tmp).glob("ansible-*.whl")))
            queue, done = list(wanted), set()
            while queue:
                entry = queue.pop(0)
                if entry["name"] in done:
                    continue
                done.add(entry["name"])
                namespace, name = entry["name"].split(".")
                prefix = f"ansible_collections/{namespace}/{name}/"
                manifest = json.loads(wheel.read(prefix + "MANIFEST.json"))
                found = manifest["collection_info"]["version"]
                if entry.get("version") not in (None, found):
                    sys.exit(f"{source} of {entry['name']} is {entry['version']}, "
                             f"but {package} carries {found}: update one of them")
                if oldest:  # what the oldest versions need, at the versions that release carries
                    queue += [{"name": dep} for dep in manifest["collection_info"]["dependencies"]]
                target = dest / namespace / name
                if target.exists():
                    subprocess.run(["rm", "-rf", str(target)], check=True)
                members = [m for m in wheel.namelist() if m.startswith(prefix)]
                wheel.extractall(dest.parent, members)
                print(f"collections: {entry['name']} {found}")
        stamp.write_text(key)


if __name__ == "__main__":
    main()
