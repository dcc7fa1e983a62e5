"""Faults the cluster survives without anyone touching it.

Killed containers come back within 15 s; a 60 s database outage ends with
API, workers and Background working again and no job silently lost; a
broker restart loses no queued job; after a reboot every unit comes back
healthy in dependency order.
"""

import pathlib
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import spiffcheck  # noqa: E402

VM = "faults-aio"
SERVICES = ["database", "redis", "proxy", "connector", "api", "worker", "background", "frontend"]
PREFIX = "/api"


@pytest.fixture(scope="module")
def address(host):
    return host.check_output("ip -4 -o addr show dev eth0").split()[3].split("/")[0]


def api(address, path):
    return spiffcheck.api_url(address, path, prefix=PREFIX)


def started_at(host, name):
    return host.check_output("podman inspect --format '{{.State.StartedAt}}' spiff-%s", name)


def running(host, name):
    return (host.run(f"systemctl is-active --quiet spiff-{name}.service").rc == 0
            and host.run("podman container inspect --format '{{.State.Running}}' spiff-%s", name).stdout.strip() == "true")


def api_status(host, address):
    """HTTP status of the API's health URL, 0 while it does not answer at all."""
    try:
        return spiffcheck.http(host, api(address, "status"))[0]
    except AssertionError:
        return 0


def all_healthy(host, address):
    return all(running(host, name) for name in SERVICES) and api_status(host, address) == 200


def test_metrics_at_the_api_port_root_need_a_token(host, address):
    """Upstream serves /metrics at the API port's root, outside the /api prefix; a token is needed."""
    for path in ("/metrics", f"{PREFIX}/metrics"):
        status, body = spiffcheck.http(host, f"http://{address}:7000{path}")
        assert status == 401 and "standin_requests_total" not in str(body), (path, status, body)


@pytest.mark.parametrize("port", [5432, 6379, 7004, 7000, 8001], ids=["database", "redis", "connector", "api", "frontend"])
def test_private_ports_answer_the_vm_and_not_this_machine(host, address, port):
    """spiff_private_address is an IP here: every port listens on it only, and with the proxy on
    the VM, every port but the proxy's answers only the VM (backend and proxy host)."""
    listening = host.check_output(f"ss -ltnH 'sport = :{port}'").splitlines()
    assert listening and all(line.split()[3] == f"{address}:{port}" for line in listening), listening
    assert host.run(f"timeout 10 bash -c '</dev/tcp/{address}/{port}'").rc == 0  # answers at once; 10 s for a loaded machine
    with pytest.raises(OSError):  # dropped: no answer at all
        socket.create_connection((address, port), timeout=3).close()
    socket.create_connection((address, 443), timeout=3).close()  # the proxy answers everyone


@pytest.mark.parametrize("name", SERVICES)
def test_killed_container_is_back_within_15_s(host, name):
    before = started_at(host, name)
    host.run_expect([0], f"podman kill spiff-{name}")
    killed = time.monotonic()
    spiffcheck.wait_for(lambda: running(host, name) and started_at(host, name) != before, 15,
                        f"spiff-{name} running again after a kill")
    print(f"spiff-{name} back after {time.monotonic() - killed:.1f} s")


def test_everything_healthy_after_the_kills(host, address):
    spiffcheck.wait_for(lambda: all_healthy(host, address), 120, "every service healthy again")
    assert spiffcheck.run_job(host, address, "after the kills", prefix=PREFIX)["status"] == "done"


def test_database_outage_of_60_s(host, address):
    host.run_expect([0], "systemctl stop spiff-database.service")
    stopped = time.monotonic()
    try:
        time.sleep(5)
        status, body = spiffcheck.http(host, api(address, "standin/jobs"), "POST", {"payload": "during the outage"})
        # Rejected with an error, or accepted and then completed: never accepted and lost.
        accepted = body["id"] if status == 202 else None
        assert status == 202 or status >= 500, (status, body)
        time.sleep(max(0, 60 - (time.monotonic() - stopped)))
    finally:
        host.run_expect([0], "systemctl start spiff-database.service")
    spiffcheck.wait_for(lambda: api_status(host, address) == 200, 120, "API healthy again")
    assert spiffcheck.run_job(host, address, "after the outage", prefix=PREFIX, timeout=120)["status"] == "done"
    # A heartbeat under way when the database stopped may wait on a connection
    # whose SYN went to the stopped container: Linux gives up on it after about
    # 127 s (tcp_syn_retries 6), then the next one succeeds. Seen once in a
    # fresh-clone run (not within 60 s); what the journal says is shown on failure.
    try:
        spiffcheck.wait_for(lambda: spiffcheck.live_schedulers(host, address, prefix=PREFIX) == [VM], 180,
                            "Background beating again")
    except AssertionError as error:
        journal = host.run("journalctl -u spiff-background --since -6min --no-pager -o short-iso | tail -25").stdout
        raise AssertionError(f"{error}\n{journal}") from None
    if accepted is not None:
        spiffcheck.wait_for(lambda: spiffcheck.http(host, api(address, f"standin/jobs/{accepted}"))[1]
                            .get("status") == "done", 120, "the job accepted during the outage completed")
    for name in SERVICES:
        assert running(host, name), name


def test_broker_restart_keeps_queued_jobs(host, address):
    host.run_expect([0], "systemctl stop spiff-worker.service")
    ids = []
    for i in range(3):
        status, body = spiffcheck.http(host, api(address, "standin/jobs"), "POST", {"payload": f"queued {i}"})
        assert status == 202, body
        ids.append(body["id"])
    host.run_expect([0], "systemctl restart spiff-redis.service")
    spiffcheck.wait_for(lambda: running(host, "redis"), 30, "broker back")
    host.run_expect([0], "systemctl start spiff-worker.service")

    def all_done():
        return all(spiffcheck.http(host, api(address, f"standin/jobs/{job}"))[1].get("status") == "done"
                   for job in ids)
    spiffcheck.wait_for(all_done, 120, "jobs queued before the broker restart completed")
    # and a running worker reconnects after another restart
    host.run_expect([0], "systemctl restart spiff-redis.service")
    assert spiffcheck.run_job(host, address, "after the reconnect", prefix=PREFIX, timeout=120)["status"] == "done"


def test_reboot_brings_every_unit_back_healthy(host, address):
    subprocess.run(["docker", "restart", "--time", "30", VM], check=True, capture_output=True)
    rebooted = time.monotonic()
    spiffcheck.wait_for(lambda: host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded"),
                        120, "VM booted")
    spiffcheck.wait_for(lambda: all_healthy(host, address), 240, "every service healthy after the reboot")
    print(f"healthy {time.monotonic() - rebooted:.0f} s after the reboot")
    assert spiffcheck.run_job(host, address, "after the reboot", prefix=PREFIX, timeout=120)["status"] == "done"
    failed = host.check_output("systemctl list-units 'spiff-*' --state=failed --no-legend --plain")
    assert failed.strip() == "", failed
    # ordering: the backend's units come after the database and the broker
    after = host.check_output("systemctl show -p After spiff-api.service")
    assert "spiff-database.service" in after and "spiff-redis.service" in after
