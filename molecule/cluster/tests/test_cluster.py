"""A cluster: jobs through every API host, one Background, one migration."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import spiffcheck  # noqa: E402

testinfra_hosts = ["cl-web"]
API_HOSTS = ["cl-app1", "cl-app2"]
BACKEND_HOSTS = {"cl-app1": ["api", "worker", "background"], "cl-app2": ["api", "worker"]}


@pytest.mark.parametrize("api_host", API_HOSTS)
def test_job_through_each_api_host(host, api_host):
    job = spiffcheck.run_job(host, api_host, f"via {api_host}")
    assert job["status"] == "done" and job["worker"] in API_HOSTS


def test_jobs_reach_both_workers(host):
    workers = {spiffcheck.run_job(host, API_HOSTS[i % 2], f"spread {i}")["worker"] for i in range(12)}
    assert workers == set(API_HOSTS)


def test_exactly_one_background_in_the_cluster(host):
    assert spiffcheck.live_schedulers(host, "cl-app2") == ["cl-app1"]
    for name, parts in BACKEND_HOSTS.items():
        vm = host.get_host(f"docker://{name}")
        unit = vm.file("/etc/systemd/system/spiff-background.service")
        assert unit.exists == ("background" in parts), name
        assert vm.service("spiff-background.service").is_running == ("background" in parts), name


def test_migration_ran_once_on_the_background_host(host):
    runs = spiffcheck.migrations(host, "cl-app1")
    assert [(run["hostname"], run["to_rev"]) for run in runs] == [("cl-app1", "standin_0001")]


@pytest.mark.parametrize("name", sorted(BACKEND_HOSTS))
def test_backend_units_and_same_process_models(host, name):
    vm = host.get_host(f"docker://{name}")
    for part in BACKEND_HOSTS[name]:
        assert vm.service(f"spiff-{part}.service").is_running, (name, part)
    models = vm.check_output("cd /var/lib/spiff/process_models && find . -type f -not -path './.git/*' | sort | xargs sha256sum")
    reference = host.get_host("docker://cl-app1").check_output(
        "cd /var/lib/spiff/process_models && find . -type f -not -path './.git/*' | sort | xargs sha256sum")
    assert "hello.bpmn" in models and models == reference


def test_frontend_points_at_the_api(host):
    status, body = spiffcheck.http(host, "http://cl-web:8001/")
    assert status == 200 and "http://cl-app1:7000/v1.0" in body


def test_connector_is_used_with_its_key(host):
    env = host.get_host("docker://cl-app1").file("/etc/spiff/api.env").content_string
    assert "SPIFFWORKFLOW_BACKEND_CONNECTOR_PROXY_URL=http://cl-web:7004" in env
    key = [line.split("=", 1)[1] for line in env.splitlines() if line.startswith("SPIFFWORKFLOW_BACKEND_CONNECTOR_PROXY_API_KEY=")][0]
    ok = host.run("curl -fsS -o /dev/null -w '%%{http_code}' -H 'Spiff-Connector-Proxy-Api-Key: %s' http://cl-web:7004/v1/commands", key)
    assert ok.stdout == "200"
