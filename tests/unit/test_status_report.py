"""The status report: one row per service, and a problem for each thing that is wrong."""

import importlib.util
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("status", REPO / "plugins" / "filter" / "status.py")
status = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(status)

GROUPS = {"spiff_api": ["a1", "a2"], "spiff_worker": ["a1", "a2"], "spiff_database": ["db"], "spiff_redis": ["db"]}


def svc(component, healthy=True, active="active", health="ok", image="img:v3.0.1"):
    return {"component": component, "active": active, "sub": "running" if active == "active" else "dead",
            "healthy": healthy, "health": health, "uptime": 3725, "image": image}


def healthy_cluster():
    return {
        "db": {"services": [svc("database"), svc("rabbitmq")], "background": []},
        "a1": {"services": [svc("api"), svc("worker"), svc("background")], "background": ["spiff-background"]},
        "a2": {"services": [svc("api"), svc("worker")], "background": []},
    }


def test_a_healthy_cluster_has_no_problem_and_one_row_per_service():
    report = status.status_report(healthy_cluster(), GROUPS)
    assert report["problems"] == []
    assert report["table"][0].split() == ["HOST", "COMPONENT", "STATE", "HEALTH", "UPTIME", "IMAGE"]
    assert report["table"][1].split() == ["a1", "api", "active/running", "ok", "1h02m", "img:v3.0.1"]
    assert len(report["table"]) == 1 + 7 + 1
    assert report["table"][-1] == "Background: a1/spiff-background"


def test_a_stopped_worker_names_the_unit_and_the_host():
    results = healthy_cluster()
    results["a2"]["services"][1] = svc("worker", healthy=False, active="inactive", health="not running")
    problems = status.status_report(results, GROUPS)["problems"]
    assert problems == ["spiff-worker on a2 is inactive/dead, health: not running. "
                        "Look at: journalctl -u spiff-worker on a2."]


def test_two_or_no_background_is_a_problem():
    results = healthy_cluster()
    results["a2"]["background"] = ["planted"]
    assert "2 Background schedulers are running (a1/spiff-background, a2/planted)" in \
        status.status_report(results, GROUPS)["problems"][0]
    results["a1"]["background"] = results["a2"]["background"] = []
    assert status.status_report(results, GROUPS)["problems"][0].startswith("0 Background schedulers are running")


def test_a_missing_component_and_an_unreachable_host_are_problems():
    results = healthy_cluster()
    results["a2"]["services"] = [svc("api")]
    results["db"] = {"unreachable": True, "msg": "Failed to connect to the host via ssh"}
    report = status.status_report(results, GROUPS)
    assert "spiff-worker is not on a2, which is in spiff_worker: run playbooks/site.yml." in report["problems"]
    assert any(p.startswith("db could not be read (Failed to connect") for p in report["problems"])
    assert any(row.split()[:3] == ["db", "-", "unreachable"] for row in report["table"])


def test_process_models_that_differ_between_hosts_are_a_problem():
    results = healthy_cluster()
    results["a1"]["models"] = results["a2"]["models"] = "git 0123456789ab"
    report = status.status_report(results, GROUPS)
    assert report["problems"] == []
    assert ["a1", "process", "models", "git", "0123456789ab", "-", "-", "-"] in [row.split() for row in report["table"]]
    assert report["table"][-1] == "Process models: git 0123456789ab"
    results["a2"]["models"] = "sha256 fedcba9876543210"
    problems = status.status_report(results, GROUPS)["problems"]
    assert problems == ["The process models differ between backend hosts (a1: git 0123456789ab; a2: sha256 fedcba9876543210):"
                        " every API, worker and Background must run the same ones. Run playbooks/site.yml to put them in"
                        " place again (read-only), or look at what changed them."]
