"""bench/run.py's load figures of the rolling upgrade: the drain lines it reads, what it refuses, its rows."""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "molecule" / "shared"))
import run as bench  # noqa: E402

GOOD_LOAD = {"sent": 12000, "failed": 0, "by_kind": {}, "slow_sent": 40, "slow_failed": 0, "threads_died": [],
             "p50_ms": 20.0, "p99_ms": 200.0, "versions": {"v3.0.0@bench2": 3, "v3.0.1@bench3": 4}}


def test_drain_lines_of_a_run():
    output = ("TASK [spiff.arena.engine : Say how many requests the restart may cut, api] ***\n"
              "ok: [bench2] => (item=bench1) =>\n"
              "    msg: drain bench2 api on bench1: 0 sessions left after 2.5 s\n"
              "ok: [bench3] => (item=bench1) =>\n"
              "    msg: 'drain bench3 api on bench1: 2 sessions left after 30.0 s (spiff_proxy_drain_timeout\n"
              "        30 s reached: they get the graceful stop, then are cut)'\n")
    assert bench.drains(output) == [("bench2", "api", "bench1", 0, 2.5), ("bench3", "api", "bench1", 2, 30.0)]
    assert bench.drains("nothing drained") == []


def test_load_problems():
    assert bench.load_problems(GOOD_LOAD, 10000) == []
    assert bench.load_problems(dict(GOOD_LOAD, sent=6), 10000) == ["6 requests sent, fewer than 10000"]
    failed = bench.load_problems(dict(GOOD_LOAD, failed=1, by_kind={"version-info: HTTP 502": 1}), 10)
    assert len(failed) == 1 and "HTTP 502" in failed[0]
    assert bench.load_problems(dict(GOOD_LOAD, slow_failed=1), 10)
    assert bench.load_problems(dict(GOOD_LOAD, threads_died=["Thread-1"]), 10)


def test_upgrade_rows():
    upgrade = {"seconds": 95.0, "load": GOOD_LOAD, "ping": {"longest_gap_s": 1.5},
               "drains": [("bench2", "api", "bench1", 0, 6.1), ("bench3", "api", "bench1", 0, 0.0)]}
    rows = "\n".join(bench.table({"upgrade": upgrade}))
    for row in ["| during the upgrade: requests sent | 12000 |", "| during the upgrade: requests failed | 0 |",
                "| during the upgrade: sessions cut at drain (left at the drain timeout) | 0 |",
                "| during the upgrade: replicas drained / longest drain s | 2 / 6.1 |",
                "| during the upgrade: long requests (6 s) sent / cut | 40 / 0 |",
                "| during the upgrade: longest time with no worker answering a ping s | 1.5 |",
                "| during the upgrade: p99 ms | 200.0 |",
                "| during the upgrade: API versions answering | v3.0.0, v3.0.1 |"]:
        assert row in rows, rows
