#!/usr/bin/env python3
"""Time the first play of site.yml (the inventory checks) on generated inventories.

For each size (default 8, 50, 200 hosts: one database host, one broker host,
one proxy host, the rest API, worker, frontend and connector hosts) it writes
an inventory whose hosts do not exist (the first play contacts none) and times
bench/first_play.yml, which is that play alone, three times; it prints the
best time per size and its ratio to the smallest size's. No VM is needed.

  make bench-guard            # or, with the venv on PATH:
  python3 bench/guard.py [--sizes 8,50,200] [--repeat 3]
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
PLAY = REPO / "bench" / "first_play.yml"


def inventory(size, directory):
    names = [f"node{n:03d}" for n in range(size)]
    edge, apps = names[:3], names[3:] or names[:1]
    groups = {"spiff_database": [edge[0]], "spiff_redis": [edge[1 % len(edge)]], "spiff_proxy": [edge[2 % len(edge)]],
              "spiff_api": apps, "spiff_worker": apps, "spiff_frontend": apps, "spiff_connector": apps}
    data = {"all": {
        "hosts": {name: {"ansible_connection": "community.docker.docker", "ansible_host": f"spiff-bench-absent-{name}"}
                  for name in names},
        "vars": {"spiff_backend_openid_server_url": "https://login.example.com/realms/spiff",
                 "spiff_backend_openid_client_secret": "client-secret-of-the-provider",
                 "spiff_proxy_tls_self_signed": True, "spiff_secrets_dir": str(directory / "secrets")},
        "children": {group: {"hosts": {h: None for h in hosts}} for group, hosts in groups.items()}}}
    path = directory / f"hosts-{size}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def time_play(path):
    start = time.monotonic()
    res = subprocess.run(["ansible-playbook", "-i", str(path), str(PLAY)], capture_output=True, text=True, cwd=REPO)
    seconds = time.monotonic() - start
    if res.returncode != 0:
        sys.exit(f"first play failed on {path}:\n{(res.stdout + res.stderr)[-3000:]}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="8,50,200")
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    sizes = [int(n) for n in opts.sizes.split(",")]
    os.environ.setdefault("ANSIBLE_FORCE_COLOR", "false")
    rows = []
    with tempfile.TemporaryDirectory(prefix="spiff-bench-guard-") as tmp:
        for size in sizes:
            path = inventory(size, pathlib.Path(tmp))
            best = min(time_play(path) for _ in range(opts.repeat))
            rows.append((size, best))
            print(f"[{time.strftime('%H:%M:%S')}] {size} hosts: {best:.2f} s", file=sys.stderr, flush=True)
    base = rows[0][1]
    print(f"| hosts | first play s (best of {opts.repeat}) | / {rows[0][0]} hosts |")
    print("|---|---|---|")
    for size, seconds in rows:
        print(f"| {size} | {seconds:.2f} | {seconds / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
