"""All-in-one: every component runs, the job chain works end to end."""

import json
import os
import pathlib
import re
import socket
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import spiffcheck  # noqa: E402

HOST = "aio-d12"
SERVICES = ["database", "redis", "connector", "api", "worker", "background", "frontend"]


@pytest.mark.parametrize("name", SERVICES)
def test_unit_active_enabled_env_private(host, name):
    service = host.service(f"spiff-{name}.service")
    assert service.is_running and service.is_enabled
    env = host.file(f"/etc/spiff/{name}.env")
    assert env.mode == 0o600 and env.user == "root"


def test_migration_ran_once_as_a_oneshot(host):
    assert host.service("spiff-migrate.service").is_running is False
    runs = spiffcheck.migrations(host, HOST)
    assert len(runs) == 1, runs
    assert runs[0]["to_rev"] == "standin_0001"


def test_api_status_through_published_port(host):
    status, body = spiffcheck.http(host, spiffcheck.api_url(HOST, "status"))
    assert status == 200 and body["ok"] is True


def test_job_runs_through_redis_worker_and_database(host):
    job = spiffcheck.run_job(host, HOST, "all-in-one")
    assert job["worker"] == HOST
    assert job["result"]


def test_exactly_one_background_alive(host):
    assert spiffcheck.live_schedulers(host, HOST) == [HOST]


def test_frontend_carries_the_backend_url(host):
    status, body = spiffcheck.http(host, f"http://{HOST}:8001/")
    assert status == 200
    assert f"http://{HOST}:7000/v1.0" in body


def test_connector_liveness_and_no_key_check(host):
    status, _ = spiffcheck.http(host, f"http://{HOST}:7004/liveness")
    assert status == 200
    status, _ = spiffcheck.http(host, f"http://{HOST}:7004/v1/commands")
    assert status == 200  # as upstream's connector-proxy-demo: no key is checked, the network protects it


# Exposure (issue 16): ports on the private address, firewall, metrics -----------------

PORTS = {"database": 5432, "redis": 6379, "connector": 7004, "api": 7000, "frontend": 8001}


def private_ipv4():
    """The VM's address on the sandbox network: the one its name, its private address, resolves to."""
    return subprocess.run(["docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                           HOST], capture_output=True, text=True, check=True).stdout.strip()


def reaches_from_here(address, port):
    """Whether this machine, in no group of the inventory, opens address:port within 3 s."""
    try:
        socket.create_connection((address, port), timeout=3).close()
    except OSError:  # dropped (timed out) or refused
        return False
    return True


@pytest.mark.parametrize("name", sorted(PORTS))
def test_published_port_listens_on_the_private_address_only(host, name):
    address, port = private_ipv4(), PORTS[name]
    published = [line.split(" -> ")[1] for line in host.check_output(f"podman port spiff-{name}").splitlines()]
    assert published == [f"{address}:{port}"], published
    listening = host.check_output(f"ss -ltnH 'sport = :{port}'").splitlines()
    assert listening and all(line.split()[3] == f"{address}:{port}" for line in listening), listening


@pytest.mark.parametrize("name", ["database", "redis", "connector"])
def test_backend_ports_answer_the_backend_hosts_only(host, name):
    """spiff_firewall (on by default): the database, broker and connector ports answer the
    backend hosts (this VM) and not this machine, which is in no group."""
    address, port = private_ipv4(), PORTS[name]
    assert host.run(f"timeout 10 bash -c '</dev/tcp/{address}/{port}'").rc == 0  # answers at once; 10 s for a loaded machine
    assert not reaches_from_here(address, port)


@pytest.mark.parametrize("name", ["api", "frontend"])
def test_api_and_frontend_answer_everyone_without_a_proxy(host, name):
    assert reaches_from_here(private_ipv4(), PORTS[name])  # no proxy: users come straight to them


def test_metrics_on_the_api_port_need_a_token(host):
    status, body = spiffcheck.http(host, f"http://{HOST}:7000/metrics")
    assert status == 401 and "standin_requests_total" not in str(body), (status, body)


def test_scheduler_flag_false_and_no_downgrade(host):
    env = host.file("/etc/spiff/api.env").content_string
    assert "SPIFFWORKFLOW_BACKEND_RUN_BACKGROUND_SCHEDULER_IN_CREATE_APP=false" in env
    assert "SPIFFWORKFLOW_BACKEND_UPGRADE_DB=false" in env
    assert "DOWNGRADE" not in env


def test_same_environment_for_all_backend_parts(host):
    def keys(name):
        text = host.file(f"/etc/spiff/{name}.env").content_string
        return sorted(line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert keys("api") == keys("worker") == keys("background") == keys("migrate")


def test_check_mode_with_diff_changes_nothing_and_hides_secrets(host):
    ephemeral = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    res = spiffcheck.run_playbook(ephemeral / "inventory", pathlib.Path(__file__).parents[1] / "converge.yml",
                                  "--check", "--diff")
    output = res.stdout + res.stderr
    assert res.returncode == 0, spiffcheck.failure(res)
    assert "PLAY RECAP" in output and spiffcheck.recap_changes(output) == 0
    for secret in (ephemeral / "inventory" / ".secrets").iterdir():
        assert secret.read_text().strip() not in output, f"{secret.name} shown by --check --diff"
    assert "extra-secret-value" not in output, "an extra secret setting shown by --check --diff"


@pytest.mark.parametrize("name", ["api", "worker", "background"])
def test_extra_settings_reach_every_backend_container(host, name):
    env = host.check_output(f"podman exec spiff-{name} printenv")
    assert "SPIFFWORKFLOW_BACKEND_DATABASE_POOL_SIZE=7" in env.splitlines()
    assert "SPIFFWORKFLOW_BACKEND_SENTRY_DSN=https://extra-secret-value@sentry.invalid/2" in env.splitlines()
    unit = host.file(f"/etc/systemd/system/spiff-{name}.service").content_string
    assert "extra-secret-value" not in unit and "POOL_SIZE" not in unit


@pytest.fixture(scope="module")
def noop_run():
    """A second run of the converge playbook at default verbosity."""
    ephemeral = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    res = spiffcheck.run_playbook(ephemeral / "inventory", pathlib.Path(__file__).parents[1] / "converge.yml")
    assert res.returncode == 0, spiffcheck.failure(res)
    return res


@pytest.mark.parametrize("name", SERVICES)
def test_no_op_run_takes_the_fast_path(noop_run, name):
    """The plan (one read of the host, against the plan it recorded) finds everything as it
    should be: no service is described again, no apply play starts, nothing is written."""
    assert spiffcheck.recap_changes(noop_run.stdout) == 0
    output = re.sub(r"\x1b\[[0-9;]*m", "", noop_run.stdout)  # without colours
    plan = output[output.rfind("Print the plan"):]
    assert re.search(r"\n\s*0 of (\d+) items on 1 hosts to change, \1 unchanged", plan), plan[:3000]
    assert f"spiff-{name}" not in plan[:plan.find("TASK [")]
    assert "Describe for the plan" not in output  # answered by the recorded plan: nothing rendered
    assert re.search(r"PLAY \[Roll the API replicas, one at a time\]\s*\**\s*skipping: no hosts matched", output)
    assert "TASK [spiff.arena.engine : Read what the host has for spiff-" not in output


def test_no_generated_secret_leaks(host, noop_run):
    """Each generated secret is absent from Ansible's output, units, process arguments,
    world-readable files and container labels."""
    ephemeral = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    secrets = {p.name: p.read_text().strip() for p in (ephemeral / "inventory" / ".secrets").iterdir() if p.is_file()}
    assert {"database_password", "redis_password", "backend_session_secret", "connector_api_key"} <= set(secrets)
    res = noop_run
    host.run_expect([0], "install -m 0600 /dev/null /var/tmp/spiff-secrets.txt")
    host.run("cat > /var/tmp/spiff-secrets.txt <<'EOF'\n%s\nEOF" % "\n".join(secrets.values()))
    try:
        places = {
            "units": "cat /etc/systemd/system/spiff-*.service",
            "process arguments": "ps -eo args",
            "container labels": "podman inspect --format '{{json .Config.Labels}}' $(podman ps -q)",
        }
        for place, command in places.items():
            text = host.check_output(command)
            assert text, place
            for name, value in secrets.items():
                assert value not in text, f"{name} found in {place}"
        for name, value in secrets.items():
            assert value not in res.stdout + res.stderr, f"{name} shown in Ansible's output"
        readable = host.run(
            "find / -xdev \\( -path /proc -o -path /sys -o -path /usr \\) -prune -o -type f -perm -o=r -print0"
            " | xargs -0 grep -lsF -f /var/tmp/spiff-secrets.txt")
        assert readable.stdout.strip() == "", f"world-readable files holding a secret: {readable.stdout}"
    finally:
        host.run("rm -f /var/tmp/spiff-secrets.txt")


def test_no_generated_secret_at_vvv(host):
    """The first converge ran at -vvv (molecule.yml) and took every service through its apply
    path, the one that renders each spec, environment and unit, after generating every secret:
    its log holds none of them."""
    ephemeral = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    secrets = {p.name: p.read_text().strip() for p in (ephemeral / "inventory" / ".secrets").iterdir() if p.is_file()}
    log = (ephemeral / "ansible.log").read_text()
    start = log.find("PLAY [Check the inventory and elect the Background host]")  # site.yml's first play
    assert start != -1, "no converge in the log"
    output = log[start:]
    assert "ESTABLISH DOCKER CONNECTION" in output  # at -vvv
    assert "Render the unit and environment of spiff-api" in output  # the apply path ran
    for name, value in secrets.items():
        assert value not in output, f"{name} shown at -vvv"
    assert "extra-secret-value" not in output, "an extra secret setting shown at -vvv"


@pytest.mark.parametrize("name", SERVICES)
def test_least_privilege(host, name):
    inspect = host.check_output(
        "podman inspect --format '{{.HostConfig.Privileged}} {{json .HostConfig.SecurityOpt}} {{json .EffectiveCaps}}' spiff-%s",
        name)
    privileged, security, caps = inspect.split(" ", 2)
    assert privileged == "false"
    assert "no-new-privileges" in security
    for cap in ("CAP_NET_RAW", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SYS_CHROOT", "CAP_SETFCAP", "CAP_SYS_ADMIN"):
        assert cap not in caps, (name, cap)


def container_table():
    """The README's container table: service -> its row (dict by column)."""
    readme = (pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "README.md").read_text()
    rows = readme.split("<!-- container-table -->")[1].split("<!-- /container-table -->")[0].strip().splitlines()
    head = [c.strip() for c in rows[0].strip("|").split("|")]
    return {cells[0]: dict(zip(head, cells)) for cells in
            ([c.strip() for c in row.strip("|").split("|")] for row in rows[2:])}


SIZES = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


@pytest.mark.parametrize("name", SERVICES)
def test_container_matches_the_readme_table(host, name):
    row = container_table()[name]
    out = host.check_output(
        "podman inspect --format '{{json .EffectiveCaps}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Memory}} "
        "{{.HostConfig.PidsLimit}} user={{.Config.User}}' spiff-%s", name)
    caps_json, readonly, memory, pids, user = out.rsplit(" ", 4)
    user = user.removeprefix("user=")
    # "root..." in the table: no user given (the image's, root); `uid:gid`: that one.
    given = re.search(r"`(\d+:\d+)`", row["runs as"])
    if row["runs as"].startswith("root"):
        assert user in ("", "root", "0", "0:0"), (name, user)
    elif given:
        assert user == given.group(1), (name, user)
        uid, gid = given.group(1).split(":")
        ids = host.check_output(f"podman exec spiff-{name} sh -c 'id -u; id -g; echo $HOME'").split()
        assert ids[:2] == [uid, gid], (name, ids)
        if "spiff_backend_user" in row["runs as"]:
            assert ids[2] == "/tmp", (name, ids)  # uv's cache and the like on the tmpfs
    caps = json.loads(caps_json) or []
    # "none", or the capabilities added back after dropping them all
    listed = [] if row["capabilities"] == "none" else ["CAP_" + cap.strip() for cap in row["capabilities"].split(",")]
    assert sorted(caps) == sorted(listed), (name, caps)
    assert readonly == ("true" if row["read-only root"] == "yes" else "false"), name
    assert int(memory) == int(row["memory"][:-1]) * SIZES[row["memory"][-1]], (name, memory)
    assert int(pids) == int(row["processes"]), (name, pids)


# Backup and restore with PostgreSQL (the backup scenario: MySQL on its own host) ------

def test_backup_and_restore_with_postgresql(host):
    before = spiffcheck.run_job(host, HOST, "written before the backup")
    res = day2("backup.yml", "-e", "spiff_backup_name=pg-before")
    assert res.returncode == 0, spiffcheck.failure(res)
    dump = "/var/backups/spiff/pg-before/database.pgdump"
    assert host.file(dump).mode == 0o600 and host.check_output(f"head -c 5 {dump}") == "PGDMP"
    assert host.file("/var/backups/spiff/pg-before/process_models.tar.gz").mode == 0o600
    after = spiffcheck.run_job(host, HOST, "written after the backup")

    # A dump cut in half is refused before anything is stopped or dropped.
    host.run_expect([0], "cp -a /var/backups/spiff/pg-before /var/backups/spiff/pg-cut && "
                         "f=/var/backups/spiff/pg-cut/database.pgdump && truncate -s $(( $(stat -c %s $f) / 2 )) $f")
    cut = day2("restore.yml", "-e", "spiff_restore_name=pg-cut", "-e", "spiff_restore_confirm=true")
    flat = " ".join((cut.stdout + cut.stderr).split())
    assert cut.returncode != 0 and "Backup pg-cut on " + HOST + " cannot be restored: " \
        "/var/backups/spiff/pg-cut/database.pgdump" in flat and "Nothing was changed" in flat, spiffcheck.failure(cut)
    assert spiffcheck.http(host, spiffcheck.api_url(HOST, f"standin/jobs/{after['id']}"))[0] == 200
    host.run_expect([0], "rm -rf /var/backups/spiff/pg-cut")

    res = day2("restore.yml", "-e", "spiff_restore_name=pg-before", "-e", "spiff_restore_confirm=true")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert spiffcheck.http(host, spiffcheck.api_url(HOST, f"standin/jobs/{before['id']}"))[0] == 200
    assert spiffcheck.http(host, spiffcheck.api_url(HOST, f"standin/jobs/{after['id']}"))[0] == 404
    # What was there before the restore is a backup of its own, with the row written after pg-before.
    safety = host.check_output("ls -1d /var/backups/spiff/before-restore-*").split()
    assert len(safety) == 1, safety
    assert host.file(f"{safety[0]}/process_models.tar.gz").exists
    rows = host.check_output(f"podman exec -i spiff-database pg_restore --data-only --file=- < {safety[0]}/database.pgdump")
    assert "written after the backup" in rows
    assert spiffcheck.run_job(host, HOST, "written after the restore")["status"] == "done"


# Day 2: the status report, then removal (last: it takes the cluster away) --------------

def day2(playbook, *args):
    ephemeral = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    repo = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
    return spiffcheck.run_playbook(ephemeral / "inventory", repo / "playbooks" / playbook, *args)


def test_status_table_of_a_healthy_cluster(host):
    res = day2("status.yml", "--check")
    assert res.returncode == 0, spiffcheck.failure(res)
    for name in SERVICES:
        assert re.search(rf"^\s*{HOST}\s+{name}\s+active/running\s+(HTTP 200|ok|running \(no check\))\s+\d+m\d\ds\s+\S+:\S+$",
                         res.stdout, re.M), (name, res.stdout[-3000:])
    assert re.search(rf"^\s*{HOST}\s+migrate\s+inactive/dead\s+last run success", res.stdout, re.M)
    assert f"Background: {HOST}/spiff-background\n" in res.stdout
    assert spiffcheck.recap_changes(res.stdout) == 0


def test_status_reports_a_stopped_worker_and_a_second_background(host):
    image = host.check_output("podman inspect --format '{{.ImageName}}' spiff-background")
    host.run_expect([0], "systemctl stop spiff-worker")
    host.run_expect([0], "podman run --detach --rm --name planted-background --env-file /etc/spiff/background.env "
                         f"{image} ./bin/start_blocking_apscheduler")
    try:
        res = day2("status.yml")
        output = res.stdout + res.stderr  # the table, then the failure's message
        assert res.returncode != 0
        assert re.search(rf"^\s*{HOST}\s+worker\s+inactive/dead\s+not running", output, re.M), output
        assert f"spiff-worker on {HOST} is inactive/dead, health: not running. " \
               f"Look at: journalctl -u spiff-worker on {HOST}." in output
        assert f"Background: {HOST}/planted-background, {HOST}/spiff-background\n" in output
        assert f"2 Background schedulers are running ({HOST}/planted-background, {HOST}/spiff-background)" in output
    finally:
        host.run("podman rm --force planted-background")
        host.run("systemctl start spiff-worker")
    spiffcheck.wait_for(lambda: day2("status.yml").returncode == 0, 90, "a healthy status again")


def test_remove_keeps_the_data_and_a_second_run_changes_nothing(host):
    refused = day2("remove.yml")
    assert refused.returncode != 0, spiffcheck.failure(refused)
    assert "-e spiff_remove_confirm=true" in " ".join((refused.stdout + refused.stderr).split())
    assert host.service("spiff-api").is_running  # nothing removed without the confirmation
    res = day2("remove.yml", "-e", "spiff_remove_confirm=true")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert host.run("ls /etc/systemd/system/spiff-*").rc != 0
    assert host.check_output("systemctl list-units --all --no-legend 'spiff-*'") == ""
    assert host.check_output("podman ps --all --format '{{.Names}}'") == ""
    assert "spiff-standin" not in host.check_output("podman images --format '{{.Repository}}:{{.Tag}}'")
    assert not host.file("/etc/spiff").exists
    assert host.file("/var/lib/spiff/database/PG_VERSION").exists
    assert host.file("/var/lib/spiff/process_models").is_directory
    assert host.file("/var/backups/spiff/pg-before/database.pgdump").exists  # backups stay
    assert not host.file("/usr/local/sbin/spiff-backup").exists
    assert f"Kept the data in /var/lib/spiff on {HOST}" in res.stdout
    again = day2("remove.yml", "-e", "spiff_remove_confirm=true")
    assert again.returncode == 0 and spiffcheck.recap_changes(again.stdout) == 0, spiffcheck.failure(again)


def test_remove_deletes_the_data_when_asked(host):
    res = day2("remove.yml", "-e", "spiff_remove_confirm=true", "-e", "spiff_remove_data=true")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert not host.file("/var/lib/spiff").exists
    assert host.file("/var/backups/spiff/pg-before/database.pgdump").exists
