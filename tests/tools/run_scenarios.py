#!/usr/bin/env python3
"""Run Molecule scenarios `molecule test -s NAME`, JOBS at a time (make molecule).

Each scenario has its own VMs and docker network, so two run side by side;
the longest start first so that the lanes end close together. Each one's
output goes to .cache/molecule/<scenario>.log; this prints a line when one
starts and when it ends (with its time and its tests' closing line), and the
whole log of a scenario that failed. After a failure no new scenario starts;
the ones running finish, and the exit status is 1.

  tests/tools/run_scenarios.py [--jobs 2] SCENARIO...
"""

import argparse
import pathlib
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
LOGS = REPO / ".cache" / "molecule"
# Longest first: the order in which they start (the fresh-clone run of
# 2026-12-03: upgrade 1140 s, models 568, default 464, login 444, backup 384,
# faults 374, guard 328, data 256, docker 216). Two lanes then end within a
# minute of each other; the order before (backup before login, guard before
# faults) made the longer lane end about 70 s later.
LONGEST_FIRST = ["upgrade", "models", "default", "login", "backup", "faults", "guard", "data", "docker", "smoke"]


def stamp():
    return time.strftime("%H:%M:%S")


def closing_line(log):
    """The testinfra run's closing line ('N passed in ...'), if any."""
    lines = [line.strip(" =") for line in log.read_text(errors="replace").splitlines()
             if " passed" in line and " in " in line and line.strip().startswith("=")]
    return lines[-1] if lines else "no test summary found"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("scenarios", nargs="+")
    opts = parser.parse_args()
    queue = sorted(opts.scenarios, key=lambda s: LONGEST_FIRST.index(s) if s in LONGEST_FIRST else len(LONGEST_FIRST))
    LOGS.mkdir(parents=True, exist_ok=True)
    running, failed, start_all = {}, [], time.monotonic()
    while queue or running:
        while queue and len(running) < opts.jobs and not failed:
            name = queue.pop(0)
            log = LOGS / f"{name}.log"
            handle = log.open("w")
            # The lock: `make matrix`, beside these, runs a scenario of its own.
            proc = subprocess.Popen(["flock", str(LOGS / f"{name}.lock"), "molecule", "test", "-s", name], stdout=handle, stderr=subprocess.STDOUT,
                                    cwd=REPO)
            running[name] = (proc, handle, log, time.monotonic())
            print(f"=== [{stamp()}] molecule test -s {name}: started (log: {log.relative_to(REPO)})", flush=True)
        if failed and not running:
            break
        time.sleep(2)
        for name, (proc, handle, log, started) in list(running.items()):
            if proc.poll() is None:
                continue
            handle.close()
            del running[name]
            seconds = int(time.monotonic() - started)
            if proc.returncode == 0:
                print(f"=== [{stamp()}] molecule test -s {name}: passed in {seconds} s ({closing_line(log)})",
                      flush=True)
            else:
                failed.append(name)
                print(f"=== [{stamp()}] molecule test -s {name}: FAILED (exit {proc.returncode}) after {seconds} s;"
                      f" its log follows", flush=True)
                sys.stdout.write(log.read_text(errors="replace"))
                print(f"=== end of the log of {name}", flush=True)
        if failed and queue:
            print(f"=== not started after the failure: {' '.join(queue)}", flush=True)
            queue = []
    total = int(time.monotonic() - start_all)
    if failed:
        print(f"=== molecule: {len(failed)} scenario(s) failed: {' '.join(failed)} ({total} s)", flush=True)
        return 1
    print(f"=== molecule: {len(opts.scenarios)} scenarios passed, {opts.jobs} at a time, in {total} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
