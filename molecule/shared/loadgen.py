#!/usr/bin/env python3
"""Send requests through the proxy until stopped; print what came back.

Runs on a sandbox VM with the stock python3. Each worker thread cycles
through the targets (GET the API's version-info, GET the frontend, POST a
job; with --whoami also the stand-in's GET whoami), one new HTTPS connection
per request, verifying the proxy's certificate. With --slow-workers, other
threads each keep one request of --slow-seconds under way (the stand-in's
test-only sleep endpoint): a request cut while a replica restarts shows there.

Every request is counted in `sent`; a request fails when it raises (refused,
reset, timeout, TLS), answers a status other than the target's, or answers a
body that is not what the target returns (JSON that does not parse, a field
missing or of the wrong type, a page that is not the frontend's). Failures
are counted by kind, the first few kept in full. A worker thread never ends on
an error of its own: one is counted as kind "loadgen error: <exception>".

It stops after --duration seconds, or when --stop-file appears, then writes
one JSON summary: requests sent and failed, failures by kind, latency p50/p99
in ms, the API versions and hosts seen (whoami), the jobs posted, the long
requests sent and failed; `ok` is false when anything failed or fewer than
--min-sent requests were sent, and the exit status is then 1.

  loadgen.py --base https://up-edge --cafile proxy.crt --out result.json
"""

import argparse
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Unexpected(Exception):
    """An answer that is not what the target returns."""


def parse_json(payload):
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unexpected(f"unreadable: {type(exc).__name__}") from exc


def check_version_info(payload):
    """Upstream's GET /version-info: an object with at most version, revision, created
    (strings); {} when the image carries no version_info.json. Returns the version or None."""
    info = parse_json(payload)
    if not isinstance(info, dict):
        raise Unexpected("version-info: not an object")
    extra = set(info) - {"version", "revision", "created"}
    if extra:
        raise Unexpected(f"version-info: unknown keys {sorted(extra)}")
    if any(not isinstance(value, str) for value in info.values()):
        raise Unexpected("version-info: a value is not text")
    return info.get("version")


def check_frontend(payload):
    if b"<html" not in payload[:4096].lower():
        raise Unexpected("frontend: not an HTML page")


def check_job(payload):
    created = parse_json(payload)
    if not isinstance(created, dict) or not isinstance(created.get("id"), int):
        raise Unexpected("job: no id")
    return created["id"]


def check_whoami(payload):
    info = parse_json(payload)
    if not isinstance(info, dict) or not all(isinstance(info.get(k), str) for k in ("version", "hostname")):
        raise Unexpected("whoami: no version or hostname")
    return f"{info['version']}@{info['hostname']}"


def check_sleep(payload):
    answer = parse_json(payload)
    if not isinstance(answer, dict) or not isinstance(answer.get("slept"), (int, float)):
        raise Unexpected("sleep: no slept")


def targets(base, api_prefix, writes=True, whoami=False):
    """[(name, method, url, body, expected statuses, check)] the workers cycle through."""
    base = base.rstrip("/")
    api = base + api_prefix
    found = [("version-info", "GET", api + "/v1.0/version-info", None, (200,), check_version_info),
             ("frontend", "GET", base + "/", None, (200,), check_frontend)]
    if writes:
        found.append(("job", "POST", api + "/v1.0/standin/jobs", b'{"payload": "load"}', (202,), check_job))
    if whoami:
        found.append(("whoami", "GET", api + "/v1.0/standin/whoami", None, (200,), check_whoami))
    return found


def attempt(target, context, timeout=30):
    """One request: (failure kind or None, detail, what check returned)."""
    name, method, url, body, statuses, check = target
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        # who answered: the proxy's own error page or the replica's
        try:
            answer = repr(exc.read()[:300])
        except Exception as unreadable:  # the failure still counts
            answer = f"unreadable ({type(unreadable).__name__})"
        return f"HTTP {exc.code}", f"server={exc.headers.get('Server', '')} body={answer}", None
    except Exception as exc:  # connection refused/reset, timeout, TLS, a cut answer
        return type(exc).__name__, str(exc), None
    if status not in statuses:
        return f"HTTP {status}", f"expected {statuses}", None
    try:
        return None, "", check(payload)
    except Unexpected as exc:
        return str(exc), repr(payload[:300]), None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.data = {"sent": 0, "failed": 0, "by_kind": {}, "first_failures": [], "versions": {},
                     "version_info": {}, "jobs": [], "slow_sent": 0, "slow_failed": 0}
        self.latencies = []

    def record(self, name, url, method, failure, detail, result, elapsed_ms, slow=False):
        data = self.data
        with self.lock:
            data["slow_sent" if slow else "sent"] += 1
            if not slow:
                self.latencies.append(elapsed_ms)
            if failure:
                data["slow_failed" if slow else "failed"] += 1
                kind = f"{name}: {failure}"
                data["by_kind"][kind] = data["by_kind"].get(kind, 0) + 1
                if len(data["first_failures"]) < 5:
                    data["first_failures"].append(
                        {"at": time.time(), "utc": time.strftime("%H:%M:%S", time.gmtime()),
                         "method": method, "url": url, "failure": failure, "detail": detail,
                         "ms": round(elapsed_ms)})
            elif name == "whoami":
                data["versions"][result] = data["versions"].get(result, 0) + 1
            elif name == "version-info":
                key = result or "(none)"
                data["version_info"][key] = data["version_info"].get(key, 0) + 1
            elif name == "job":
                data["jobs"].append(result)

    def summary(self, seconds, min_sent, threads_died):
        data = dict(self.data)
        jobs = data.pop("jobs")
        data["jobs_posted"] = len(jobs)
        data["job_ids"] = [min(jobs), max(jobs)] if jobs else []
        data["threads_died"] = threads_died
        data["seconds"] = round(seconds, 1)
        data["p50_ms"] = round(percentile(self.latencies, 0.50) or 0, 1)
        data["p99_ms"] = round(percentile(self.latencies, 0.99) or 0, 1)
        data["min_sent"] = min_sent
        data["ok"] = (data["failed"] == 0 and data["slow_failed"] == 0 and not threads_died
                      and data["sent"] >= min_sent)
        return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="public URL, e.g. https://up-edge")
    parser.add_argument("--cafile", help="certificate to trust (the proxy's self-signed one)")
    parser.add_argument("--api-prefix", default="/api")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=float, default=3600)
    parser.add_argument("--stop-file")
    parser.add_argument("--ready-file", help="written once the first request answered")
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-writes", action="store_true", help="GET only, no job POSTs")
    parser.add_argument("--whoami", action="store_true",
                        help="also GET the stand-in's whoami, to count the versions and hosts answering")
    parser.add_argument("--slow-workers", type=int, default=0, help="threads each keeping one long request under way")
    parser.add_argument("--slow-seconds", type=float, default=5)
    parser.add_argument("--min-sent", type=int, default=1, help="fewer requests sent than this is a failed run")
    opts = parser.parse_args()

    context = ssl.create_default_context(cafile=opts.cafile)
    cycle = targets(opts.base, opts.api_prefix, writes=not opts.no_writes, whoami=opts.whoami)
    slow = ("sleep", "GET", f"{opts.base.rstrip('/')}{opts.api_prefix}/v1.0/standin/sleep?"
            + urllib.parse.urlencode({"seconds": opts.slow_seconds}), None, (200,), check_sleep)
    stats = Stats()
    deadline = time.monotonic() + opts.duration
    stop = threading.Event()
    finished = set()

    def stopped():
        return stop.is_set() or time.monotonic() > deadline or bool(
            opts.stop_file and os.path.exists(opts.stop_file))

    def worker(offset, long_requests):
        i = offset
        while not stopped():
            target = slow if long_requests else cycle[i % len(cycle)]
            i += 1
            start = time.monotonic()
            try:
                failure, detail, result = attempt(target, context, timeout=30 + opts.slow_seconds)
            except Exception as exc:  # a bug here: counted, and the thread goes on
                failure, detail, result = f"loadgen error: {type(exc).__name__}", repr(exc), None
            stats.record(target[0], target[2], target[1], failure, detail, result,
                         (time.monotonic() - start) * 1000, slow=long_requests)
            if opts.ready_file and not os.path.exists(opts.ready_file):
                open(opts.ready_file, "w").close()
        finished.add(threading.current_thread().name)

    threads = [threading.Thread(target=worker, args=(n, False), daemon=True) for n in range(opts.workers)]
    threads += [threading.Thread(target=worker, args=(n, True), daemon=True) for n in range(opts.slow_workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        stop.set()
        for thread in threads:
            thread.join(60 + opts.slow_seconds)
    # a thread that ended other than by being told to stop
    died = sorted(t.name for t in threads if t.name not in finished)
    result = stats.summary(time.monotonic() - started, opts.min_sent, died)
    with open(opts.out + ".tmp", "w") as out:
        json.dump(result, out, indent=1)
    os.replace(opts.out + ".tmp", opts.out)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
