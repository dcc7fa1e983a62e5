"""Tests of the Spiff Arena stand-in images (tests/images/standin-*).

Only the docker CLI and urllib are used. Containers and networks are named
standin-dev-<random>, publish no host port, and are removed even on failure;
the host reaches them by their IP on the test network.

Build the images first: python3 tests/images/build.py --only \
standin-backend,standin-frontend,standin-connector,postgres,redis
"""

import hashlib
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

BACKEND = "localhost/spiff-standin/spiffworkflow-backend:{}"
FRONTEND = "localhost/spiff-standin/spiffworkflow-frontend:v3.0.0"
CONNECTOR = "localhost/spiff-standin/connector-proxy-demo:v3.0.0"
POSTGRES = "localhost/spiff-sandbox/postgres:15"
REDIS = "localhost/spiff-sandbox/redis:7"

ENTRYPOINTS = ["./bin/boot_server_in_docker", "./bin/start_blocking_apscheduler",
               "./bin/start_celery_worker"]
VALID = {
    "FLASK_SESSION_SECRET_KEY": "test-secret",
    "SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR": "/app/process_models",
    "SPIFFWORKFLOW_BACKEND_DATABASE_URI": "sqlite:////tmp/standin.sqlite3",
    "SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
    "SPIFFWORKFLOW_BACKEND_ENCRYPTION_LIB": "cryptography",
    "SPIFFWORKFLOW_BACKEND_ENCRYPTION_KEY": "k" * 32,
    "SPIFF_STANDIN_BOOT_DELAY": "0",
}
# (case id, overrides (None = unset), entrypoints, text the error must contain)
BAD_SETTINGS = [
    ("secret-unset", {"FLASK_SESSION_SECRET_KEY": None}, ENTRYPOINTS,
     "FLASK_SESSION_SECRET_KEY"),
    ("bpmn-dir-empty", {"SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR": ""}, ENTRYPOINTS,
     "SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR"),
    ("downgrade", {"SPIFFWORKFLOW_BACKEND_DOWNGRADE_DB": "true"}, ENTRYPOINTS,
     "SPIFFWORKFLOW_BACKEND_DOWNGRADE_DB"),
    ("uri-postgres", {"SPIFFWORKFLOW_BACKEND_DATABASE_URI": "postgres://u:p@db:5432/spiff"},
     ENTRYPOINTS, "SPIFFWORKFLOW_BACKEND_DATABASE_URI"),
    ("uri-mysqlconnector",
     {"SPIFFWORKFLOW_BACKEND_DATABASE_URI": "mysql+mysqlconnector://u:p@db:3306/spiff"},
     ENTRYPOINTS, "SPIFFWORKFLOW_BACKEND_DATABASE_URI"),
    ("key-31-bytes", {"SPIFFWORKFLOW_BACKEND_ENCRYPTION_KEY": "k" * 31}, ENTRYPOINTS,
     "SPIFFWORKFLOW_BACKEND_ENCRYPTION_KEY"),
    ("broker-missing-celery-on", {"SPIFFWORKFLOW_BACKEND_CELERY_ENABLED": "true",
                                  "SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL": None},
     ENTRYPOINTS[:2], "SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL"),
    # the worker forces celery on, so the broker is required even when disabled
    ("broker-missing-worker", {"SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL": None},
     ENTRYPOINTS[2:], "SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL"),
]


def docker(*args, timeout=60, check=True):
    res = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {res.stderr.strip()}")
    return res


def have_image(name):
    return docker("image", "inspect", name, check=False).returncode == 0


def env_args(env):
    args = []
    for key, value in env.items():
        if value is not None:
            args += ["-e", f"{key}={value}"]
    return args


def run_refused(image, env, command=(), timeout=30):
    """docker run --rm a container that must refuse to start; return (rc, output)."""
    if not have_image(image):
        pytest.skip(f"image {image} is not built")
    name = f"standin-dev-{uuid.uuid4().hex[:10]}"
    try:
        res = docker("run", "--rm", "--name", name, *env_args(env), image, *command,
                     timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{image} {' '.join(command)} did not refuse to start within {timeout}s")
    finally:
        docker("rm", "-f", name, check=False)
    return res.returncode, res.stdout + res.stderr


REFUSALS = [pytest.param(overrides, setting, entrypoint, id=f"{case}-{entrypoint[6:]}")
            for case, overrides, applies, setting in BAD_SETTINGS for entrypoint in applies]


@pytest.mark.parametrize("overrides,setting,entrypoint", REFUSALS)
def test_backend_refuses_bad_setting(overrides, setting, entrypoint):
    rc, output = run_refused(BACKEND.format("v3.0.0"), {**VALID, **overrides}, [entrypoint])
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert rc != 0, output
    # exactly the broken setting is reported: the rest of VALID is accepted
    assert len(errors) == 1 and setting in errors[0], output


def test_connector_refuses_empty_api_key():
    rc, output = run_refused(CONNECTOR, {"CONNECTOR_PROXY_API_KEY": ""})
    assert rc != 0 and "ERROR: CONNECTOR_PROXY_API_KEY" in output, output


def test_frontend_refuses_ampersand():
    name = "SPIFFWORKFLOW_FRONTEND_RUNTIME_CONFIG_BACKEND_BASE_URL"
    rc, output = run_refused(FRONTEND, {name: "https://api.example/v1.0#a&b"})
    assert rc != 0 and f"ERROR: {name}" in output, output


# ---------------------------------------------------------------- end to end

class Network:
    """A docker network plus the containers started on it, all removed at the end."""

    def __init__(self):
        self.name = f"standin-dev-{uuid.uuid4().hex[:10]}"
        self.containers = []
        docker("network", "create", self.name)

    def run(self, role, image, env=None, command=(), hostname=None):
        name = f"{self.name}-{role}"
        self.containers.append(name)
        docker("run", "-d", "--name", name, "--network", self.name,
               "--network-alias", role, "--hostname", hostname or role,
               *env_args(env or {}), image, *command)
        return name

    def ip(self, container):
        fmt = '{{ (index .NetworkSettings.Networks "%s").IPAddress }}' % self.name
        return docker("inspect", "-f", fmt, container).stdout.strip()

    def cleanup(self):
        for name in self.containers:
            docker("rm", "-fv", name, check=False)
        docker("network", "rm", self.name, check=False)


@pytest.fixture
def net():
    missing = [i for i in (POSTGRES, REDIS, BACKEND.format("v3.0.0"), BACKEND.format("v3.0.1"))
               if not have_image(i)]
    if missing:
        pytest.skip("images not built (run tests/images/build.py): " + ", ".join(missing))
    network = Network()
    try:
        yield network
    finally:
        network.cleanup()


def http(url, data=None, timeout=5):
    """Return (status, parsed JSON or text); never raises on HTTP error codes."""
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            status, raw = res.status, res.read().decode()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read().decode()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def wait_for(what, check, timeout, interval=1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError as exc:  # not listening yet
            last = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def backend_env(**extra):
    env = {
        "FLASK_SESSION_SECRET_KEY": "e2e-secret",
        "SPIFFWORKFLOW_BACKEND_ENV": "production",
        "SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR": "/app/process_models",
        "SPIFFWORKFLOW_BACKEND_DATABASE_TYPE": "postgres",
        "SPIFFWORKFLOW_BACKEND_DATABASE_URI": "postgresql://spiff:pgpass@db:5432/spiff",
        "SPIFFWORKFLOW_BACKEND_CELERY_ENABLED": "true",
        "SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL": "redis://:redispass@redis:6379/0",
        "SPIFFWORKFLOW_BACKEND_SERVER_WORKER_COUNT": "2",
        "SPIFFWORKFLOW_BACKEND_CELERY_WORKER_CONCURRENCY": "1",
        "SPIFF_STANDIN_BOOT_DELAY": "1",
        "SPIFF_STANDIN_BACKGROUND_DELAY": "0",
        "SPIFF_STANDIN_HEARTBEAT_SECONDS": "1",
    }
    env.update(extra)
    return env


def logs(container):
    res = docker("logs", container, check=False)
    return res.stdout + res.stderr


def test_end_to_end_postgres_redis(net):
    v300, v301 = BACKEND.format("v3.0.0"), BACKEND.format("v3.0.1")
    net.run("db", POSTGRES, {"POSTGRES_USER": "spiff", "POSTGRES_PASSWORD": "pgpass",
                             "POSTGRES_DB": "spiff"})
    net.run("redis", REDIS, command=["redis-server", "--requirepass", "redispass"])
    api = net.run("api", v300, backend_env(SPIFFWORKFLOW_BACKEND_UPGRADE_DB="true",
                                           SPIFFWORKFLOW_BACKEND_WAIT_FOR_DB_TO_BE_READY="true"))
    worker = net.run("worker", v300, backend_env(), ["./bin/start_celery_worker"])
    net.run("background", v300, backend_env(), ["./bin/start_blocking_apscheduler"])
    base = f"http://{net.ip(api)}:7000"

    wait_for("API /v1.0/status 200", lambda: http(base + "/v1.0/status")[0] == 200, 90)
    assert http(base + "/v1.0/status")[1] == {"ok": True, "can_access_frontend": True}
    # as upstream's images built without version_info.json; whoami is the stand-in's own
    assert http(base + "/v1.0/version-info") == (200, {})
    assert http(base + "/v1.0/standin/whoami")[1]["version"] == "v3.0.0"
    assert http(base + "/v1.0/standin/sleep?seconds=0.2")[1]["slept"] == 0.2

    status, created = http(base + "/v1.0/standin/jobs", {"payload": "hello spiff"})
    assert status == 202, created
    job = wait_for("job done by the worker", lambda: (
        lambda j: j if j.get("status") == "done" else None)(
        http(f"{base}/v1.0/standin/jobs/{created['id']}")[1]), 30)
    assert job["worker"] == "worker" and job["result"]["hostname"] == "worker", job
    assert job["result"]["reversed"] == "ffips olleh"
    summary = http(base + "/v1.0/standin/jobs/summary")[1]
    assert summary["by_status"] == {"done": 1} and summary["oldest_not_done"] is None, summary

    ping = docker("exec", worker, "sh", "-c", "cd /app && /app/.venv/bin/celery -A "
                  "src.spiffworkflow_backend.background_processing.celery_worker inspect ping",
                  check=False)
    assert "pong" in ping.stdout, ping.stdout + ping.stderr

    live = wait_for("one live heartbeat", lambda: http(
        base + "/v1.0/standin/heartbeats?within=5")[1]["live"], 30)
    assert [h["hostname"] for h in live] == ["background"], live
    runs = http(base + "/v1.0/standin/migrations")[1]
    assert [(r["from_rev"], r["to_rev"]) for r in runs] == [(None, "standin_0001")], runs

    # A v3.0.1 worker waits for the v3.0.1 schema, which only a v3.0.1 API migrates.
    new_worker = net.run("worker-new", v301, backend_env(), ["./bin/start_celery_worker"])
    wait_for("v3.0.1 worker waiting for standin_0002",
             lambda: "waiting for schema standin_0002" in logs(new_worker), 20)
    time.sleep(3)
    assert "celery@" not in logs(new_worker), logs(new_worker)
    docker("stop", worker)  # only the new worker consumes from now on
    new_api = net.run("api-new", v301, backend_env(SPIFFWORKFLOW_BACKEND_UPGRADE_DB="true"))
    new_base = f"http://{net.ip(new_api)}:7000"
    wait_for("v3.0.1 API /v1.0/status 200",
             lambda: http(new_base + "/v1.0/status")[0] == 200, 90)
    status, created = http(new_base + "/v1.0/standin/jobs", {"payload": "after upgrade"})
    job = wait_for("job done by the v3.0.1 worker", lambda: (
        lambda j: j if j.get("status") == "done" else None)(
        http(f"{new_base}/v1.0/standin/jobs/{created['id']}")[1]), 40)
    assert job["worker"] == "worker-new" and job["version"] == "v3.0.1", job
    assert "note" in job  # column added by standin_0002
    runs = http(new_base + "/v1.0/standin/migrations")[1]
    assert [(r["from_rev"], r["to_rev"], r["version"]) for r in runs] == [
        (None, "standin_0001", "v3.0.0"), ("standin_0001", "standin_0002", "v3.0.1")], runs


# ---------------------------------------------------- process models, permissions

DENY_WRITES = """
groups:
  admin: {users: [admin@example.com]}
permissions:
  admin: {groups: [admin], actions: [all], uri: /*}
  read-only-groups: {groups: [everybody], actions: ["DENY:create", "DENY:update", "DENY:delete"], uri: /process-groups/*}
  read-only-models: {groups: [everybody], actions: ["DENY:create", "DENY:update", "DENY:delete"], uri: /process-models/*}
"""


def call(url, method="GET", data=b"", user=None):
    req = urllib.request.Request(url, data=data if method in ("POST", "PUT") else None, method=method,
                                 headers={"Content-Type": "application/json", **({"X-Standin-User": user} if user else {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def api_on(net, role, env, volumes=()):
    args = [a for v in volumes for a in ("-v", v)]
    name = f"{net.name}-{role}"
    net.containers.append(name)
    docker("run", "-d", "--name", name, "--network", net.name, *args, *env_args(env), BACKEND.format("v3.0.0"))
    base = f"http://{net.ip(name)}:7000/v1.0"
    wait_for(f"{role} healthy", lambda: http(base + "/status")[0] == 200, 60)
    return base


def test_permissions_file_denies_model_writes_and_the_bundled_one_allows_them(net, tmp_path):
    env = {**VALID, "SPIFFWORKFLOW_BACKEND_UPGRADE_DB": "true", "SPIFFWORKFLOW_BACKEND_CELERY_ENABLED": "false"}
    (tmp_path / "permissions.yml").write_text(DENY_WRITES)
    tmp_path.chmod(0o755)
    denied = api_on(net, "denied", {**env, "SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_ABSOLUTE_PATH": "/etc/p/permissions.yml"},
                    [f"{tmp_path}:/etc/p:ro"])
    status, body = call(denied + "/process-groups", "POST", b'{"id": "g"}')
    assert status == 403 and "denied the requested action: create - /process-groups" in body, body
    assert call(denied + "/process-models/g:m/files/m.bpmn", "PUT", b"<x/>")[0] == 403
    assert call(denied + "/process-models/g:m")[0] == 404  # reading is allowed, there is no such model

    allowed = api_on(net, "allowed", {**env, "SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_NAME": "example.yml"})
    assert call(allowed + "/process-groups", "POST", b'{"id": "g"}')[0] == 201
    assert call(allowed + "/process-models/g", "POST", b'{"id": "m"}')[0] == 201
    assert call(allowed + "/process-models/g:m/files/m.bpmn", "PUT", b"<definitions/>")[0] == 200
    assert call(allowed + "/process-models/g:m/files/m.bpmn") == (200, "<definitions/>")
    status, body = call(allowed + "/process-models/g:m/files/m.bpmn", "PUT", b"<x/>", user="someone@example.com")
    assert status == 403 and "not authorized" in body, body  # not in the admin group: read and start only
    status, body = call(allowed + "/process-instances/g:m", "POST", b"{}", user="someone@example.com")
    assert status == 201, body
    status, job = http(allowed + f"/standin/jobs/{json.loads(body)['id']}")
    assert job["status"] == "done" and job["result"]["model_sha256"] == hashlib.sha256(b"<definitions/>").hexdigest(), job


def test_api_refuses_to_boot_on_a_read_only_directory_that_is_no_git_work_tree(tmp_path):
    if not have_image(BACKEND.format("v3.0.0")):
        pytest.skip("image not built")
    (tmp_path / "models").mkdir()
    name = f"standin-dev-{uuid.uuid4().hex[:10]}"
    try:
        res = docker("run", "--rm", "--name", name, "-v", f"{tmp_path / 'models'}:/app/process_models:ro",
                     *env_args(VALID), BACKEND.format("v3.0.0"), timeout=30, check=False)
    finally:
        docker("rm", "-f", name, check=False)
    assert res.returncode != 0 and "Read-only file system" in res.stdout + res.stderr, res.stdout + res.stderr


# As upstream's image (uv makes its cache under $HOME first): as another user or
# on a read-only root, each entrypoint stops unless HOME is writable.
HARDENED = ["--read-only", "--tmpfs", "/tmp:rw,mode=1777", "--user", "65532:65532"]
NO_HOME = [pytest.param(flags, entrypoint, reason, id=f"{case}-{entrypoint[6:]}") for entrypoint in ENTRYPOINTS
           for case, flags, reason in (("read-only", HARDENED[:3], "Read-only file system"),
                                       ("user", HARDENED[3:], "Permission denied"),
                                       ("read-only-user", HARDENED, ""))]


@pytest.mark.parametrize("flags,entrypoint,reason", NO_HOME)
def test_backend_stops_without_a_writable_home(flags, entrypoint, reason):
    image = BACKEND.format("v3.0.0")
    if not have_image(image):
        pytest.skip("image not built")
    name = f"standin-dev-{uuid.uuid4().hex[:10]}"
    try:
        res = docker("run", "--rm", "--name", name, *flags, *env_args(VALID), image, entrypoint,
                     timeout=30, check=False)
    finally:
        docker("rm", "-f", name, check=False)
    output = res.stdout + res.stderr
    assert res.returncode != 0 and "error: failed to create directory `" in output, output
    assert reason in output, output


def test_api_runs_read_only_as_another_user_with_home_in_tmp():
    image = BACKEND.format("v3.0.0")
    if not have_image(image):
        pytest.skip("image not built")
    name = f"standin-dev-{uuid.uuid4().hex[:10]}"
    env = {**VALID, "HOME": "/tmp", "SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR": "/tmp/process_models"}
    try:
        docker("run", "-d", "--name", name, *HARDENED, *env_args(env), image)
        fmt = "{{ .NetworkSettings.IPAddress }}"
        url = f"http://{docker('inspect', '-f', fmt, name).stdout.strip()}:7000"
        wait_for("the API to listen", lambda: http(f"{url}/openid")[0] == 200, 60)
        assert docker("exec", name, "id", "-u").stdout.strip() == "65532"
    finally:
        docker("rm", "-f", name, check=False)


# ---------------------------------------------------------------- login, CORS, connector key

def api_replica(network, role, **extra):
    """A backend API on SQLite (its built-in OpenID provider needs no database)."""
    name = network.run(role, BACKEND.format("v3.0.0"), {**VALID, **extra})
    url = f"http://{network.ip(name)}:7000"
    wait_for(f"{role} to listen", lambda: http(f"{url}/openid")[0] == 200, 60)
    return url


def test_signing_key_per_replica_unless_the_directory_is_shared(net):
    """As upstream: each container makes its own key pair, unless the key directory is one for all."""
    own = [http(f"{api_replica(net, r)}/openid/jwks")[1]["keys"][0]["x5c"] for r in ("own1", "own2")]
    assert own[0] != own[1]
    shared_dir = f"{net.name}-keys"
    docker("volume", "create", shared_dir)
    try:
        shared = []
        for role in ("shared1", "shared2"):
            name = f"{net.name}-{role}"
            net.containers.append(name)
            docker("run", "-d", "--name", name, "--network", net.name, "-v", f"{shared_dir}:/keys",
                   *env_args({**VALID, "SPIFFWORKFLOW_BACKEND_OPEN_ID_CACHE_DIR": "/keys"}), BACKEND.format("v3.0.0"))
            url = f"http://{net.ip(name)}:7000"
            wait_for(f"{role} to listen", lambda url=url: http(f"{url}/openid")[0] == 200, 60)
            shared.append(http(f"{url}/openid/jwks")[1]["keys"][0]["x5c"])
        assert shared[0] == shared[1]
    finally:
        net.cleanup()
        docker("volume", "rm", "-f", shared_dir, check=False)


def test_cors_pattern_as_upstream_builds_it(net):
    url = api_replica(net, "cors", SPIFFWORKFLOW_BACKEND_CORS_ALLOW_ORIGINS="spiff.example.com:8001")

    def allowed(origin):
        req = urllib.request.Request(f"{url}/v1.0/version-info", headers={"Origin": origin})
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.headers.get("Access-Control-Allow-Origin")
    assert allowed("http://spiff.example.com:8001") == "http://spiff.example.com:8001"
    assert allowed("http://other.example.com") is None
    full_url = api_replica(net, "cors-url", SPIFFWORKFLOW_BACKEND_CORS_ALLOW_ORIGINS="http://spiff.example.com:8001")
    req = urllib.request.Request(f"{full_url}/v1.0/version-info", headers={"Origin": "http://spiff.example.com:8001"})
    with urllib.request.urlopen(req, timeout=5) as res:
        assert res.headers.get("Access-Control-Allow-Origin") is None  # a URL with its scheme matches nothing


def test_metrics_need_a_token_only_when_asked(net):
    """As upstream: /metrics answers anyone unless SPIFFWORKFLOW_BACKEND_USE_AUTH_FOR_METRICS is true."""
    assert http(f"{api_replica(net, 'metrics-open')}/metrics")[0] == 200
    url = api_replica(net, "metrics-auth", SPIFFWORKFLOW_BACKEND_USE_AUTH_FOR_METRICS="true")
    assert http(f"{url}/metrics")[0] == 401


def test_login_fails_when_the_provider_cannot_be_fetched(net):
    """The backend fetches its provider's discovery document itself (TLS verified by requests): 500, as upstream."""
    url = api_replica(net, "tls", SPIFFWORKFLOW_BACKEND_OPEN_ID_SERVER_URL="https://self-signed.invalid/openid")
    assert http(f"{url}/v1.0/login?redirect_url=http://x/")[0] == 500


def test_connector_does_not_check_the_api_key():
    if not have_image(CONNECTOR):
        pytest.skip(f"image {CONNECTOR} is not built")
    network = Network()
    try:
        name = network.run("connector", CONNECTOR, {"CONNECTOR_PROXY_API_KEY": "some-key"})
        url = f"http://{network.ip(name)}:7004"
        wait_for("the connector", lambda: http(f"{url}/liveness")[0] == 200, 30)
        assert http(f"{url}/v1/commands")[0] == 200  # no key header, answered all the same
    finally:
        network.cleanup()
