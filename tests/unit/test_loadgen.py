"""molecule/shared/loadgen.py against a local HTTP server that answers as told.

The server answers each path like the real backend and frontend, or, per test,
like a broken one: each broken answer must be a failure of its own kind, and
no worker thread may end early (the run must keep sending).
"""

import http.server
import json
import pathlib
import subprocess
import sys
import threading

import pytest

LOADGEN = pathlib.Path(__file__).resolve().parents[2] / "molecule" / "shared" / "loadgen.py"
sys.path.insert(0, str(LOADGEN.parent))
import loadgen  # noqa: E402

GOOD = {
    "/api/v1.0/version-info": (200, b"{}"),  # the real backend without version_info.json
    "/": (200, b"<!doctype html><html><body>spiff</body></html>"),
    "/api/v1.0/standin/jobs": (202, b'{"id": 7}'),
    "/api/v1.0/standin/whoami": (200, b'{"version": "v3.0.0", "hostname": "app1"}'),
    "/api/v1.0/standin/sleep": (200, b'{"slept": 0.1}'),
}


@pytest.fixture
def server():
    answers = dict(GOOD)

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            status, body = answers[self.path.split("?")[0]]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", answers
    httpd.shutdown()


def run(base, tmp_path, *extra):
    out = tmp_path / "load.json"
    res = subprocess.run([sys.executable, str(LOADGEN), "--base", base, "--out", str(out), "--duration", "1.5",
                          "--workers", "3", *extra], capture_output=True, text=True, timeout=60)
    return res.returncode, json.loads(out.read_text())


def test_real_answers_fail_nothing_and_keep_sending(server, tmp_path):
    base, _ = server
    rc, load = run(base, tmp_path, "--whoami", "--min-sent", "30", "--slow-workers", "1", "--slow-seconds", "0.1")
    assert rc == 0 and load["ok"], load
    assert load["failed"] == 0 and load["sent"] >= 30 and load["threads_died"] == [], load
    assert load["version_info"]["(none)"] > 0 and load["versions"]["v3.0.0@app1"] > 0, load
    assert load["jobs_posted"] > 0 and load["slow_sent"] > 0 and load["slow_failed"] == 0, load


@pytest.mark.parametrize("path, answer, kind", [
    ("/api/v1.0/version-info", (200, b"not json"), "version-info: unreadable: JSONDecodeError"),
    ("/api/v1.0/version-info", (200, b'{"version": 3}'), "version-info: version-info: a value is not text"),
    ("/api/v1.0/version-info", (200, b"[]"), "version-info: version-info: not an object"),
    ("/api/v1.0/version-info", (502, b"bad gateway"), "version-info: HTTP 502"),
    ("/", (200, b"{}"), "frontend: frontend: not an HTML page"),
    ("/api/v1.0/standin/jobs", (200, b'{"id": 7}'), "job: HTTP 200"),
    ("/api/v1.0/standin/jobs", (202, b"{}"), "job: job: no id"),
    ("/api/v1.0/standin/whoami", (200, b"{}"), "whoami: whoami: no version or hostname"),
    ("/api/v1.0/standin/sleep", (200, b"cut"), "sleep: unreadable: JSONDecodeError"),
])
def test_every_wrong_answer_is_a_failure_of_its_kind(server, tmp_path, path, answer, kind):
    base, answers = server
    answers[path] = answer
    rc, load = run(base, tmp_path, "--whoami", "--slow-workers", "1", "--slow-seconds", "0.1")
    assert rc == 1 and not load["ok"], load
    assert load["by_kind"].get(kind, 0) > 0, load
    assert set(load["by_kind"]) == {kind}, load
    # every thread went on after the failure: far more than one request per thread
    assert load["sent"] > 20 and load["threads_died"] == [], load


def test_too_few_requests_sent_is_a_failed_run(server, tmp_path):
    base, _ = server
    rc, load = run(base, tmp_path, "--min-sent", "1000000")
    assert rc == 1 and not load["ok"] and load["failed"] == 0, load


def test_nothing_listening_counts_every_request(tmp_path):
    rc, load = run("http://127.0.0.1:9", tmp_path)
    assert rc == 1 and load["failed"] == load["sent"] > 3, load
    assert any("URLError" in kind or "Connection" in kind for kind in load["by_kind"]), load


def test_checks_accept_the_real_version_info():
    assert loadgen.check_version_info(b"{}") is None
    assert loadgen.check_version_info(b'{"version": "v3.0.0", "revision": "abc", "created": "x"}') == "v3.0.0"
    with pytest.raises(loadgen.Unexpected):
        loadgen.check_version_info(b'{"version": "v3", "hostname": "h"}')


def test_pinger_longest_gap():
    import pinger

    # answered at 1, 2, 9; unanswered between: the gap is 2 -> 9
    rounds = [(1.0, True), (2.0, True), (4.0, False), (6.0, False), (9.0, True)]
    assert pinger.longest_gap(rounds, 0.0, 10.0) == 7.0
    # nothing answered at all: the whole run
    assert pinger.longest_gap([(1.0, False)], 0.0, 5.0) == 5.0
    # the stretch after the last answer counts too
    assert pinger.longest_gap([(1.0, True)], 0.0, 20.0) == 19.0
    result = pinger.summary(rounds, 0.0, 10.0, {"celery@a"})
    assert result["unanswered"] == 2 and result["rounds"] == 5 and result["longest_gap_s"] == 7.0
