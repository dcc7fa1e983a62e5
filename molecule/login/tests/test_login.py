"""Login through the proxy in a real browser with two API replicas, the site's CA and permissions,
and a connector that only the backend hosts reach."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import spiffcheck  # noqa: E402

testinfra_hosts = ["lg-app1"]
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
REPO = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
BROWSER = pathlib.Path(__file__).resolve().parents[1] / "browser.py"
ARTEFACTS = REPO / ".cache" / "login"
SECRETS = EPHEMERAL / "inventory" / ".secrets"


def vm(host, name):
    return host.get_host(f"docker://{name}")


def eth0_address(machine):
    """The VM's address on the sandbox network (eth0), as sandbox.md says to take it."""
    return re.search(r"inet ([0-9.]+)/", machine.check_output("ip -4 -o addr show eth0")).group(1)


def ensure_chromium():
    """Debian's chromium and its driver on this machine, installed when missing."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                       check=True, capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       timeout=900)


def log_in(host, user, password, shot):
    ensure_chromium()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    edge = eth0_address(vm(host, "lg-edge"))
    res = subprocess.run([sys.executable, str(BROWSER), "https://lg-edge/", user, password, str(ARTEFACTS / shot),
                          "--resolve", f"lg-edge={edge}", "--calls", "50"],
                         capture_output=True, text=True, timeout=300)
    assert res.stdout.strip(), res.stderr[-2000:]
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert "error" not in result, (result, res.stderr[-2000:])
    return result


@pytest.fixture(scope="module")
def admin(host):
    password = (SECRETS / "backend_openid_admin_password").read_text().strip()
    assert password != "admin" and len(password) >= 32
    return log_in(host, "admin", password, "login-admin-home.png")


def test_admin_logs_in_and_every_call_succeeds_on_both_replicas(admin):
    assert admin["name"] == "admin", admin
    assert admin["url"] == "https://lg-edge/", admin
    assert len(admin["statuses"]) == 50 and set(admin["statuses"]) == {200}, admin["statuses"]
    assert set(admin["hosts"]) == {"lg-app1", "lg-app2"}, admin["hosts"]  # the proxy spread them
    assert admin["admin"] == 200  # admin on /*
    assert (ARTEFACTS / "login-admin-home.png").stat().st_size > 1000  # the screenshot, kept


def test_user_outside_the_admin_list_gets_403(host):
    bob = log_in(host, "bob", "bob-is-no-admin", "login-bob-home.png")
    assert bob["name"] == "bob" and set(bob["statuses"]) == {200}, bob
    assert bob["admin"] == 403, bob


def test_one_signing_key_on_every_backend_host(host):
    keys = []
    for name in ("lg-app1", "lg-app2"):
        machine = vm(host, name)
        key = machine.file("/etc/spiff/backend-openid/openid-private.pem")
        # The backend's user (spiff_backend_user) reads it and locks the directory.
        assert key.mode == 0o600 and key.uid == 65532 and key.gid == 65532
        assert machine.file("/etc/spiff/backend-openid").mode == 0o700
        assert machine.file("/etc/spiff/backend-openid").uid == 65532
        keys.append(machine.check_output("sha256sum /etc/spiff/backend-openid/openid-private.pem").split()[0])
        env = machine.file("/etc/spiff/api.env").content_string
        assert "SPIFFWORKFLOW_BACKEND_OPEN_ID_CACHE_DIR=/etc/spiff-openid" in env
        assert "SPIFFWORKFLOW_BACKEND_OPEN_ID_SERVER_INTERNAL_URL=http://localhost:7000/api/openid" in env
        assert "SPIFFWORKFLOW_BACKEND_CORS_ALLOW_ORIGINS=lg-edge\n" in env
        assert "BEGIN" not in machine.check_output("cat /etc/systemd/system/spiff-api.service")
    assert keys[0] == keys[1]
    generated = (SECRETS / "backend_openid_signing_key").read_text()
    assert host.file("/etc/spiff/backend-openid/openid-private.pem").content_string.strip() == generated.strip()


def test_permissions_file_names_only_the_site_admins(host):
    perms = host.file("/etc/spiff/backend-permissions.yml")
    # It holds the built-in users' passwords: root's, readable by the backend's group only.
    assert (perms.mode, perms.uid, perms.gid) == (0o640, 0, 65532)
    text = perms.content_string
    assert "admin@example.com" not in text and "PM:ALL" not in text  # nothing of upstream's example
    assert "SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_ABSOLUTE_PATH=/etc/spiff-permissions/permissions.yml" in \
        host.file("/etc/spiff/worker.env").content_string


def test_cors_allows_the_frontend_origin_only(host):
    def allowed(origin):
        return host.check_output(f"curl -sS -o /dev/null -D - -H 'Origin: {origin}' "
                                 "http://lg-app1:7000/api/v1.0/status")
    assert "Access-Control-Allow-Origin: https://lg-edge" in allowed("https://lg-edge")
    assert "Access-Control-Allow-Origin" not in allowed("https://elsewhere.example")


def test_backend_and_connector_trust_the_site_ca(host):
    fetch = ("python3 -c \"import requests; print(requests.get('https://lg-edge/api/v1.0/status', timeout=10)"
             ".status_code)\"")
    assert host.check_output(f"podman exec spiff-api {fetch}") == "200"
    untrusted = host.run(f"podman exec -e REQUESTS_CA_BUNDLE= -e SSL_CERT_FILE= spiff-api {fetch}")
    assert untrusted.rc != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr  # the bundle is what trusts it
    env = host.file("/etc/spiff/connector.env").content_string
    assert "REQUESTS_CA_BUNDLE=/etc/spiff-ca/ca-certificates.pem" in env
    bundle = host.check_output("podman exec spiff-connector cat /etc/spiff-ca/ca-certificates.pem")
    assert bundle.strip() == (EPHEMERAL / "pki" / "ca.crt").read_text().strip()


def reaches(machine, target, port):
    """Whether `machine` opens a TCP connection to target:port within 3 s (a dropped SYN times out)."""
    return machine.run(f"timeout 3 bash -c '</dev/tcp/{target}/{port}'").rc == 0


def test_connector_answers_only_the_backend_hosts(host):
    app2, edge = vm(host, "lg-app2"), vm(host, "lg-edge")
    status, _ = spiffcheck.http(app2, "http://lg-app1:7004/v1/commands")
    assert status == 200  # no key needed: upstream's connector checks none
    assert reaches(app2, "lg-app1", 7004) and reaches(host, "lg-app2", 7004)
    assert not reaches(edge, "lg-app1", 7004) and not reaches(edge, "lg-app2", 7004)
    assert reaches(edge, "lg-app1", 8001)  # the frontend is not the firewall's business
    assert "spiff_firewall" in host.check_output("nft list tables")


# ---------------------------------------------------------------- the site's own OpenID provider
# The same login through an external provider, as production has it: the
# backend fetches https://lg-edge:8443's discovery document, keys and tokens
# itself, trusting its certificate only through spiff_ca_certificates (the
# scenario's CA). converge.yml runs the provider (provider.py, lg-idp.service
# on lg-edge); these tests deploy again with it, in production.
IDP = yaml.safe_load((pathlib.Path(__file__).resolve().parents[1] / "vars" / "idp.yml").read_text())
SITE = REPO / "playbooks" / "site.yml"


def external_login_vars():
    """Extra variables of a production site logging in with the provider: written 0600, they hold secrets."""
    pki = EPHEMERAL / "pki"
    values = {
        "spiff_backend_environment": "production",
        "spiff_backend_openid_server_url": IDP["lg_idp_issuer"],
        "spiff_backend_openid_client_id": IDP["lg_idp_client_id"],
        "spiff_backend_openid_client_secret": IDP["lg_idp_client_secret"],
        "spiff_backend_admin_users": [IDP["lg_idp_users"]["alice"]["email"]],
        "spiff_proxy_tls_certificate": (pki / "proxy.crt").read_text(),
        "spiff_proxy_tls_key": (pki / "proxy.key").read_text(),
        "spiff_ca_certificates": (pki / "ca.crt").read_text(),
    }
    path = EPHEMERAL / "external-login.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))
    return path


def started_at(machine, container):
    return machine.check_output(f"podman inspect -f '{{{{.State.StartedAt}}}}' {container}")


def deploy():
    """site.yml with the external provider; returns its run."""
    res = spiffcheck.run_playbook(EPHEMERAL / "inventory", SITE, "-e", f"@{external_login_vars()}",
                                   timeout=900)
    assert res.returncode == 0, spiffcheck.failure(res)
    return res


@pytest.fixture(scope="module")
def external(host):
    edge = vm(host, "lg-edge")
    untouched = {("lg-app1", "spiff-frontend"): None, ("lg-app1", "spiff-connector"): None,
                 ("lg-edge", "spiff-proxy"): None, ("lg-edge", "spiff-database"): None}
    for name, container in untouched:
        untouched[name, container] = started_at(vm(host, name), container)
    since = edge.check_output("date +%s")
    start = time.monotonic()
    res = deploy()
    seconds = time.monotonic() - start
    print(f"site.yml switching to the external provider: {seconds:.0f} s")
    return {"untouched": untouched, "since": since, "seconds": seconds, "output": res.stdout}


def test_external_provider_login_on_both_replicas(host, external):
    alice = log_in(host, "alice", IDP["lg_idp_users"]["alice"]["password"], "login-external-alice-home.png")
    assert alice["name"] == "alice" and alice["url"] == "https://lg-edge/", alice
    assert len(alice["statuses"]) == 50 and set(alice["statuses"]) == {200}, alice["statuses"]
    assert set(alice["hosts"]) == {"lg-app1", "lg-app2"}, alice["hosts"]
    assert alice["admin"] == 200  # spiff_backend_admin_users names her e-mail
    assert (ARTEFACTS / "login-external-alice-home.png").stat().st_size > 1000
    carol = log_in(host, "carol", IDP["lg_idp_users"]["carol"]["password"], "login-external-carol-home.png")
    assert carol["name"] == "carol" and set(carol["statuses"]) == {200}, carol
    assert carol["admin"] == 403, carol


def test_backend_reached_the_provider_itself_over_tls(host, external):
    env = host.file("/etc/spiff/api.env").content_string
    assert f"SPIFFWORKFLOW_BACKEND_OPEN_ID_SERVER_URL={IDP['lg_idp_issuer']}\n" in env
    assert "SPIFFWORKFLOW_BACKEND_OPEN_ID_SERVER_INTERNAL_URL=\n" in env
    assert "SPIFFWORKFLOW_BACKEND_ENV=production\n" in env
    assert host.file("/etc/spiff/api.env").mode == 0o600  # it holds the client secret
    assert IDP["lg_idp_client_secret"] not in host.file("/etc/systemd/system/spiff-api.service").content_string
    journal = vm(host, "lg-edge").check_output(f"journalctl -u lg-idp --since @{external['since']} -o cat --no-pager")
    for name in ("lg-app1", "lg-app2"):  # each replica fetched the discovery document and traded a code
        address = eth0_address(vm(host, name))
        assert f"{address} \"GET /.well-known/openid-configuration" in journal, journal[-3000:]
    assert "login of alice for client spiffworkflow-backend" in journal
    perms = host.file("/etc/spiff/backend-permissions.yml").content_string
    assert "alice@lg.test" in perms and "password" not in perms  # no built-in users in production


def test_only_backend_services_restarted(host, external):
    for (name, container), before in external["untouched"].items():
        assert started_at(vm(host, name), container) == before, (name, container)


def test_provider_trusted_only_through_the_site_ca(host, external):
    """Without the bundle the collection mounts, the image's own trust store refuses the provider:
    the same check as a deploy without spiff_ca_certificates, without a third site.yml run."""
    fetch = ("python3 -c \"import requests; print(requests.get('" + IDP["lg_idp_issuer"]
             + "/.well-known/openid-configuration', timeout=10).json()['issuer'])\"")
    for name in ("lg-app1", "lg-app2"):
        machine = vm(host, name)
        assert machine.check_output(f"podman exec spiff-api {fetch}") == IDP["lg_idp_issuer"]
        untrusted = machine.run(f"podman exec -e REQUESTS_CA_BUNDLE= -e SSL_CERT_FILE= spiff-api {fetch}")
        assert untrusted.rc != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, (name, untrusted.stderr[-2000:])
