"""Helpers for the scenarios' testinfra tests: talk to the stand-in API from a VM.

The stand-in backend exposes, for tests only, /v1.0/standin/jobs (submit a
job, read its row), /v1.0/standin/heartbeats (live Background schedulers) and
/v1.0/standin/migrations (every schema upgrade run).
"""

import json
import shlex
import time

API_PORT = 7000


def http(host, url, method="GET", body=None):
    """Return (status, parsed JSON or text) of a request made with curl on `host`."""
    cmd = f"curl -sS -o /tmp/spiffcheck.body -w '%{{http_code}}' -X {method} {shlex.quote(url)}"
    if body is not None:
        cmd += f" -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}"
    res = host.run(cmd)
    assert res.rc == 0, f"{url}: {res.stderr}"
    text = host.check_output("cat /tmp/spiffcheck.body")
    try:
        return int(res.stdout), json.loads(text)
    except ValueError:
        return int(res.stdout), text


def api_url(api_host, path, port=API_PORT, prefix=""):
    """URL of an API replica on the private network; prefix: its WSGI path prefix (/api behind the proxy)."""
    return f"http://{api_host}:{port}{prefix}/v1.0/{path.lstrip('/')}"


def run_job(host, api_host, payload, timeout=60, prefix=""):
    """Submit a job through `api_host`'s API and wait until a worker completed it."""
    status, body = http(host, api_url(api_host, "standin/jobs", prefix=prefix), "POST", {"payload": payload})
    assert status == 202, (status, body)
    job_id = body["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = http(host, api_url(api_host, f"standin/jobs/{job_id}", prefix=prefix))
        if status == 200 and job["status"] == "done":
            return job
        time.sleep(1)
    raise AssertionError(f"job {job_id} submitted through {api_host} not done within {timeout} s: {job}")


def live_schedulers(host, api_host, within=10, prefix=""):
    status, body = http(host, api_url(api_host, f"standin/heartbeats?within={within}", prefix=prefix))
    assert status == 200, body
    return sorted(beat["hostname"] for beat in body["live"])


def migrations(host, api_host, prefix=""):
    status, body = http(host, api_url(api_host, "standin/migrations", prefix=prefix))
    assert status == 200, body
    return body


def run_playbook(inventory, playbook, *args, timeout=900):
    """Run ansible-playbook from the project directory; return the CompletedProcess. At the
    default verbosity even where the scenario's own runs are verbose (ANSIBLE_VERBOSITY in
    molecule.yml): the tests read this output."""
    import os
    import subprocess

    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    cmd = ["ansible-playbook", "-i", str(inventory), str(playbook), *args]
    env = {key: value for key, value in os.environ.items() if key != "ANSIBLE_VERBOSITY"}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=project, timeout=timeout, env=env)


def failure(res, lines=30):
    """What to show when a playbook run failed: each failed task's header and
    message (the first `lines` lines of each), then the recap and stderr's end."""
    out = res.stdout.splitlines()
    shown = []
    for i, line in enumerate(out):
        if line.startswith(("fatal:", "failed:")):
            start = max(i - 1, 0)
            while start > 0 and not out[start].startswith("TASK ["):
                start -= 1
            shown += out[start:start + 1] + out[i:i + lines] + ["..."]
    recap = res.stdout[res.stdout.rfind("PLAY RECAP"):] if "PLAY RECAP" in res.stdout else res.stdout[-2000:]
    return "\n".join(shown) + "\n" + recap + "\n" + res.stderr[-2000:]


def recap_changes(output):
    """Sum of changed= over the PLAY RECAP lines of an ansible-playbook output."""
    import re

    return sum(int(n) for n in re.findall(r"\bchanged=(\d+)", output))


PROXY_SOCKET = "/var/lib/spiff/proxy/admin.sock"


def proxy_pool(host, backend):
    """{server: status} of one backend, read from HAProxy's admin socket on `host`."""
    script = (
        "import csv,socket;s=socket.socket(socket.AF_UNIX);s.connect(%r);s.sendall(b'show stat\\n');"
        "d=b''\nwhile True:\n c=s.recv(65536)\n if not c: break\n d+=c\n"
        "r=csv.DictReader(d.decode().lstrip('# ').splitlines())\n"
        "print('\\n'.join(x['svname']+' '+x['status'] for x in r if x['pxname']==%r and x['svname'] not in ('FRONTEND','BACKEND')))"
    ) % (PROXY_SOCKET, backend)
    out = host.check_output("python3 -c %s", script)
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        time.sleep(1)


def sandbox_inventory(directory, groups, repo, connection="community.docker.docker", host_vars=None):
    """Write an inventory of sandbox VMs (groups: {group: [hosts]}, optional host_vars: {host: {var: value}})
    using the sandbox's group_vars."""
    import pathlib

    import yaml

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    hosts = sorted({h for members in groups.values() for h in members})
    (directory / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {name: {"ansible_connection": connection, **(host_vars or {}).get(name, {})} for name in hosts},
        "children": {group: {"hosts": {h: None for h in members}} for group, members in groups.items()}}},
        sort_keys=False))
    if not (directory / "group_vars").exists():
        (directory / "group_vars").symlink_to(pathlib.Path(repo) / "inventories" / "sandbox" / "group_vars")
    return directory / "hosts.yml"
