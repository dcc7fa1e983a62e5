#!/usr/bin/env python3
"""Install the collections of requirements.yml from PyPI's `ansible` package.

Ansible Galaxy is not reachable from the build machines, but PyPI is, and the
`ansible` package bundles the collections. This downloads that one wheel
(version ANSIBLE_PACKAGE below), checks that each collection named in
requirements.yml has exactly the pinned version there, and extracts only those
collections into DEST/ansible_collections. (This repository itself is found
as spiff.arena through the collections/ link that ansible.cfg names.)

Usage: install_collections.py DEST   (a directory for ANSIBLE_COLLECTIONS_PATH)
"""

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

ANSIBLE_PACKAGE = "ansible==12.3.0"
REPO = Path(__file__).resolve().parents[2]


def main():
    dest = Path(sys.argv[1]).resolve() / "ansible_collections"
    dest.mkdir(parents=True, exist_ok=True)
    wanted = yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]
    stamp = dest / ".installed"
    key = json.dumps([ANSIBLE_PACKAGE, wanted], sort_keys=True)
    if stamp.exists() and stamp.read_text() == key:
        print(f"collections: up to date in {dest}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--dest", tmp, ANSIBLE_PACKAGE], check=True)
            wheel = zipfile.ZipFile(next(Path(tmp).glob("ansible-*.whl")))
            for entry in wanted:
                namespace, name = entry["name"].split(".")
                prefix = f"ansible_collections/{namespace}/{name}/"
                manifest = json.loads(wheel.read(prefix + "MANIFEST.json"))
                found = manifest["collection_info"]["version"]
                if found != entry["version"]:
                    sys.exit(f"requirements.yml pins {entry['name']} {entry['version']}, "
                             f"but {ANSIBLE_PACKAGE} carries {found}: update one of them")
                target = dest / namespace / name
                if target.exists():
                    subprocess.run(["rm", "-rf", str(target)], check=True)
                members = [m for m in wheel.namelist() if m.startswith(prefix)]
                wheel.extractall(dest.parent, members)
                print(f"collections: {entry['name']} {found}")
        stamp.write_text(key)


if __name__ == "__main__":
    main()
