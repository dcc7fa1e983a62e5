"""The data tier: running, private, password protected, persistent, restartable."""

import os
import pathlib
import time

import pytest

testinfra_hosts = ["data-d12", "data-d13"]
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SECRETS = EPHEMERAL / "inventory" / ".secrets"
UNITS = ["spiff-database.service", "spiff-redis.service"]


def secret(name):
    return (SECRETS / name).read_text().strip()


@pytest.fixture(scope="module")
def passwords():
    values = {name: secret(name) for name in ("database_password", "database_admin_password", "redis_password")}
    assert all(len(v) == 32 for v in values.values())
    return values


@pytest.mark.parametrize("unit", UNITS)
def test_units_active_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


@pytest.mark.parametrize("name", ["database", "redis"])
def test_env_files_are_root_only(host, name):
    env = host.file(f"/etc/spiff/{name}.env")
    assert env.user == "root" and env.group == "root"
    assert env.mode == 0o600


def test_secrets_dir_is_private():
    assert SECRETS.stat().st_mode & 0o077 == 0
    for path in SECRETS.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def test_no_password_in_units_processes_or_log(host, passwords):
    units = host.check_output("cat /etc/systemd/system/spiff-*.service")
    processes = host.check_output("ps -eo args")
    log = (EPHEMERAL / "ansible.log").read_text()
    assert "spiff-database" in units and "conmon" in processes
    for name, value in passwords.items():
        assert value not in units, f"{name} in a unit file"
        assert value not in processes, f"{name} in the process list"
        leaks = [line.replace(value, "<" + name + ">") for line in log.splitlines() if value in line]
        assert not leaks, f"{name} in the Ansible log: {leaks[:3]}"


def test_postgres_published_on_private_address(host):
    if host.backend.get_hostname() != "data-d12":
        pytest.skip("PostgreSQL runs on data-d12")
    address = host.check_output("ip -4 -o addr show dev eth0").split()[3].split("/")[0]
    assert host.socket(f"tcp://{address}:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:5432").is_listening


def test_backend_host_logs_in_to_postgres(host, passwords):
    d13 = host.get_host("docker://data-d13")
    uri = f"postgresql://spiffworkflow:{passwords['database_password']}@data-d12:5432/spiffworkflow"
    res = d13.run("psql %s -tAc 'select current_user, rolsuper from pg_roles where rolname = current_user'", uri)
    assert res.rc == 0, res.stderr
    assert res.stdout.strip() == "spiffworkflow|f"  # the application user is no superuser


def test_postgres_refuses_wrong_or_missing_password(host):
    d13 = host.get_host("docker://data-d13")
    wrong = d13.run("psql postgresql://spiffworkflow:wrong@data-d12:5432/spiffworkflow -c 'select 1'")
    assert wrong.rc != 0 and "password authentication failed" in wrong.stderr
    missing = d13.run("PGPASSWORD= psql -w -h data-d12 -U spiffworkflow spiffworkflow -c 'select 1'")
    assert missing.rc != 0 and "no password supplied" in missing.stderr


def test_postgres_refuses_hosts_that_are_not_backends(host, passwords):
    outsider = host.get_host("docker://data-out")
    uri = f"postgresql://spiffworkflow:{passwords['database_password']}@data-d12:5432/spiffworkflow"
    res = outsider.run("psql %s -c 'select 1'", uri)
    assert res.rc != 0 and "no pg_hba.conf entry" in res.stderr


def test_mysql_user_logs_in_from_the_backend_host_only(host, passwords):
    # data-d13 is the backend host (its own address: the host's traffic to its published port
    # keeps it); data-out, in no group, has no account of the user. Debian 13's client asks
    # for TLS by default, which the server does not offer: --skip-ssl there.
    d13, out = host.get_host("docker://data-d13"), host.get_host("docker://data-out")
    ok = d13.run("MYSQL_PWD=%s mysql --skip-ssl -h data-d13 -u spiffworkflow spiffworkflow -Nse 'select 1'",
                 passwords["database_password"])
    assert ok.rc == 0 and ok.stdout.strip() == "1", ok.stderr
    anonymous = d13.run("mysql --skip-ssl -h data-d13 -u spiffworkflow spiffworkflow -e 'select 1'")
    assert anonymous.rc != 0 and "Access denied" in anonymous.stderr
    outsider = out.run("MYSQL_PWD=%s mysql -h data-d13 -u spiffworkflow spiffworkflow -e 'select 1'",
                       passwords["database_password"])
    # root@'%' of the image matches any host: the refusal is "Access denied" for the user there.
    assert outsider.rc != 0 and "Access denied for user 'spiffworkflow'@" in outsider.stderr, outsider.stderr
    root = out.run("mysql -h data-d13 -u root -e 'select 1'")
    assert root.rc != 0 and "Access denied" in root.stderr


@pytest.mark.parametrize("server", ["data-d12", "data-d13"])
def test_broker_requires_the_password(host, passwords, server):
    out = host.get_host("docker://data-out")
    anonymous = out.run(f"redis-cli -h {server} ping")
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    authed = out.run(f"REDISCLI_AUTH=%s redis-cli -h {server} ping", passwords["redis_password"])
    assert authed.stdout.strip() == "PONG", authed.stderr


def test_data_survived_the_change(host):
    name = host.backend.get_hostname()
    if name == "data-d12":
        rows = host.check_output("podman exec spiff-database psql -U postgres -d spiffworkflow -tAc 'select note from marker'")
        image = host.check_output("podman inspect spiff-database --format '{{.ImageName}}'")
        assert image.endswith(":15-retagged"), "the side effect did not move PostgreSQL to the new tag"
        key = host.check_output("podman exec spiff-redis redis-cli get marker")
    else:
        rows = host.check_output(
            "podman exec spiff-database sh -c 'MYSQL_PWD=\"$MYSQL_ROOT_PASSWORD\" mysql -uroot -Nse \"select note from spiffworkflow.marker\"'")
        key = host.check_output("podman exec spiff-redis valkey-cli get marker")
    assert rows.strip() == "written before the change"
    assert key.strip() == "written before the change"


def _wait_healthy(host, unit, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if host.run(f"systemctl is-active --quiet {unit}").rc == 0 and \
           host.run(f"podman container inspect --format '{{{{.State.Running}}}}' {unit[:-8]}").stdout.strip() == "true":
            return time.monotonic() - (deadline - seconds)
        time.sleep(0.5)
    raise AssertionError(f"{unit} not back within {seconds} s")


@pytest.mark.parametrize("unit", UNITS)
def test_killed_container_comes_back(host, unit):
    container = unit[: -len(".service")]
    before = host.check_output(f"podman inspect --format '{{{{.State.StartedAt}}}}' {container}")
    host.run(f"podman kill {container}")
    time.sleep(1)
    _wait_healthy(host, unit)
    after = host.check_output(f"podman inspect --format '{{{{.State.StartedAt}}}}' {container}")
    assert after != before


@pytest.mark.parametrize("unit", UNITS)
def test_systemctl_restart_brings_it_back(host, unit):
    assert host.run(f"systemctl restart {unit}").rc == 0
    _wait_healthy(host, unit)
