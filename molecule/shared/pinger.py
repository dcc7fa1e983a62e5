#!/usr/bin/env python3
"""Ping the Celery workers through the broker until stopped; report the gaps.

Runs inside a container of the backend image (Celery and the broker URL,
SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL, from a worker's environment file)
beside the workers, not in one of them, so it outlives their restarts:

  podman run -d --network host --env-file /etc/spiff/worker.env \\
    -v /var/tmp/ping:/ping <backend image> python3 /ping/pinger.py --stop-file /ping/stop --out /ping/ping.json

Each round is one broadcast ping (`celery inspect ping`) that waits up to
--timeout s for the first answer. When --stop-file appears it writes a JSON
summary: rounds, rounds no worker answered, the workers that answered, and
the longest time without an answer (`longest_gap_s`, from the start, between
answered rounds, and to the end).
"""

import argparse
import json
import os
import time


def longest_gap(rounds, started, ended):
    """Longest stretch in [started, ended] with no answered round.

    rounds: [(time, answered)] in time order."""
    last, gap = started, 0.0
    for at, answered in rounds:
        if answered:
            gap = max(gap, at - last)
            last = at
    return round(max(gap, ended - last), 1)


def summary(rounds, started, ended, workers):
    return {"rounds": len(rounds), "unanswered": sum(1 for _, answered in rounds if not answered),
            "workers": sorted(workers), "seconds": round(ended - started, 1),
            "longest_gap_s": longest_gap(rounds, started, ended)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=0.5)
    opts = parser.parse_args()

    from celery import Celery  # in the backend image, not needed by the unit tests

    app = Celery("pinger", broker=os.environ["SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL"])
    rounds, workers, started = [], set(), time.time()
    while not os.path.exists(opts.stop_file):
        try:
            replies = app.control.ping(timeout=opts.timeout, limit=1) or []
        except Exception as exc:  # broker unreachable: no worker answered
            print(f"ping failed: {type(exc).__name__}: {exc}", flush=True)
            replies = []
        names = [name for reply in replies for name in reply]
        workers.update(names)
        rounds.append((time.time(), bool(names)))
        time.sleep(opts.interval)
    result = summary(rounds, started, time.time(), workers)
    with open(opts.out + ".tmp", "w") as out:
        json.dump(result, out)
    os.replace(opts.out + ".tmp", opts.out)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
