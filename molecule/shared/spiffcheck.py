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


def api_url(api_host, path, port=API_PORT):
    return f"http://{api_host}:{port}/v1.0/{path.lstrip('/')}"


def run_job(host, api_host, payload, timeout=60):
    """Submit a job through `api_host`'s API and wait until a worker completed it."""
    status, body = http(host, api_url(api_host, "standin/jobs"), "POST", {"payload": payload})
    assert status == 202, (status, body)
    job_id = body["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = http(host, api_url(api_host, f"standin/jobs/{job_id}"))
        if status == 200 and job["status"] == "done":
            return job
        time.sleep(1)
    raise AssertionError(f"job {job_id} submitted through {api_host} not done within {timeout} s: {job}")


def live_schedulers(host, api_host, within=10):
    status, body = http(host, api_url(api_host, f"standin/heartbeats?within={within}"))
    assert status == 200, body
    return sorted(beat["hostname"] for beat in body["live"])


def migrations(host, api_host):
    status, body = http(host, api_url(api_host, "standin/migrations"))
    assert status == 200, body
    return body


def run_playbook(inventory, playbook, *args, timeout=900):
    """Run ansible-playbook from the project directory; return the CompletedProcess."""
    import os
    import subprocess

    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    cmd = ["ansible-playbook", "-i", str(inventory), str(playbook), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=project, timeout=timeout)


def recap_changes(output):
    """Sum of changed= over the PLAY RECAP lines of an ansible-playbook output."""
    import re

    return sum(int(n) for n in re.findall(r"\bchanged=(\d+)", output))
