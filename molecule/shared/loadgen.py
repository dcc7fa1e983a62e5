#!/usr/bin/env python3
"""Send requests through the proxy until stopped; print what came back.

Runs on a sandbox VM with the stock python3. Each worker thread cycles
through the targets (GET the API's version, GET the frontend, POST a job),
one new HTTPS connection per request, verifying the proxy's certificate.
It stops after --duration seconds, or when --stop-file appears, then writes
one JSON summary: requests sent and failed, failures by kind (with the first
few in full), latency p50/p99 in ms, and the API versions and hosts seen.

  loadgen.py --base https://up-edge --cafile proxy.crt --out result.json
"""

import argparse
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


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
    opts = parser.parse_args()

    context = ssl.create_default_context(cafile=opts.cafile)
    api = opts.base.rstrip("/") + opts.api_prefix
    targets = [("GET", api + "/v1.0/version-info", None), ("GET", opts.base.rstrip("/") + "/", None)]
    if not opts.no_writes:
        targets.append(("POST", api + "/v1.0/standin/jobs", b'{"payload": "load"}'))

    lock = threading.Lock()
    stats = {"sent": 0, "failed": 0, "by_kind": {}, "first_failures": [], "versions": {}, "latencies": []}
    deadline = time.monotonic() + opts.duration
    stop = threading.Event()

    def stopped():
        return stop.is_set() or time.monotonic() > deadline or (
            opts.stop_file and os.path.exists(opts.stop_file))

    def worker(offset):
        i = offset
        while not stopped():
            method, url, body = targets[i % len(targets)]
            i += 1
            request = urllib.request.Request(url, data=body, method=method,
                                             headers={"Content-Type": "application/json"})
            start = time.monotonic()
            failure, payload, detail = None, None, ""
            try:
                with urllib.request.urlopen(request, timeout=30, context=context) as response:
                    payload = response.read()
                    if response.status not in (200, 202):
                        failure = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                failure = f"HTTP {exc.code}"
                # who answered: the proxy's own error page or the replica's
                try:
                    answer = repr(exc.read()[:300])
                except Exception as unreadable:  # the failure still counts
                    answer = f"unreadable ({type(unreadable).__name__})"
                detail = f"server={exc.headers.get('Server', '')} body={answer}"
            except Exception as exc:  # connection refused/reset, timeout, TLS
                failure = type(exc).__name__
                detail = str(exc)
            elapsed = (time.monotonic() - start) * 1000
            with lock:
                stats["sent"] += 1
                stats["latencies"].append(elapsed)
                if failure:
                    stats["failed"] += 1
                    stats["by_kind"][failure] = stats["by_kind"].get(failure, 0) + 1
                    if len(stats["first_failures"]) < 5:
                        stats["first_failures"].append(
                            {"at": time.time(), "utc": time.strftime("%H:%M:%S", time.gmtime()),
                             "method": method, "url": url, "failure": failure,
                             "detail": detail})
                elif url.endswith("/version-info"):
                    info = json.loads(payload)
                    key = f"{info['version']}@{info['hostname']}"
                    stats["versions"][key] = stats["versions"].get(key, 0) + 1
                if opts.ready_file and stats["sent"] == 1:
                    open(opts.ready_file, "w").close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(opts.workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        stop.set()
    latencies = stats.pop("latencies")
    stats["seconds"] = round(time.monotonic() - started, 1)
    stats["p50_ms"] = round(percentile(latencies, 0.50) or 0, 1)
    stats["p99_ms"] = round(percentile(latencies, 0.99) or 0, 1)
    with open(opts.out + ".tmp", "w") as out:
        json.dump(stats, out, indent=1)
    os.replace(opts.out + ".tmp", opts.out)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
