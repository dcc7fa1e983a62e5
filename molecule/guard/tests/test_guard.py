"""The guard refuses two Background hosts before any change; moving Background leaves one.

The cluster's Celery broker is RabbitMQ (spiff_broker: rabbitmq, set by converge.yml and
by every run here): jobs go through it to the workers of both hosts."""

import os
import pathlib
import sys
import time

import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import spiffcheck  # noqa: E402

testinfra_hosts = ["guard-a"]
REPO = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
HOSTS = ["guard-a", "guard-b"]
ALL_GROUPS = ["spiff_database", "spiff_redis", "spiff_api", "spiff_worker", "spiff_frontend", "spiff_connector"]


def site(tmp_path, background, *extra):
    """Run site.yml against the sandbox with spiff_background = `background`."""
    children = {group: {"hosts": {"guard-a": None}} for group in ALL_GROUPS}
    for group in ("spiff_api", "spiff_worker"):
        children[group]["hosts"]["guard-b"] = None
    children["spiff_background"] = {"hosts": {name: None for name in background}}
    inventory = tmp_path / "inventory"
    inventory.mkdir(exist_ok=True)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {name: {"ansible_connection": "community.docker.docker"} for name in HOSTS},
        "children": children}}))
    if not (inventory / "group_vars").exists():
        (inventory / "group_vars").symlink_to(REPO / "inventories" / "sandbox" / "group_vars")
    return spiffcheck.run_playbook(inventory / "hosts.yml", REPO / "playbooks" / "site.yml",
                                   "-e", f"spiff_secrets_dir={EPHEMERAL / 'inventory' / '.secrets'}",
                                   "-e", "spiff_broker=rabbitmq", *extra)


def snapshot(host):
    """What a run could change on the hosts: files, units, containers."""
    state = {}
    for name in HOSTS:
        vm = host.get_host(f"docker://{name}")
        state[name] = vm.check_output(
            "find /etc/spiff /var/lib/spiff /etc/systemd/system -maxdepth 1 -name '*' -printf '%p %T@ %s\\n' | sort;"
            " systemctl list-units 'spiff-*' --all --no-legend --plain | sort;"
            " podman ps --all --no-trunc --format '{{.ID}} {{.Names}} {{.Status}}' | sed 's/Up [^)]*//' | sort")
    return state


def test_jobs_go_through_rabbitmq_to_both_workers(host):
    assert host.service("spiff-rabbitmq.service").is_running
    assert not host.file("/etc/systemd/system/spiff-redis.service").exists
    for name in HOSTS:
        url = host.get_host(f"docker://{name}").check_output(
            "podman exec spiff-worker printenv SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL")
        assert url.startswith("amqp://spiff:") and url.endswith(":5672/spiff"), name
    workers = {spiffcheck.run_job(host, HOSTS[i % 2], f"amqp {i}")["worker"] for i in range(12)}
    assert workers == set(HOSTS)
    queues = host.check_output("podman exec spiff-rabbitmq rabbitmqctl --quiet list_queues --vhost spiff name")
    assert "celery" in queues.split()
    users = host.check_output("podman exec spiff-rabbitmq rabbitmqctl --quiet list_users")
    assert "guest" not in users and "spiff" in users


def test_background_runs_on_the_spiff_background_host(host):
    assert spiffcheck.live_schedulers(host, "guard-a") == ["guard-a"]
    assert not host.get_host("docker://guard-b").file("/etc/systemd/system/spiff-background.service").exists


@pytest.mark.parametrize("limit", [[], ["--limit", "guard-b"]], ids=["whole-inventory", "limit-guard-b"])
def test_two_background_hosts_fail_before_any_change(host, tmp_path, limit):
    before = snapshot(host)
    res = site(tmp_path, ["guard-a", "guard-b"], *limit)
    output = res.stdout + res.stderr
    assert res.returncode != 0
    assert "spiff_background (inventory): holds 2 hosts (guard-a, guard-b)" in output
    assert "PLAY [Plan the rollout" not in output  # stopped in the guard play, before facts or the plan
    assert "PLAY RECAP" in output and spiffcheck.recap_changes(output) == 0
    assert snapshot(host) == before


def unit_events(vm, since, word):
    """Times (s since the epoch) of systemd's `word` messages for spiff-background since `since`."""
    lines = vm.check_output(f"journalctl -u spiff-background.service --since @{since} -o short-unix --no-pager")
    return [float(line.split()[0]) for line in lines.splitlines() if f" {word} spiff-background.service" in line]


def test_moving_background_leaves_exactly_one(host, tmp_path):
    started = int(host.check_output("date +%s"))
    res = site(tmp_path, ["guard-b"])
    assert res.returncode == 0, spiffcheck.failure(res)
    assert "Background host: guard-b" in res.stdout
    a, b = (host.get_host(f"docker://{name}") for name in HOSTS)
    # Stop first: the old one stopped before the new one began to start.
    stopped, starting = unit_events(a, started, "Stopped"), unit_events(b, started, "Starting")
    assert stopped and starting, (stopped, starting)
    assert max(stopped) < min(starting), (stopped, starting)
    assert not a.file("/etc/systemd/system/spiff-background.service").exists
    assert not a.service("spiff-background.service").is_running
    assert a.run("podman container exists spiff-background").rc == 1
    assert b.service("spiff-background.service").is_running
    time.sleep(8)  # let guard-a's last heartbeat age out of the 6 s window
    assert spiffcheck.live_schedulers(host, "guard-a", within=6) == ["guard-b"]
