"""Production layout behind the proxy: one URL, one Background, rolling upgrade, scale out.

The tests run in file order: the cluster as converged (v3.0.0), then a
replica failure, then an upgrade stopped by a host that fails, then the
upgrade to v3.0.1 under load, then scaling out to up-app3 and back and
retiring it, then the status report of the upgraded cluster.
"""

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import spiffcheck  # noqa: E402

testinfra_hosts = ["up-edge"]
REPO = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SECRETS = EPHEMERAL / "inventory" / ".secrets"
API_HOSTS = ["up-app1", "up-app2"]
BACKEND_HOSTS = {"up-app1": ["api", "worker", "background"], "up-app2": ["api", "worker"]}
PUBLIC = "https://up-edge"
CA = "/var/tmp/proxy-tls.crt"
LAYOUT = {
    "spiff_database": ["up-edge"], "spiff_redis": ["up-edge"], "spiff_proxy": ["up-edge"],
    "spiff_connector": ["up-edge"], "spiff_api": API_HOSTS, "spiff_worker": API_HOSTS,
    "spiff_frontend": API_HOSTS,
}


@pytest.fixture(scope="module", autouse=True)
def proxy_certificate():
    """The self-signed certificate the proxy serves, trusted by curl and the load generator."""
    subprocess.run(["docker", "cp", str(SECRETS / "proxy-tls.crt"), f"up-edge:{CA}"], check=True)


def public(host, path, method="GET", body=None):
    """(status, body) of a request to the one public URL, verifying the proxy's certificate."""
    cmd = f"curl -sS --path-as-is --cacert {CA} -o /tmp/public.body -w '%{{http_code}}' -X {method} '{PUBLIC}{path}'"
    if body is not None:
        cmd += f" -H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    res = host.run(cmd)
    assert res.rc == 0, res.stderr
    text = host.check_output("cat /tmp/public.body")
    try:
        return int(res.stdout), json.loads(text)
    except ValueError:
        return int(res.stdout), text


def site(tmp_path, layout, release, *extra, host_vars=None):
    inventory = spiffcheck.sandbox_inventory(tmp_path / "inventory", layout, REPO, host_vars=host_vars)
    return spiffcheck.run_playbook(inventory, REPO / "playbooks" / "site.yml", "-e", f"spiff_secrets_dir={SECRETS}",
                                   "-e", f"spiff_release={release}", *extra)


def served_by(host, requests=20):
    """Hosts and versions that answered `requests` API calls through the proxy."""
    seen = set()
    for _ in range(requests):
        status, info = public(host, "/api/v1.0/standin/whoami")
        assert status == 200, info
        seen.add((info["hostname"], info["version"]))
    return seen


# The cluster as converged -------------------------------------------------------------

@pytest.mark.parametrize("api_host", API_HOSTS)
def test_job_through_each_api_host(host, api_host):
    job = spiffcheck.run_job(host, api_host, f"via {api_host}", prefix="/api")
    assert job["status"] == "done" and job["worker"] in API_HOSTS


def test_jobs_reach_both_workers(host):
    workers = {spiffcheck.run_job(host, API_HOSTS[i % 2], f"spread {i}", prefix="/api")["worker"] for i in range(12)}
    assert workers == set(API_HOSTS)


def test_exactly_one_background_in_the_cluster(host):
    assert spiffcheck.live_schedulers(host, "up-app2", prefix="/api") == ["up-app1"]
    for name, parts in BACKEND_HOSTS.items():
        vm = host.get_host(f"docker://{name}")
        assert vm.file("/etc/systemd/system/spiff-background.service").exists == ("background" in parts), name
        assert vm.service("spiff-background.service").is_running == ("background" in parts), name


def test_migration_ran_once_on_the_background_host(host):
    runs = spiffcheck.migrations(host, "up-app1", prefix="/api")
    assert [(run["hostname"], run["to_rev"]) for run in runs] == [("up-app1", "standin_0001")]


@pytest.mark.parametrize("name", sorted(BACKEND_HOSTS))
def test_backend_units_and_same_process_models(host, name):
    vm = host.get_host(f"docker://{name}")
    for part in BACKEND_HOSTS[name]:
        assert vm.service(f"spiff-{part}.service").is_running, (name, part)
    listing = "cd /var/lib/spiff/process_models && find . -type f -not -path './.git/*' | sort | xargs sha256sum"
    models = vm.check_output(listing)
    assert "hello.bpmn" in models and models == host.get_host("docker://up-app1").check_output(listing)


def test_connector_is_used_with_its_key(host):
    env = host.get_host("docker://up-app1").file("/etc/spiff/api.env").content_string
    assert "SPIFFWORKFLOW_BACKEND_CONNECTOR_PROXY_URL=http://up-edge:7004" in env
    key = [line.split("=", 1)[1] for line in env.splitlines()
           if line.startswith("SPIFFWORKFLOW_BACKEND_CONNECTOR_PROXY_API_KEY=")][0]
    ok = host.run("curl -fsS -o /dev/null -w '%%{http_code}' -H 'Spiff-Connector-Proxy-Api-Key: %s' "
                  "http://up-edge:7004/v1/commands", key)
    assert ok.stdout == "200"


# One URL -----------------------------------------------------------------------------

def test_frontend_at_the_root_of_the_one_url(host):
    status, body = public(host, "/")
    assert status == 200
    assert "https://up-edge/api/v1.0" in body and "path_based" in body


def test_api_under_api_of_the_one_url(host):
    status, body = public(host, "/api/v1.0/status")
    assert status == 200 and body["ok"] is True
    assert served_by(host) == {("up-app1", "v3.0.0"), ("up-app2", "v3.0.0")}


def test_backend_told_its_public_urls(host):
    env = host.get_host("docker://up-app2").file("/etc/spiff/api.env").content_string
    for line in ["SPIFFWORKFLOW_BACKEND_URL=https://up-edge/api", "SPIFFWORKFLOW_BACKEND_URL_FOR_FRONTEND=https://up-edge",
                 "SPIFFWORKFLOW_BACKEND_WSGI_PATH_PREFIX=/api",
                 "SPIFFWORKFLOW_BACKEND_USE_WERKZEUG_MIDDLEWARE_PROXY_FIX=true"]:
        assert line in env.splitlines()


def test_http_redirects_to_https(host):
    out = host.check_output("curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' http://up-edge/api/v1.0/status")
    assert out == "301 https://up-edge/api/v1.0/status"


TLS_PROBE = """
import socket, ssl, sys
ctx = ssl.create_default_context(cafile="%s")
ctx.check_hostname = False
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers(sys.argv[1])  # outside the try: a cipher this client cannot offer fails the test
try:
    with socket.create_connection(("127.0.0.1", 443)) as raw, ctx.wrap_socket(raw) as tls:
        print(tls.cipher()[0])
except ssl.SSLError as err:
    print("refused", err.reason)
""" % CA


def vm_address(name):
    return subprocess.run(["docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("port", [7000, 8001], ids=["api", "frontend"])
def test_api_and_frontend_ports_answer_the_proxy_only(host, port):
    """spiff_firewall (on by default): with a proxy, an app host's API and frontend ports
    answer the proxy host, and not this machine, which is in no group."""
    assert host.check_output(f"curl -sS -o /dev/null -w '%{{http_code}}' http://up-app1:{port}/") in ("200", "404")
    with pytest.raises(OSError):  # dropped: no answer at all
        socket.create_connection((vm_address("up-app1"), port), timeout=3).close()
    socket.create_connection((vm_address("up-edge"), 443), timeout=3).close()  # the proxy answers everyone


def test_tls_policy_and_security_headers(host):
    host.run_expect([0], f"cat > /tmp/tls_probe.py <<'EOF'{TLS_PROBE}EOF")
    assert host.check_output("python3 /tmp/tls_probe.py 'ECDHE+AESGCM'").startswith("ECDHE-")
    for weak in ("AES128-SHA", "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA", "AES256-GCM-SHA384"):
        assert host.check_output(f"python3 /tmp/tls_probe.py '{weak}'").startswith("refused"), weak
    headers = host.check_output(f"curl -sS -o /dev/null -D - --cacert {CA} {PUBLIC}/").lower()
    for line in ("strict-transport-security: max-age=31536000", "x-content-type-options: nosniff",
                 "x-frame-options: sameorigin", "content-security-policy: frame-ancestors 'self'",
                 "referrer-policy: strict-origin-when-cross-origin"):
        assert line in headers, headers


@pytest.mark.parametrize("path", ["/api/metrics", "/api/v1.0/debug/url-info", "/api//metrics", "/api/%6detrics",
                                  "/api/v1.0/%64ebug/url-info", "/api/v1.0/./debug/url-info", "/metrics"])
def test_private_endpoints_not_reachable_through_the_proxy(host, path):
    assert public(host, path)[0] == 404
    # ... and the replica itself serves metrics only with a token (spiff_backend_metrics_auth)
    direct = host.check_output("curl -sS -o /dev/null -w '%{http_code}' http://up-app1:7000/api/metrics")
    assert direct == "401"  # spiff_backend_metrics_auth: a token is needed


def test_a_failed_replica_leaves_the_pool_and_comes_back(host):
    app2 = host.get_host("docker://up-app2")
    app2.run_expect([0], "systemctl stop spiff-api.service")
    try:
        spiffcheck.wait_for(lambda: spiffcheck.proxy_pool(host, "api")["up-app2"].startswith("DOWN"), 30,
                            "up-app2 seen down by the proxy")
        assert served_by(host) == {("up-app1", "v3.0.0")}
    finally:
        app2.run_expect([0], "systemctl start spiff-api.service")
    spiffcheck.wait_for(lambda: spiffcheck.proxy_pool(host, "api")["up-app2"] == "UP", 120,
                        "up-app2 back up in the proxy")
    assert served_by(host) == {("up-app1", "v3.0.0"), ("up-app2", "v3.0.0")}


# Rolling upgrade under load ----------------------------------------------------------

def image_of(host, name, service):
    return host.get_host(f"docker://{name}").check_output(
        "podman inspect --format '{{.ImageName}}' spiff-%s", service).rsplit(":", 1)[1]


def server_errors(host):
    """The proxy's log lines of the last 15 minutes that answered 5xx, lasted 10 s or more,
    or ended other than normally, and the API replicas' tracebacks."""
    # HAProxy's httplog: timers Tq/Tw/Tc/Tr/Tt, status, bytes, two cookies, then the
    # termination state (`----` when the session ended normally)
    found = [host.run("journalctl -u spiff-proxy --since -15min --no-pager -o short-iso "
                      "| grep -E '[-0-9]+/[-0-9]+/[-0-9]+/[-0-9]+/[+0-9]+ 5[0-9]{2} "
                      "|[-0-9]+/[-0-9]+/[-0-9]+/[-0-9]+/[+]?[0-9]{5,} | - - [A-Za-z][-A-Za-z]{3} ' "
                      "| tail -30").stdout]
    for name in API_HOSTS:
        found.append(host.get_host(f"docker://{name}").run(
            "journalctl -u spiff-api --since -15min --no-pager -o short-iso "
            "| grep -E -A 30 'Traceback|\\] ERROR|\" 5[0-9][0-9] ' | tail -80").stdout)
    return "\n".join(found)


def test_a_failed_migration_leaves_the_old_release_serving(host, tmp_path):
    """The new image's migration fails (a test-only setting of the stand-in): a backup was
    taken before it, the workers stopped for it (spiff_backend_migrate_quiesce) run again,
    and both API replicas still serve the old release."""
    failing = json.dumps({"spiff_backend_extra_env": {"STANDIN_FAIL_MIGRATION": "1"}})
    res = site(tmp_path, LAYOUT, "v3.0.1", "-e", failing, "-e", "spiff_backend_migrate_quiesce=true")
    flat = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0
    assert "failed; no API replica was (re)started: the old release still serves." in flat, spiffcheck.failure(res)
    backup = re.search(r"The database as it was before is backup (before-migrate-\d{8}T\d{6}Z) on up-edge", flat)
    assert backup, spiffcheck.failure(res)
    assert "TASK [spiff.arena.backend : Stop the workers and Background during the migration]" in res.stdout
    dump = f"/var/backups/spiff/{backup.group(1)}/database.pgdump"
    assert host.file(dump).exists and host.check_output(f"head -c 5 {dump}") == "PGDMP"
    assert "PLAY [Roll the API replicas" not in res.stdout  # the run stopped at the migration
    assert served_by(host) == {("up-app1", "v3.0.0"), ("up-app2", "v3.0.0")}
    for name in API_HOSTS:
        assert host.get_host(f"docker://{name}").service("spiff-worker.service").is_running, name
        assert image_of(host, name, "worker") == "v3.0.0", name
    assert spiffcheck.run_job(host, "up-app2", "after the failed migration", prefix="/api")["status"] == "done"


def test_a_failing_replica_stops_the_rollout_while_the_rest_serve(host, tmp_path):
    """up-app1 cannot start its new API (its address is not on the host): the run stops
    there, every other service stays on the old release and the proxy keeps serving."""
    broken = {"up-app1": {"spiff_backend_bind_address": "192.0.2.1", "spiff_health_timeout": 20}}
    res = site(tmp_path, LAYOUT, "v3.0.1", host_vars=broken)
    output = res.stdout + res.stderr
    assert res.returncode != 0
    assert "spiff-api.service on up-app1 did not start or did not become healthy" in " ".join(output.split())
    assert "PLAY [Roll the Celery workers" not in output
    assert image_of(host, "up-app2", "api") == "v3.0.0"
    for name in API_HOSTS:
        assert image_of(host, name, "worker") == "v3.0.0" and image_of(host, name, "frontend") == "v3.0.0", name
    assert spiffcheck.proxy_pool(host, "api")["up-app1"].startswith("MAINT")
    assert served_by(host) == {("up-app2", "v3.0.0")}
    assert host.get_host("docker://up-app1").file("/etc/spiff/api.out-of-pool").exists


MIN_SENT = 2000  # about 28 000 are sent during the upgrade here
# The long requests (the stand-in's test-only sleep endpoint), one at a time: the stand-in's
# gunicorn has 4 sync workers, and with two held for 6 s the one replica left in the pool
# answered the proxy's health check too late and was marked down for a moment (503s).
SLOW_SECONDS = 6
# One request in the ~30 000 may be lost, never a long one and never a 503 (a replica out of
# the pool too late, or none left): in 2 of 6 runs one connection of a VM was reset or went
# silent just as another container of that VM was replaced (cause not tracked down; suspect:
# the container network of podman 4.3 / netavark 1.4, Debian 12) (the database logged "Connection reset by peer" as the old frontend's container
# was removed, and the API's request on that pooled connection answered 500; in CI a whoami
# got no answer at all). A 503, a cut long request or a second lost one still fails the test.
LOST_AT_MOST = 1
DRAIN_LINE = re.compile(r"drain (\S+) (\S+) on (\S+): (\d+) sessions left after ([\d.]+) s")


def bridge_mac(host, name):
    """The MAC address of podman's bridge on VM `name`, and whether it was set (3) rather than
    taken from a port: the sandbox pins it as udev does on a real host."""
    vm = host.get_host(f"docker://{name}")
    return vm.check_output("cat /sys/class/net/podman0/address /sys/class/net/podman0/addr_assign_type").split()


def start_pinger(host, name):
    """A Celery pinger beside the worker of VM `name` (its own container, same image and broker)."""
    vm = host.get_host(f"docker://{name}")
    image = vm.check_output("podman inspect --format '{{.ImageName}}' spiff-worker")
    vm.run_expect([0], "rm -rf /var/tmp/ping && mkdir -p /var/tmp/ping")
    subprocess.run(["docker", "cp", str(REPO / "molecule" / "shared" / "pinger.py"), f"{name}:/var/tmp/ping/"],
                   check=True)
    vm.run_expect([0], "podman run -d --rm --name pinger --network host --env-file /etc/spiff/worker.env "
                       f"-v /var/tmp/ping:/ping {image} python3 /ping/pinger.py --stop-file /ping/stop "
                       "--out /ping/ping.json")
    return vm


def stop_pinger(vm):
    vm.run_expect([0], "touch /var/tmp/ping/stop")
    spiffcheck.wait_for(lambda: vm.file("/var/tmp/ping/ping.json").exists, 30, "pinger summary")
    found = json.loads(vm.file("/var/tmp/ping/ping.json").content_string)
    vm.run("podman rm -f pinger")
    return found


def test_rolling_upgrade_under_load_fails_no_request(host, tmp_path, capsys):
    """v3.0.0 -> v3.0.1 through the proxy under load: no request fails, none of the long
    ones is cut (each replica is drained to 0 sessions before its restart), a Celery worker
    answers at every moment (workers restart one host at a time) and every job posted
    meanwhile is done."""
    status, created = public(host, "/api/v1.0/standin/jobs", "POST", {"payload": "before the upgrade"})
    assert status == 202
    subprocess.run(["docker", "cp", str(REPO / "molecule" / "shared" / "loadgen.py"), "up-edge:/var/tmp/loadgen.py"],
                   check=True)
    host.run_expect([0], "rm -f /var/tmp/load.*")
    host.run_expect([0], f"setsid -f python3 /var/tmp/loadgen.py --base {PUBLIC} --cafile {CA} --whoami "
                         f"--slow-workers 1 --slow-seconds {SLOW_SECONDS} --min-sent {MIN_SENT} "
                         "--stop-file /var/tmp/load.stop --ready-file /var/tmp/load.ready --out /var/tmp/load.json "
                         ">/var/tmp/load.log 2>&1")
    spiffcheck.wait_for(lambda: host.file("/var/tmp/load.ready").exists, 30, "load generator running")
    pinger_vm = start_pinger(host, "up-app2")
    bridges = {name: bridge_mac(host, name) for name in API_HOSTS}
    assert all(assigned == "3" for _, assigned in bridges.values()), bridges  # NET_ADDR_SET

    try:
        res = site(tmp_path, LAYOUT, "v3.0.1")
        time.sleep(3)  # a little steady state on the new release
    finally:
        host.run_expect([0], "touch /var/tmp/load.stop")
        ping = stop_pinger(pinger_vm)
    spiffcheck.wait_for(lambda: host.file("/var/tmp/load.json").exists, 30 + SLOW_SECONDS, "load generator summary")
    load = json.loads(host.file("/var/tmp/load.json").content_string)
    drains = DRAIN_LINE.findall(" ".join(res.stdout.split()))  # a long line may be folded
    with capsys.disabled():
        print(f"\nload through the proxy during the upgrade: {json.dumps(load)}")
        print(f"requests sent: {load['sent']} (at least {MIN_SENT}), failed: {load['failed']}, "
              f"long requests ({SLOW_SECONDS} s) sent: {load['slow_sent']}, failed or cut: {load['slow_failed']}")
        print(f"Celery ping during the upgrade: {json.dumps(ping)}")
        print("drains: " + "; ".join(f"{h} {pool} on {proxy}: {left} left after {waited} s"
                                     for h, pool, proxy, left, waited in drains))
        if load["failed"] or load["slow_failed"]:
            print(f"server errors meanwhile:\n{server_errors(host)}")
    assert res.returncode == 0, spiffcheck.failure(res)
    # The containers' gateway kept its MAC address while containers were replaced beside them.
    assert {name: bridge_mac(host, name) for name in API_HOSTS} == bridges
    assert load["sent"] >= MIN_SENT, load
    lost = json.dumps({k: load[k] for k in ("by_kind", "first_failures", "threads_died")})
    assert load["failed"] <= LOST_AT_MOST and load["threads_died"] == [], lost
    assert not any("HTTP 503" in kind for kind in load["by_kind"]), lost
    assert load["slow_failed"] == 0, lost
    # the stand-in answers version-info as upstream's images built without version_info.json
    assert set(load["version_info"]) == {"(none)"}, load["version_info"]
    versions = {key.split("@")[0] for key in load["versions"]}
    assert versions == {"v3.0.0", "v3.0.1"}, load["versions"]  # the upgrade happened while it ran

    # Drain: the API replica in the pool was waited for (up-app1 was left out of it by the test
    # above, so it is started, not drained), none had a session left, no long request was cut.
    assert ("up-app2", "api") in {(h, pool) for h, pool, _, _, _ in drains}, drains
    assert all(left == "0" for _, _, _, left, _ in drains), drains
    assert load["slow_sent"] >= 10 and load["slow_failed"] == 0, load

    # Workers: one host at a time, so some worker answered a ping at every moment (a round may
    # go unanswered within its 2 s while the workers are busy; the next one is answered) ...
    assert ping["rounds"] >= 20 and ping["longest_gap_s"] < 5, ping
    restarted = re.findall(r"^PLAY \[Roll the Celery workers", res.stdout, re.M)
    assert len(restarted) == len(API_HOSTS), restarted  # one batch per worker host
    # API replicas that serve go one at a time (new ones alone may start together)
    assert len(re.findall(r"^PLAY \[Roll the API replicas", res.stdout, re.M)) == len(API_HOSTS)
    # ... and the jobs posted meanwhile (load and before) are done. Every one, as a rule; a run
    # once left 2 of 12,353 queued for good (their Celery message lost at a worker restart: a
    # kombu bug of the stand-in's Debian kombu 5.2.4, see the README's upgrades section), so at
    # most 0.5% may stay queued,
    # and how many did is printed. Workers down or jobs failing leave far more.
    assert load["jobs_posted"] > 0, load
    limit = max(1, load["jobs_posted"] // 200)
    seen = {}

    def not_done():
        seen.update(spiffcheck.http(host, spiffcheck.api_url("up-app1", "standin/jobs/summary", prefix="/api"))[1])
        return seen["total"] - seen["by_status"].get("done", 0)
    try:
        spiffcheck.wait_for(lambda: not_done() == 0, 90, "every job done")
    except AssertionError:
        left = not_done()
        assert left <= limit, f"{left} jobs not done 90 s after the upgrade (at most {limit}): {seen}"
    summary = dict(seen)
    with capsys.disabled():
        print(f"jobs posted during the upgrade: {load['jobs_posted']}; all jobs: {summary['by_status']}")
    assert summary["total"] >= load["jobs_posted"], summary

    for name in API_HOSTS:
        status, info = spiffcheck.http(host, spiffcheck.api_url(name, "standin/whoami", prefix="/api"))
        assert status == 200 and info["version"] == "v3.0.1", (name, info)
    status, job = public(host, f"/api/v1.0/standin/jobs/{created['id']}")
    assert status == 200 and job["payload"] == "before the upgrade" and job["status"] == "done"
    assert spiffcheck.live_schedulers(host, "up-app1", prefix="/api") == ["up-app1"]


def test_same_release_again_restarts_nothing(host, tmp_path):
    started = {name: host.get_host(f"docker://{name}").check_output(
        "systemctl show -p ActiveEnterTimestampMonotonic spiff-api spiff-worker spiff-frontend") for name in API_HOSTS}
    res = site(tmp_path, LAYOUT, "v3.0.1")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert spiffcheck.recap_changes(res.stdout) == 0, res.stdout[-4000:]
    for name in API_HOSTS:
        assert host.get_host(f"docker://{name}").check_output(
            "systemctl show -p ActiveEnterTimestampMonotonic spiff-api spiff-worker spiff-frontend") == started[name]


# Scale out and back ------------------------------------------------------------------

def test_scale_out_to_a_new_host_and_back(host, tmp_path):
    bigger = dict(LAYOUT, spiff_api=API_HOSTS + ["up-app3"], spiff_worker=API_HOSTS + ["up-app3"])
    res = site(tmp_path / "out", bigger, "v3.0.1")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert spiffcheck.proxy_pool(host, "api") == {"up-app1": "UP", "up-app2": "UP", "up-app3": "UP"}
    assert ("up-app3", "v3.0.1") in served_by(host, 30)
    workers = {spiffcheck.run_job(host, "up-app3", f"scale {i}", prefix="/api")["worker"] for i in range(15)}
    assert "up-app3" in workers, workers

    res = site(tmp_path / "back", LAYOUT, "v3.0.1")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert set(spiffcheck.proxy_pool(host, "api")) == {"up-app1", "up-app2"}
    assert served_by(host, 20) == {("up-app1", "v3.0.1"), ("up-app2", "v3.0.1")}

    # Retire it: out of every group (above), then removed with --limit.
    inventory = spiffcheck.sandbox_inventory(tmp_path / "retire", dict(LAYOUT, retired=["up-app3"]), REPO)
    res = spiffcheck.run_playbook(inventory, REPO / "playbooks" / "remove.yml", "--limit", "up-app3",
                                  "-e", f"spiff_secrets_dir={SECRETS}", "-e", "spiff_remove_confirm=true")
    assert res.returncode == 0, spiffcheck.failure(res)
    app3 = host.get_host("docker://up-app3")
    assert app3.check_output("podman ps --all --format '{{.Names}}'") == ""
    assert app3.run("ls /etc/systemd/system/spiff-*").rc != 0
    assert app3.file("/var/lib/spiff/process_models").is_directory
    for name in API_HOSTS:  # the rest untouched
        assert host.get_host(f"docker://{name}").service("spiff-api").is_running


def test_status_of_the_upgraded_cluster(host, tmp_path):
    inventory = spiffcheck.sandbox_inventory(tmp_path / "inventory", LAYOUT, REPO)
    res = spiffcheck.run_playbook(inventory, REPO / "playbooks" / "status.yml", "-e", f"spiff_secrets_dir={SECRETS}")
    assert res.returncode == 0, spiffcheck.failure(res)
    rows = re.findall(r"^\s+(up-\S+)\s+(\S+)\s+(\S+)\s+.*\s(\S+)$", res.stdout, re.M)
    release = {(h, c): image.rsplit(":", 1)[1] for h, c, _, image in rows if "spiff-standin" in image}
    assert release and set(release.values()) == {"v3.0.1"}, rows
    assert {(h, c) for h, c, state, _ in rows if state == "active/running"} >= {
        ("up-edge", "database"), ("up-edge", "redis"), ("up-edge", "proxy"), ("up-edge", "connector"),
        ("up-app1", "api"), ("up-app1", "worker"), ("up-app1", "background"), ("up-app1", "frontend"),
        ("up-app2", "api"), ("up-app2", "worker"), ("up-app2", "frontend")}
    assert "Background: up-app1/spiff-background\n" in res.stdout
