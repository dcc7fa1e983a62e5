"""Bad inventories stop in site.yml's first play, before any host is contacted.

Hosts here are docker containers that do not exist: reaching one would fail
at once (no network traffic), and the tests assert that no play after the
guard started at all.
"""

import copy
import pathlib
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
GROUPS = ["spiff_database", "spiff_redis", "spiff_api", "spiff_worker", "spiff_frontend", "spiff_connector"]


def inventory(**changes):
    inv = {"all": {
        "hosts": {name: {"ansible_connection": "community.docker.docker",
                         "ansible_host": f"spiff-validation-absent-{name}"} for name in ("node-a", "node-b")},
        "vars": {"spiff_backend_openid_server_url": "https://login.example.com/realms/spiff"},
        "children": {group: {"hosts": {"node-a": None}} for group in GROUPS},
    }}
    for group in ("spiff_api", "spiff_worker"):
        inv["all"]["children"][group]["hosts"]["node-b"] = None
    for key, value in changes.items():
        if key.startswith("group_"):
            inv["all"]["children"][key[len("group_"):]] = {"hosts": {h: None for h in value}}
        else:
            inv["all"]["vars"][key] = value
    return inv


def site(tmp_path, inv, *args):
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inv))
    res = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), "playbooks/site.yml",
         "-e", f"spiff_secrets_dir={tmp_path / 'secrets'}", *args],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    return res.returncode, res.stdout + res.stderr


@pytest.mark.parametrize("changes", [{}, dict(spiff_firewall=True, spiff_firewall_allowed_networks=["10.1.0.0/16", "192.0.2.7"])],
                         ids=["defaults", "firewall"])
def test_good_inventory_passes_the_guard(tmp_path, changes):
    rc, out = site(tmp_path, inventory(**changes))
    assert "Background host: node-a" in out
    assert "PLAY [Supply every host with its images" in out  # the guard let it through (the hosts do not exist)


CASES = {
    "two-background-hosts": (dict(group_spiff_background=["node-a", "node-b"]),
                             "spiff_background holds 2 hosts (node-a, node-b)"),
    "no-api-host": (dict(group_spiff_api=[]), "The inventory group spiff_api is empty"),
    "no-worker-host": (dict(group_spiff_worker=[]), "The inventory group spiff_worker is empty"),
    "no-frontend-host": (dict(group_spiff_frontend=[]), "The inventory group spiff_frontend is empty"),
    "no-connector-host": (dict(group_spiff_connector=[]), "The inventory group spiff_connector is empty"),
    "no-database": (dict(group_spiff_database=[]), "or leave it empty and set spiff_database_uri"),
    "two-databases": (dict(group_spiff_database=["node-a", "node-b"]), "spiff_database holds 2 hosts"),
    "no-broker": (dict(group_spiff_redis=[]), "or leave it empty and set spiff_broker_url"),
    "unknown-engine": (dict(spiff_container_engine="lxc"), 'spiff_container_engine is "lxc"'),
    "unknown-database-type": (dict(spiff_database_type="oracle"), 'spiff_database_type is "oracle"'),
    "unknown-broker": (dict(spiff_broker="memcached"), 'spiff_broker is "memcached"'),
    "postgres-scheme": (dict(group_spiff_database=[], spiff_database_uri="postgres://u:p@db:5432/spiff"),
                        "Upstream rejects postgres://"),
    "mysqlconnector-scheme": (dict(group_spiff_database=[], spiff_database_uri="mysql+mysqlconnector://u:p@db/spiff"),
                              "Upstream rejects postgres://"),
    "fernet-key": (dict(spiff_backend_encryption_key="x" * 44), "spiff_backend_encryption_key must be exactly 32 bytes"),
    "ampersand-in-url": (dict(spiff_backend_url="http://spiff.example.com/api?a=1&b=2"), "contains =, ' or &"),
    "https-hosts-apart": (dict(spiff_backend_url="https://api.other.example.org", spiff_frontend_url="https://spiff.example.com"),
                          "do not fit"),
    "port-twice": (dict(spiff_frontend_port=7000), "node-a would publish ports"),
    "port-twice-string-and-number": (dict(spiff_frontend_port="7000"), "node-a would publish ports"),
    "proxy-port-twice": (dict(group_spiff_proxy=["node-a"], spiff_proxy_tls_self_signed=True, spiff_proxy_https_port=5432),
                         "node-a would publish ports"),
    "proxy-without-certificate": (dict(group_spiff_proxy=["node-a"]), "node-a is in spiff_proxy but has no TLS pair"),
    "proxy-certificate-without-key": (dict(group_spiff_proxy=["node-a"], spiff_proxy_tls_certificate="-----BEGIN CERTIFICATE-----"),
                                      "node-a is in spiff_proxy but has no TLS pair"),
    "proxy-api-without-path": (dict(group_spiff_proxy=["node-a"], spiff_proxy_tls_self_signed=True,
                                    spiff_public_url="https://example.com", spiff_backend_url="https://api.example.com"),
                               "has no path, but hosts in spiff_proxy route"),
    "managed-key-in-extra-env": (dict(spiff_backend_extra_env={"SPIFFWORKFLOW_BACKEND_DATABASE_URI": "sqlite:///x"}),
                                 "SPIFFWORKFLOW_BACKEND_DATABASE_URI in spiff_backend_extra_env or _extra_secret_env is set"
                                 " by the collection: remove it and set spiff_database_uri"),
    "in-app-scheduler-flag": (dict(spiff_backend_extra_env={"SPIFFWORKFLOW_BACKEND_RUN_BACKGROUND_SCHEDULER_IN_CREATE_APP": "true"}),
                              "SPIFFWORKFLOW_BACKEND_RUN_BACKGROUND_SCHEDULER_IN_CREATE_APP in spiff_backend_extra_env"),
    "downgrade-flag": (dict(spiff_backend_extra_secret_env={"SPIFFWORKFLOW_BACKEND_DOWNGRADE_DB": "true"}),
                       "SPIFFWORKFLOW_BACKEND_DOWNGRADE_DB in spiff_backend_extra_env or _extra_secret_env is set"),
    "managed-key-in-frontend": (dict(spiff_frontend_extra_env={"PORT0": "80"}), "remove it and set spiff_frontend_port"),
    "multiline-extra-value": (dict(spiff_connector_extra_env={"CONNECTOR_PROXY_GREETING": "a\nb"}),
                              "CONNECTOR_PROXY_GREETING in spiff_connector_extra_env or _extra_secret_env spans several lines"),
    "extra-env-not-a-dict": (dict(spiff_redis_extra_env="FOO=1"), "spiff_redis_extra_env and spiff_redis_extra_secret_env must be dicts"),
    "port-out-of-range": (dict(spiff_backend_port=70000), "each must be between 1 and 65535"),
    "mixed-release": (dict(spiff_frontend_image="ghcr.io/sartography/spiffworkflow-frontend:v3.0.1"),
                      "is not release v3.0.0"),
    "secret-missing": (dict(spiff_generate_secrets=False),
                       "spiff_database_password is not set and spiff_generate_secrets is false"),
    "no-login-provider": (dict(spiff_backend_openid_server_url=""), "spiff_backend_openid_server_url is empty"),
    "firewall-ipv6-network": (dict(spiff_firewall=True, spiff_firewall_allowed_networks=["10.1.0.0/16", "fd00::/8"]),
                              'spiff_firewall_allowed_networks on node-a holds ["fd00::/8"]'),
    "builtin-openid-in-production": (dict(spiff_backend_openid_server_url="http://node-a:7000/openid"),
                                     "is the backend's built-in OpenID server and spiff_backend_environment is production"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_inventory_stops_in_the_guard(tmp_path, case):
    changes, message = CASES[case]
    rc, out = site(tmp_path, inventory(**copy.deepcopy(changes)))
    assert rc != 0
    assert message in " ".join(out.split()), out[-2500:]
    assert "PLAY [Supply every host with its images" not in out
    assert "UNREACHABLE" not in out


def test_extra_settings_pass_the_guard(tmp_path):
    rc, out = site(tmp_path, inventory(spiff_backend_extra_env={"SPIFFWORKFLOW_BACKEND_DATABASE_POOL_SIZE": "10"},
                                       spiff_backend_extra_secret_env={"SPIFFWORKFLOW_BACKEND_SENTRY_DSN": "https://k@s/2"}))
    assert "Background host: node-a" in out and "PLAY [Supply every host with its images" in out, out[-2500:]
    assert "https://k@s/2" not in out


def test_guard_holds_under_limit(tmp_path):
    rc, out = site(tmp_path, inventory(group_spiff_background=["node-a", "node-b"]), "--limit", "node-b")
    assert rc != 0 and "spiff_background holds 2 hosts" in out
    assert "PLAY [Supply every host with its images" not in out
