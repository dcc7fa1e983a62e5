"""The engine runs services with docker just as with podman, every image pulled from a
registry with TLS (the scenario's own CA) and a password (molecule/docker/converge.yml)."""

import json
import os
import pathlib
import subprocess
import time

import pytest

testinfra_hosts = ["docker-d12"]  # docker-reg only serves the images
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
UNITS = ["spiff-database.service", "spiff-redis.service"]


def secret(name):
    return (EPHEMERAL / "inventory" / ".secrets" / name).read_text().strip()


REGISTRY_PASSWORD = EPHEMERAL / "registry" / "password"
PULLED = ["docker-reg:5000/library/postgres:15", "docker-reg:5000/library/redis:7",
          "docker-reg:5000/sartography/connector-proxy-demo:v3.0.0"]


def test_every_image_pulled_from_the_registry(host):
    images = host.check_output("docker images --format '{{.Repository}}:{{.Tag}}'").split()
    # (side_effect.yml's pull leaves the connector's first image untagged: <none>)
    images = [image for image in images if not image.endswith(":<none>")]
    assert sorted(images) == sorted(PULLED), images
    assert host.service("spiff-connector.service").is_running
    assert host.check_output("ls -A /var/lib/spiff/images 2>/dev/null || true") == ""  # no archive travelled
    assert "Pull docker-reg:5000/sartography/connector-proxy-demo:v3.0.0" in (EPHEMERAL / "ansible.log").read_text()


CONNECTOR = PULLED[2]
REPUSHED_ID = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".cache", "images",
                           "spiff-standin_connector-proxy-demo_v3.0.1.id")


def test_image_pushed_anew_under_the_same_tag_restarted_its_service_once(host):
    """side_effect.yml pushed other content under the connector's tag and pulled it on the
    host; the plan's read then gave a restart for the connector alone, naming both ids; the
    converge after it restarted the connector onto the new id and nothing else (and the
    idempotence step found nothing more to do). Before the killed-container tests below,
    which restart the database and broker."""
    path = EPHEMERAL / "repush.json"
    assert path.exists(), "side_effect.yml did not run (molecule test runs it before the second converge)"
    seen = json.loads(path.read_text())
    new_id = REPUSHED_ID.read_text().strip()
    old_id = seen["before"]["spiff-connector"][0]
    assert old_id != new_id and seen["pulled"] == new_id, seen
    verdicts = {v["name"]: v for v in seen["verdicts"]}
    assert verdicts["spiff-connector"]["action"] == "restart", verdicts
    assert verdicts["spiff-connector"]["reasons"] == [f"image {CONNECTOR}: {old_id[7:19]} -> {new_id[7:19]}"], verdicts
    assert verdicts["spiff-database"]["action"] == verdicts["spiff-redis"]["action"] == "none", verdicts
    now = {name: host.check_output(f"docker inspect --format '{{{{.Image}}}} {{{{.State.StartedAt}}}}' {name}").split()
           for name in seen["before"]}
    assert now["spiff-connector"][0] == new_id and now["spiff-connector"][1] != seen["before"]["spiff-connector"][1], now
    assert host.service("spiff-connector.service").is_running
    assert now["spiff-database"] == seen["before"]["spiff-database"], now
    assert now["spiff-redis"] == seen["before"]["spiff-redis"], now


def test_registry_refuses_anonymous_pulls(host):
    """So the pulls above went through the collection's login and its CA."""
    ca = "/etc/docker/certs.d/docker-reg:5000/ca.crt"
    assert host.file(ca).exists
    code = host.check_output(f"curl -sS -o /dev/null -w '%{{http_code}}' --cacert {ca} https://docker-reg:5000/v2/_catalog")
    assert code == "401"


def test_registry_login_is_a_root_only_file(host):
    login = host.file("/root/.docker/config.json")
    assert login.user == "root" and login.mode == 0o600 and host.file("/root/.docker").mode == 0o700
    assert '"docker-reg:5000"' in login.content_string


def test_docker_daemon_runs_and_podman_is_unused(host):
    assert host.service("docker.service").is_running
    assert host.check_output("podman ps --quiet") == ""


@pytest.mark.parametrize("unit", UNITS)
def test_units_run_docker_containers(host, unit):
    service = host.service(unit)
    assert service.is_running and service.is_enabled
    container = unit[: -len(".service")]
    assert host.check_output(f"docker inspect --format '{{{{.State.Running}}}}' {container}") == "true"
    assert "/usr/bin/docker run" in host.file(f"/etc/systemd/system/{unit}").content_string


@pytest.mark.parametrize("unit", UNITS)
def test_logs_go_to_the_journal_only(host, unit):
    container = unit[: -len(".service")]
    assert host.check_output(f"docker inspect --format '{{{{.HostConfig.LogConfig.Type}}}}' {container}") == "none"
    assert host.check_output(f"docker inspect --format '{{{{.LogPath}}}}' {container}") == ""
    journal = host.check_output(f"journalctl -u {unit} --no-pager -o cat")
    assert "ready to accept connections" in journal.lower(), journal[-2000:]  # the server's own lines


def test_database_login_with_password_only(host):
    good = host.run("psql postgresql://spiffworkflow:%s@docker-d12:5432/spiffworkflow -tAc 'select 1'",
                    secret("database_password"))
    assert good.rc == 0 and good.stdout.strip() == "1", good.stderr
    bad = host.run("psql postgresql://spiffworkflow:wrong@docker-d12:5432/spiffworkflow -c 'select 1'")
    assert bad.rc != 0 and "password authentication failed" in bad.stderr


def test_broker_requires_password(host):
    assert "NOAUTH" in host.run("redis-cli -h docker-d12 ping").stdout
    assert host.run("REDISCLI_AUTH=%s redis-cli -h docker-d12 ping", secret("redis_password")).stdout.strip() == "PONG"


def test_no_secret_in_units_processes_or_log(host):
    units = host.check_output("cat /etc/systemd/system/spiff-*.service")
    processes = host.check_output("ps -eo args")
    log = (EPHEMERAL / "ansible.log").read_text()
    values = {name: secret(name) for name in ("database_password", "database_admin_password", "redis_password")}
    values["registry password"] = REGISTRY_PASSWORD.read_text().strip()
    for name, value in values.items():
        assert value not in units and value not in processes and value not in log, name
        readable = host.run("find /etc /root /var/lib/spiff -xdev -type f -perm -o=r -print0"
                            " | xargs -0 grep -lsF -e %s", value).stdout.strip()
        assert readable == "", (name, readable)  # in no world-readable file


@pytest.mark.parametrize("unit", UNITS)
def test_killed_container_comes_back_within_15s(host, unit):
    container = unit[: -len(".service")]
    before = host.check_output(f"docker inspect --format '{{{{.State.StartedAt}}}}' {container}")
    host.run(f"docker kill {container}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        res = host.run(f"docker inspect --format '{{{{.State.Running}}}} {{{{.State.StartedAt}}}}' {container}")
        running, _, started = res.stdout.strip().partition(" ")
        if res.rc == 0 and running == "true" and started != before:
            return
        time.sleep(0.5)
    raise AssertionError(f"{container} not back within 15 s")


def test_status_module_reads_the_image_docker_runs(host):
    """The status report shows the image the container runs, read from docker
    (`Config.Image`), not the image the unit file records."""
    unit = "/etc/systemd/system/spiff-redis.service"
    running = host.check_output("docker inspect --format '{{.Config.Image}}' spiff-redis")
    host.run_expect([0], f"cp {unit} /root/unit.saved && sed -i 's|^Image=.*|Image=recorded/only:0|' {unit}")
    try:
        # One line per host ("host | SUCCESS => {json}"): ansible-core 2.16 has no json callback of its own.
        env = dict(os.environ, ANSIBLE_FORCE_COLOR="false")
        res = subprocess.run(["ansible", "-i", str(EPHEMERAL / "inventory"), "docker-d12", "-m", "spiff.arena.spiff_status",
                              "--one-line"], capture_output=True, text=True, env=env, timeout=120,
                             cwd=os.environ["MOLECULE_PROJECT_DIRECTORY"])
    finally:
        host.run(f"mv /root/unit.saved {unit}")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    line = next(line for line in res.stdout.splitlines() if line.startswith("docker-d12 | "))
    result = json.loads(line.split(" => ", 1)[1])
    rows = {s["unit"]: s for s in result["services"]}
    assert rows["spiff-redis.service"]["image"] == running, rows
    assert rows["spiff-redis.service"]["release"] == running.rsplit(":", 1)[-1]
    assert rows["spiff-database.service"]["active"] == "active" and rows["spiff-database.service"]["healthy"], rows
