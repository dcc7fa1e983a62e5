"""The sandbox works: a loaded image runs under systemd and answers on the network."""

import json

import pytest

testinfra_hosts = ["all"]
PEERS = {"smoke-d12": "smoke-d13", "smoke-d13": "smoke-d12"}


def test_vm_runs_systemd(host):
    assert host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded")
    assert host.process.get(pid=1).comm == "systemd"


def test_service_active_and_enabled(host):
    service = host.service("spiff-smoke.service")
    assert service.is_running
    assert service.is_enabled


def test_container_runs_under_the_unit(host):
    out = host.check_output("podman ps --filter name=spiff-smoke --format '{{.Image}} {{.Status}}'")
    assert out.startswith("localhost/spiff-standin/connector-proxy-demo:v3.0.0 Up")
    # The unit's cgroup holds conmon, so systemd sees the container die.
    assert "conmon" in host.check_output("systemctl status spiff-smoke.service --no-pager")


def test_port_published_on_the_vm(host):
    assert host.socket("tcp://0.0.0.0:7004").is_listening


@pytest.mark.parametrize("path", ["/liveness"])
def test_service_answers_locally(host, path):
    res = host.run(f"curl -fsS http://127.0.0.1:7004{path}")
    assert res.rc == 0, res.stderr


def test_service_answers_from_the_other_vm(host):
    name = host.backend.get_hostname()
    peer = PEERS[name]
    res = host.run(f"curl -fsS -o /dev/null -w '%{{http_code}}' http://{peer}:7004/liveness")
    assert res.stdout == "200", res.stderr


def test_nested_container_resolves_sandbox_hosts(host):
    name = host.backend.get_hostname()
    peer = PEERS[name]
    res = host.run(f"podman exec spiff-smoke getent hosts {peer}")
    assert res.rc == 0 and peer in res.stdout, res.stderr
    resolv = host.check_output("podman exec spiff-smoke cat /etc/resolv.conf")
    nameservers = [line.split()[1] for line in resolv.splitlines() if line.startswith("nameserver")]
    assert nameservers == ["127.0.0.1"], resolv  # pinned to loopback, never a public resolver


def test_systemd_restarts_a_killed_container(host):
    before = host.check_output("podman inspect spiff-smoke --format '{{.State.Pid}}'")
    host.run("podman kill spiff-smoke")
    res = host.run(
        "for i in $(seq 30); do "
        "p=$(podman inspect spiff-smoke --format '{{.State.Pid}}' 2>/dev/null); "
        f"[ -n \"$p\" ] && [ \"$p\" != 0 ] && [ \"$p\" != {before} ] && curl -fs http://127.0.0.1:7004/liveness >/dev/null && exit 0; "
        "sleep 0.5; done; exit 1"
    )
    assert res.rc == 0, "spiff-smoke did not come back within 15 s"
    assert json.loads(host.check_output("podman inspect spiff-smoke"))[0]["State"]["Running"]
