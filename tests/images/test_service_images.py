"""Behaviour tests for the Debian-built service images (tests/images/*).

Each server runs on a docker network of its own, with its data directory
bind-mounted from a temporary directory; clients run in a second container
of the same image on that network, so nothing is published on the host.
Passwords reach docker only through the environment (``-e NAME`` without a
value), never through argv.

Build the images first (``python3 tests/images/build.py --only
postgres,mariadb,redis,valkey``); tests of a missing image are skipped.
Only the docker CLI and the standard library are used.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid

import pytest

PREFIX = "svcimg-dev-"
READY_TIMEOUT = 90


def docker(*args, env=None, timeout=120, check=False):
    """Run the docker CLI; return (returncode, stdout + stderr)."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    out = proc.stdout + proc.stderr
    if check and proc.returncode:
        raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}:\n{out}")
    return proc.returncode, out


def env_flags(env):
    """``-e NAME`` for each variable: docker reads the values from its environment."""
    return [flag for name in (env or {}) for flag in ("-e", name)]


def new_password():
    # Quote, backslash, dollar and space exercise the entrypoints' quoting;
    # the hex part is what the process-listing check looks for.
    return f"Pw-{secrets.token_hex(8)} q'\"\\$x"


class Lab:
    """One test's network and containers, all removed by close()."""

    def __init__(self, image):
        self.image = image
        self.tag = uuid.uuid4().hex[:8]
        self.network = f"{PREFIX}{self.tag}"
        self.containers = []
        docker("network", "create", self.network, check=True)

    def start(self, name, *args, env=None, volumes=()):
        name = f"{PREFIX}{self.tag}-{name}"
        self.containers.append(name)
        cmd = ["run", "-d", "--name", name, "--network", self.network, *env_flags(env)]
        for volume in volumes:
            cmd += ["-v", volume]
        docker(*cmd, self.image, *args, env=env, check=True)
        return name

    def client(self, *args, env=None, timeout=60):
        """Run a one-off command in a fresh container on the network."""
        return docker("run", "--rm", "--network", self.network, *env_flags(env),
                      self.image, *args, env=env, timeout=timeout)

    def exec(self, container, *args, env=None):
        return docker("exec", *env_flags(env), container, *args, env=env, timeout=60)

    def wait_ready(self, container, probe):
        """Poll probe() until true; fail early if the container died."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if probe():
                return
            _, state = docker("inspect", "-f", "{{.State.Running}}", container)
            if state.strip() != "true":
                break
            time.sleep(0.5)
        _, logs = docker("logs", "--tail", "40", container)
        pytest.fail(f"{container} not ready:\n{logs}")

    def close(self):
        for name in self.containers:
            docker("rm", "-f", "-v", name)
        docker("network", "rm", self.network)


class Postgres:
    image = "localhost/spiff-sandbox/postgres:15"
    datadir = "/var/lib/postgresql/data"
    password_var = "POSTGRES_PASSWORD"
    init_marker = "PostgreSQL init process complete"

    def __init__(self, password):
        self.password = password

    def first_env(self):
        return {"POSTGRES_PASSWORD": self.password, "POSTGRES_USER": "spiff",
                "POSTGRES_DB": "spiffdb"}

    def server_args(self, confdir):
        return [], []

    def ready(self, lab, c):
        # TCP only answers once the final server runs (init uses the socket).
        return lab.exec(c, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "spiff")[0] == 0

    def sql(self, lab, c, query, password):
        return lab.client("psql", "-h", c, "-U", "spiff", "-d", "spiffdb", "-w", "-tA",
                          "-v", "ON_ERROR_STOP=1", "-c", query,
                          env={"PGPASSWORD": password})

    def write(self, lab, c):
        rc, out = self.sql(lab, c, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')",
                           self.password)
        assert rc == 0, out

    def read(self, lab, c):
        rc, out = self.sql(lab, c, "SELECT v FROM t", self.password)
        assert rc == 0, out
        return out.strip()

    def assert_refused(self, lab, c):
        rc, out = self.sql(lab, c, "SELECT 1", "wrong-password")
        assert rc != 0 and 'password authentication failed for user "spiff"' in out, out
        rc, out = lab.client("psql", "-h", c, "-U", "spiff", "-d", "spiffdb", "-w", "-c", "SELECT 1")
        assert rc != 0 and "no password supplied" in out, out


class MariaDB:
    image = "localhost/spiff-sandbox/mariadb:10.11"
    datadir = "/var/lib/mysql"
    password_var = "MARIADB_ROOT_PASSWORD"
    init_marker = "Initializing database files"

    def __init__(self, password):
        self.password = password
        self.root_password = "root-" + password

    def first_env(self):
        return {"MARIADB_ROOT_PASSWORD": self.root_password, "MARIADB_USER": "spiff",
                "MARIADB_PASSWORD": self.password, "MARIADB_DATABASE": "spiffdb"}

    def server_args(self, confdir):
        return [], []

    def ready(self, lab, c):
        # The healthcheck form, with a password; TCP is off during init.
        rc, out = lab.exec(c, "mysqladmin", "-uroot", "-h127.0.0.1", "--protocol=tcp", "ping",
                           env={"MYSQL_PWD": self.root_password})
        return rc == 0 and "mysqld is alive" in out

    def sql(self, lab, c, query, user="spiff", password=None):
        env = {"MYSQL_PWD": password} if password is not None else {}
        return lab.client("mysql", "-h", c, "-u", user, "-N", "-B", "spiffdb", "-e", query, env=env)

    def write(self, lab, c):
        rc, out = self.sql(lab, c, "CREATE TABLE t (v VARCHAR(10)); INSERT INTO t VALUES ('kept')",
                           password=self.password)
        assert rc == 0, out
        rc, out = self.sql(lab, c, "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA"
                           " WHERE SCHEMA_NAME = 'spiffdb'", password=self.password)
        assert (rc, out.strip()) == (0, "utf8mb4_bin"), out

    def read(self, lab, c):
        rc, out = self.sql(lab, c, "SHOW DATABASES", "root", self.root_password)
        assert rc == 0 and "test" not in out.split(), out
        rc, out = self.sql(lab, c, "SELECT v FROM t", password=self.password)
        assert rc == 0, out
        return out.strip()

    def assert_refused(self, lab, c):
        for user in ("spiff", "root", "anybody"):
            rc, out = self.sql(lab, c, "SELECT 1", user)
            assert rc != 0 and f"Access denied for user '{user}'" in out, out
        rc, out = self.sql(lab, c, "SELECT 1", "spiff", "wrong-password")
        assert rc != 0 and "Access denied for user 'spiff'" in out, out


class Redis:
    image = "localhost/spiff-sandbox/redis:7"
    server = "redis-server"
    cli = "redis-cli"
    confdir = "/usr/local/etc/redis"
    conffile = "redis.conf"
    datadir = "/data"
    password_var = None
    init_marker = None

    def __init__(self, password):
        # It goes into a config file: keep to characters that need no quoting.
        self.password = password.split()[0]

    def first_env(self):
        return {}

    def server_args(self, confdir):
        confdir.mkdir(mode=0o755)
        conf = confdir / self.conffile
        conf.write_text(f"requirepass {self.password}\nbind 0.0.0.0\n"
                        "appendonly yes\ndir /data\n")
        conf.chmod(0o644)
        return ([self.server, f"{self.confdir}/{self.conffile}"],
                [f"{confdir}:{self.confdir}:ro"])

    def cli_run(self, lab, c, *args, password=None):
        env = {"REDISCLI_AUTH": password} if password is not None else {}
        return lab.client(self.cli, "-h", c, *args, env=env)

    def ready(self, lab, c):
        rc, out = lab.exec(c, self.cli, "ping", env={"REDISCLI_AUTH": self.password})
        return rc == 0 and out.strip() == "PONG"

    def write(self, lab, c):
        rc, out = self.cli_run(lab, c, "SET", "k", "kept", password=self.password)
        assert (rc, out.strip()) == (0, "OK"), out

    def read(self, lab, c):
        rc, out = self.cli_run(lab, c, "GET", "k", password=self.password)
        assert rc == 0, out
        return out.strip()

    def assert_refused(self, lab, c):
        _, out = self.cli_run(lab, c, "GET", "k")
        assert "NOAUTH" in out and "kept" not in out, out
        _, out = self.cli_run(lab, c, "GET", "k", password="wrong-password")
        assert "WRONGPASS" in out and "kept" not in out, out


class Valkey(Redis):
    image = "localhost/spiff-sandbox/valkey:8"
    server = "valkey-server"
    cli = "valkey-cli"
    confdir = "/usr/local/etc/valkey"
    conffile = "valkey.conf"


SERVICES = {"postgres": Postgres, "mariadb": MariaDB, "redis": Redis, "valkey": Valkey}


@pytest.fixture(params=list(SERVICES))
def service(request):
    svc = SERVICES[request.param](new_password())
    if docker("image", "inspect", svc.image)[0] != 0:
        pytest.skip(f"{svc.image} not built")
    return svc


@pytest.fixture
def lab(service, request):
    lab = Lab(service.image)
    request.addfinalizer(lab.close)
    return lab


def test_lifecycle(service, lab, tmp_path):
    """Auth works, bad auth from another container fails, no secret in ps,
    data survives a new container on the same directory without re-init."""
    data = tmp_path / "data"
    data.mkdir()
    args, volumes = service.server_args(tmp_path / "conf")
    volumes = [f"{data}:{service.datadir}", *volumes]

    first = lab.start("first", *args, env=service.first_env(), volumes=volumes)
    lab.wait_ready(first, lambda: service.ready(lab, first))
    service.write(lab, first)
    assert service.read(lab, first) == "kept"
    service.assert_refused(lab, first)

    rc, ps = docker("top", first, "-eo", "pid,args")
    assert rc == 0 and "PID" in ps, ps
    secret = service.password.split()[0]
    assert secret not in ps
    if service.password_var:
        # The entrypoint drops the secrets before exec'ing the server (read
        # as the server's uid 999: root in the container lacks CAP_SYS_PTRACE).
        rc, environ = docker("exec", "-u", "999", first, "cat", "/proc/1/environ")
        assert rc == 0 and service.password_var not in environ, environ

    docker("rm", "-f", first, check=True)
    second = lab.start("second", *args, volumes=volumes)  # no password given
    lab.wait_ready(second, lambda: service.ready(lab, second))
    assert service.read(lab, second) == "kept"
    if service.init_marker:
        _, logs = docker("logs", second)
        assert service.init_marker not in logs, logs


@pytest.mark.parametrize("service", ["postgres", "mariadb"], indirect=True)
def test_first_init_needs_password(service, lab):
    rc, out = docker("run", "--rm", "--network", lab.network, service.image, timeout=60)
    assert rc != 0, out
    assert "ERROR" in out and service.password_var in out, out


@pytest.mark.parametrize("service", ["redis", "valkey"], indirect=True)
def test_without_config_refuses_remote_clients(service, lab):
    """redis/valkey on built-in defaults: protected mode denies remote clients."""
    server = lab.start("noconf")
    lab.wait_ready(server, lambda: lab.exec(server, service.cli, "ping")[1].strip() == "PONG")
    _, out = lab.client(service.cli, "-h", server, "ping")
    assert "DENIED" in out and "protected mode" in out, out
