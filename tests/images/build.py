#!/usr/bin/env python3
"""Build every image the sandbox needs, offline but for Debian's mirror.

Each image is keyed by the content of its inputs (recipe files, build
arguments, parent image): an image whose key label already matches is not
built again, and an archive whose image id is unchanged is not saved again.

  base:<suite>   Debian root filesystem made by mmdebstrap, imported into docker
  vm:<suite>     systemd as PID 1 plus podman: a sandbox "VM" for Molecule
  service images real servers from Debian's packages and the upstream
                 stand-ins, saved as archives for the collection's air-gapped
                 image path (podman load / docker load inside the VMs)

Usage: build.py [--only NAME[,NAME...]] [--list]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("SPIFF_SANDBOX_CACHE", REPO / ".cache"))
ARCHIVES = CACHE / "images"
MIRROR = os.environ.get("SPIFF_SANDBOX_MIRROR", "http://deb.debian.org/debian")
LABEL = "spiff.sandbox.key"

SUITES = {"debian12": "bookworm", "debian13": "trixie"}

# Packages every root filesystem gets; the rest comes from each Dockerfile.
BASE_PACKAGES = ["ca-certificates"]
# Keep the root filesystems small: no docs, man pages or translations.
DPKG_EXCLUDES = [
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
]

STANDIN_VERSIONS = ["v3.0.0", "v3.0.1"]


def image(name, context, suite="debian12", args=None, archive=True):
    return {
        "name": name,
        "context": context,
        "suite": suite,
        "args": args or {},
        "archive": archive,
    }


IMAGES = [
    image("spiff-sandbox/vm:debian12", "vm", "debian12", {"SUITE": "debian12"}, archive=False),
    image("spiff-sandbox/vm:debian13", "vm", "debian13", {"SUITE": "debian13"}, archive=False),
    image("localhost/spiff-sandbox/postgres:15", "postgres"),
    image("localhost/spiff-sandbox/mariadb:10.11", "mariadb"),
    image("localhost/spiff-sandbox/redis:7", "keyvalue", args={"FLAVOR": "redis", "VERSION": "7.0"}),
    image("localhost/spiff-sandbox/valkey:8", "keyvalue", "debian13", {"FLAVOR": "valkey", "VERSION": "8"}),
    image("localhost/spiff-sandbox/haproxy:3.0", "haproxy", "debian13"),
    image("localhost/spiff-sandbox/rabbitmq:3.10", "rabbitmq"),
]
for _version in STANDIN_VERSIONS:
    IMAGES += [
        image(f"localhost/spiff-standin/spiffworkflow-backend:{_version}", "standin-backend",
              args={"VERSION": _version}),
        image(f"localhost/spiff-standin/spiffworkflow-frontend:{_version}", "standin-frontend",
              args={"VERSION": _version}),
        image(f"localhost/spiff-standin/connector-proxy-demo:{_version}", "standin-connector",
              args={"VERSION": _version}),
    ]


def log(msg):
    print(f"[images {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def capture(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True)
    return res.stdout.strip() if res.returncode == 0 else ""


def label_of(name):
    return capture(["docker", "image", "inspect", "--format",
                    "{{ index .Config.Labels \"%s\" }}" % LABEL, name])


def image_id(name):
    return capture(["docker", "image", "inspect", "--format", "{{ .Id }}", name])


def digest(*parts, files=()):
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True).encode())
    for path in sorted(files):
        h.update(str(path.relative_to(HERE)).encode())
        h.update(path.read_bytes())
        h.update(b"x" if os.access(path, os.X_OK) else b"-")
    return h.hexdigest()[:16]


def base_name(suite):
    return f"spiff-sandbox/base:{suite}"


def build_base(suite):
    name = base_name(suite)
    key = digest("base-v1", SUITES[suite], MIRROR, BASE_PACKAGES, DPKG_EXCLUDES)
    if label_of(name) == key:
        log(f"{name}: up to date")
        return
    log(f"{name}: mmdebstrap {SUITES[suite]} from {MIRROR}")
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        tar = Path(tmp) / "rootfs.tar"
        cmd = ["mmdebstrap", "--quiet", "--variant=minbase",
               "--include=" + ",".join(BASE_PACKAGES),
               "--aptopt=APT::Install-Recommends \"false\"",
               "--aptopt=Acquire::Retries \"3\""]
        cmd += [f"--dpkgopt={opt}" for opt in DPKG_EXCLUDES]
        cmd += [SUITES[suite], str(tar), MIRROR]
        run(cmd)
        run(["docker", "import", "--change", f"LABEL {LABEL}={key}",
             "--change", "CMD [\"/bin/bash\"]", str(tar), name], stdout=subprocess.DEVNULL)
    log(f"{name}: built")


def build_image(spec):
    context = HERE / spec["context"]
    parent = base_name(spec["suite"])
    files = [p for p in context.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    key = digest("image-v1", spec["args"], image_id(parent), files=files)
    if label_of(spec["name"]) == key:
        log(f"{spec['name']}: up to date")
        return False
    log(f"{spec['name']}: docker build {spec['context']}")
    cmd = ["docker", "build", "--quiet", "--label", f"{LABEL}={key}",
           "--build-arg", f"BASE={parent}", "-t", spec["name"]]
    for arg, value in spec["args"].items():
        cmd += ["--build-arg", f"{arg}={value}"]
    run(cmd + [str(context)], stdout=subprocess.DEVNULL)
    log(f"{spec['name']}: built")
    return True


def archive_path(name):
    slug = name.split("/", 1)[1] if name.startswith("localhost/") else name
    return ARCHIVES / (slug.replace("/", "_").replace(":", "_") + ".tar")


def save_archive(spec):
    path = archive_path(spec["name"])
    marker = path.with_suffix(".id")
    current = image_id(spec["name"])
    if path.exists() and marker.exists() and marker.read_text().strip() == current:
        return
    log(f"{spec['name']}: docker save -> {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    tmp = path.with_suffix(".tmp")
    run(["docker", "save", "-o", str(tmp), spec["name"]])
    tmp.rename(path)
    marker.write_text(current + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated image names or contexts to build")
    parser.add_argument("--list", action="store_true", help="list images and archives, build nothing")
    opts = parser.parse_args()

    wanted = IMAGES
    if opts.only:
        keys = set(opts.only.split(","))
        wanted = [s for s in IMAGES if s["name"] in keys or s["context"] in keys]
        if not wanted:
            sys.exit(f"build.py: no image matches --only {opts.only}")
    if opts.list:
        for spec in wanted:
            print(spec["name"], archive_path(spec["name"]) if spec["archive"] else "-")
        return

    CACHE.mkdir(parents=True, exist_ok=True)
    ARCHIVES.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    for suite in sorted({s["suite"] for s in wanted}):
        build_base(suite)
    for spec in wanted:
        build_image(spec)
        if spec["archive"]:
            save_archive(spec)
    log(f"all images ready in {time.monotonic() - start:.0f}s")


if __name__ == "__main__":
    main()
