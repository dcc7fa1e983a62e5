#!/usr/bin/env python3
"""Which images `make demo` deploys: the real upstream ones when this machine can pull them,
else the stand-ins. Writes the choice as extra vars for the demo's converge and prints it.

Each upstream image (spiffworkflow-backend, spiffworkflow-frontend, connector-proxy-demo at
the sandbox's spiff_release, from spiff_image_registry's default, ghcr.io/sartography) is
probed with `skopeo inspect` (at most PROBE_SECONDS each). When all answer, each is copied
once into .cache/images-upstream/ as a `docker save` archive under its upstream name, beside
links to the sandbox's server archives (database, broker, proxy), and the demo deploys them
through the collection's air-gapped path, the same way as the stand-ins. When one does not
answer (no registry is reachable from the build machines), the stand-ins are deployed.

  tests/tools/demo_images.py [--out .cache/demo-images.yml]
"""

import argparse
import json
import pathlib
import re
import shutil
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]
REGISTRY = "ghcr.io/sartography"
RELEASE = "v3.0.0"
NAMES = ["spiffworkflow-backend", "spiffworkflow-frontend", "connector-proxy-demo"]
PROBE_SECONDS = 20


def archive_name(image):
    """The collection's archive name for an image (roles/engine/tasks/supply.yml)."""
    first, _, rest = image.partition("/")
    if first == "localhost" or "." in first or ":" in first:
        image = rest
    return image.replace("/", "_").replace(":", "_") + ".tar"


def pullable(image):
    if not shutil.which("skopeo"):
        return False, "skopeo is not installed"
    try:
        res = subprocess.run(["skopeo", "inspect", "--raw", f"docker://{image}"], capture_output=True, text=True,
                             timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {PROBE_SECONDS} s"
    if res.returncode != 0:
        line = (res.stderr.strip().splitlines() or ["skopeo failed"])[-1]
        found = re.search(r'msg="(.*)"', line)
        return False, (found.group(1) if found else line).replace('\\"', '"').split(": ")[-1][:160]
    return True, ""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / ".cache" / "demo-images.yml"))
    args = parser.parse_args()
    images = [f"{REGISTRY}/{name}:{RELEASE}" for name in NAMES]
    why = ""
    for image in images:
        ok, why = pullable(image)
        if not ok:
            why = f"{image}: {why}"
            break
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if why:
        choice = {"demo_images": f"the stand-ins (localhost/spiff-standin/*:{RELEASE}): "
                                       f"the upstream images cannot be pulled here ({why})"}
    else:
        target = REPO / ".cache" / "images-upstream"
        target.mkdir(parents=True, exist_ok=True)
        for image in images:
            path = target / archive_name(image)
            if not path.exists():
                print(f"demo images: pulling {image} into {path}", flush=True)
                partial = path.with_suffix(".partial")
                partial.unlink(missing_ok=True)
                subprocess.run(["skopeo", "copy", "--quiet", f"docker://{image}", f"docker-archive:{partial}:{image}"],
                               check=True)
                partial.rename(path)
        for sandbox in (REPO / ".cache" / "images").glob("spiff-sandbox_*.tar"):
            link = target / sandbox.name
            if not link.exists():
                link.symlink_to(sandbox)
        choice = {"demo_images": f"the upstream images ({REGISTRY}/*:{RELEASE}), pulled once into {target}",
                  "spiff_image_registry": REGISTRY, "spiff_image_archive_dir": str(target)}
    out.write_text(json.dumps(choice, indent=2) + "\n")  # JSON is YAML: `-e @file` reads it
    print(f"demo images: {choice['demo_images']}")


if __name__ == "__main__":
    main()
