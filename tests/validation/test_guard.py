"""Bad inventories stop in site.yml's first play, before any host is contacted.

Hosts here are docker containers that do not exist: reaching one would fail
at once (no network traffic), and the tests assert that no play after the
guard started at all. Each case runs playbooks/site.yml itself (about 1.5 s:
the guard is one controller-side task), so what is tested is what operators run.
"""

import copy
import pathlib
import re
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
GROUPS = ["spiff_database", "spiff_redis", "spiff_api", "spiff_worker", "spiff_frontend", "spiff_connector"]
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIBfake\n-----END PRIVATE KEY-----\n"
# A real (self-signed, throw-away) certificate: base64 DER, as spiff_ca_certificates wants.
PEM_CERT_REAL = (REPO / "tests" / "fixtures" / "ca" / "sandbox-ca.pem").read_text()


def inventory(**changes):
    inv = {"all": {
        "hosts": {name: {"ansible_connection": "community.docker.docker",
                         "ansible_host": f"spiff-validation-absent-{name}"} for name in ("node-a", "node-b")},
        "vars": {"spiff_backend_openid_server_url": "https://login.example.com/realms/spiff",
                 "spiff_backend_openid_client_secret": "client-secret-of-the-provider"},
        "children": {group: {"hosts": {"node-a": None}} for group in GROUPS},
    }}
    for group in ("spiff_api", "spiff_worker"):
        inv["all"]["children"][group]["hosts"]["node-b"] = None
    for key, value in changes.items():
        if key.startswith("group_"):
            inv["all"]["children"][key[len("group_"):]] = {"hosts": {h: None for h in value}}
        elif key.startswith("host_"):  # a host not named above is added in no group
            name = key[len("host_"):].replace("_", "-")
            inv["all"]["hosts"].setdefault(name, {"ansible_connection": "community.docker.docker",
                                                  "ansible_host": f"spiff-validation-absent-{name}"}).update(value)
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


def passed_guard(out):
    return "Background host: node-a" in out and out.count("PLAY [") > 1  # the next play started


GOOD = {
    "defaults": {},
    "backup-copy": dict(spiff_backup_copy_to="controller", spiff_backup_copy_dir="/tmp",
                        spiff_backup_copy_key="copy-key-of-the-site"),
    "backup-copy-to-a-host-in-no-group": dict(host_bk_out={}, spiff_backup_copy_to="bk-out",
                                              spiff_backup_copy_dir="/var/backups/offsite",
                                              spiff_backup_copy_key="copy-key-of-the-site"),
    "firewall": dict(spiff_firewall=True, spiff_firewall_allowed_networks=["10.1.0.0/16", "192.0.2.7"]),
    "passwords-with-url-characters": dict(spiff_database_password="p:a@s/s%w'o\"r\\d", spiff_redis_password="r:e@d/i%s'x y",
                                          spiff_database_admin_password="a:d@m/i%n'", spiff_connector_api_key="k:e@y/%'",
                                          spiff_backend_session_secret="s:e@s/s%i'o n",
                                          spiff_backend_encryption_key="0123456789abcdef:@/%'01234567890"),
    "external-database-and-broker-only": dict(
        group_spiff_database=[], group_spiff_redis=[],
        spiff_database_uri="postgresql://spiff:p%40ss@db.example.com:5432/spiff",
        spiff_broker_url="rediss://:secret@redis.example.com:6380/0"),
    "docker-mysql-rabbitmq": dict(spiff_container_engine="docker", spiff_database_type="mysql", spiff_broker="rabbitmq",
                                  spiff_database_allowed_networks=["192.0.2.0/24", "198.51.100.7"]),
    "external-mysql": dict(group_spiff_database=[], spiff_database_type="mysql",
                           spiff_database_uri="mysql+mysqldb://spiff:pw@db.example.com/spiff"),
    "proxy-with-tls": dict(group_spiff_proxy=["node-b"], spiff_proxy_tls_certificate=PEM_CERT, spiff_proxy_tls_key=PEM_KEY,
                           spiff_public_url="https://spiff.example.com"),
    "proxy-self-signed": dict(group_spiff_proxy=["node-b"], spiff_proxy_tls_self_signed=True),
    "api-on-subdomain": dict(spiff_backend_url="https://api.spiff.example.com", spiff_frontend_url="https://spiff.example.com"),
    "numbers-as-strings": dict(spiff_backend_port="7100", spiff_backend_server_workers="8", spiff_health_timeout="600"),
    "named-environment": dict(spiff_backend_environment="staging"),
    "container-limits": dict(spiff_container_memory={"api": "4g", "frontend": ""}, spiff_container_pids_limit=0,
                             spiff_container_cap_add={"frontend": ["NET_BIND_SERVICE"], "connector": ["CAP_CHOWN"]}),
    "site-ca-and-permissions": dict(spiff_ca_certificates=PEM_CERT_REAL + PEM_CERT_REAL,
                                    spiff_backend_admin_users=["ops@example.com"], spiff_backend_admin_groups=["spiff-admins"],
                                    spiff_backend_permissions={"groups": {"readers": {"users": ["r@example.com"]}}}),
    "built-in-login-outside-production": dict(spiff_backend_environment="demo", spiff_backend_openid_client_secret="",
                                              spiff_backend_openid_server_url="http://node-a:7000/openid"),
    "extra-settings": dict(spiff_backend_extra_env={"SPIFFWORKFLOW_BACKEND_DATABASE_POOL_SIZE": "10"},
                           spiff_backend_extra_secret_env={"SPIFFWORKFLOW_BACKEND_SENTRY_DSN": "https://k@s/2"}),
    "images-by-digest": dict(spiff_backend_image="ghcr.io/sartography/spiffworkflow-backend@sha256:" + "0a" * 32,
                             spiff_frontend_image="ghcr.io/sartography/spiffworkflow-frontend:v3.0.0@sha256:" + "1b" * 32,
                             spiff_proxy_image="docker.io/library/haproxy:3.2@sha256:" + "2c" * 32),
    "existing-controller-dirs": dict(spiff_image_archive_dir=str(REPO / "tests"),
                                     spiff_backend_process_models_src=str(REPO / "tests" / "fixtures" / "process_models")),
    "models-read-only-from-git": dict(spiff_backend_process_models_git_url="ssh://git@git.example.com/spiff/models.git",
                                      spiff_backend_process_models_git_version="v1.2", spiff_backend_process_models_git_ssh_key=PEM_KEY),
    "models-editable-on-one-host": dict(group_spiff_api=["node-a"], group_spiff_worker=["node-a"],
                                        spiff_backend_process_models_mode="editable", spiff_backend_process_models_commit_on_save=True,
                                        spiff_backend_process_models_git_url="git@git.example.com:spiff/models.git",
                                        spiff_backend_process_models_git_version="main"),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_inventory_passes_the_guard(tmp_path, case):
    rc, out = site(tmp_path, inventory(**copy.deepcopy(GOOD[case])))
    assert passed_guard(out), out[-2500:]
    for name in ("spiff_database_password", "spiff_redis_password", "spiff_backend_session_secret"):
        if name in GOOD[case]:
            assert GOOD[case][name] not in out
    assert "https://k@s/2" not in out
    assert "copy-key-of-the-site" not in out


URL_CASES = {
    # variable: [(value, words of the message)]
    "spiff_public_url": [("spiff.example.com", "no scheme"), ("http://spiff.example.com", "no scheme or the wrong one"),
                         ("https://spiff.example.com/spiff", "has a path"), ("https://", "no host name"),
                         ("https://spiff.example.com:99999", "port")],
    "spiff_backend_url": [("api.example.com/api", "no scheme"), ("ftp://api.example.com", "wrong one"),
                          ("http://api.example.com/api?x=1", "query"), ("http://user:pw@api.example.com", "user or password"),
                          ("http://api example.com", "white space")],
    "spiff_frontend_url": [("spiff.example.com", "no scheme"), ("http://spiff.example.com/app", "has a path"),
                           ("https://spiff.example.com#top", "fragment"), ("", "is empty")],
    "spiff_backend_openid_server_url": [("login.example.com/realms/spiff", "no scheme"),
                                        ("ldap://login.example.com", "wrong one"), ("https://", "no host name")],
}

SECRET_CASES = {
    "spiff_database_password": ["", "pass\nword", " padded"],
    "spiff_database_admin_password": ["", "ab\x00cd"],
    "spiff_redis_password": ["", "line\nbreak", "trailing "],
    "spiff_connector_api_key": ["", "a\rb"],
    "spiff_backend_session_secret": ["", "two\nlines"],
    "spiff_backend_encryption_key": ["", "0123456789abcdef0123456789abcde\n"],
}

NUMBER_CASES = {
    "spiff_backend_worker_concurrency": [0, "many", -2],
    "spiff_backend_server_workers": [0, "four", 2.5],
    "spiff_health_timeout": [0, "5m"],
    "spiff_backend_migrate_timeout": [-1],
    "spiff_proxy_wait_timeout": ["soon"],
    "spiff_proxy_check_fall": [0],
    "spiff_backend_port": [0, 70000, "http", True],
    "spiff_redis_port": [65536],
    "spiff_frontend_port": [-1],
}

CASES = {
    "backup-copy-to-unknown": (dict(spiff_backup_copy_to="bk-out", spiff_backup_copy_dir="/var/backups/offsite"),
                               "spiff_backup_copy_to", "(bk-out) is neither controller nor a host of the inventory"),
    "backup-copy-to-host-without-dir": (dict(host_bk_out={}, spiff_backup_copy_to="bk-out"), "spiff_backup_copy_dir",
                                        "is empty but spiff_backup_copy_to is the host bk-out: give the absolute directory"),
    "backup-copy-to-host-relative-dir": (dict(host_bk_out={}, spiff_backup_copy_to="bk-out", spiff_backup_copy_dir="offsite"),
                                         "spiff_backup_copy_dir",
                                         "(offsite) is no absolute path without spaces, and spiff_backup_copy_to is the host bk-out"),
    "backup-copy-to-a-backup-host": (dict(spiff_backup_copy_to="node-a", spiff_backup_copy_dir="/var/backups/offsite"),
                                     "spiff_backup_copy_to", "(node-a) is a host that holds a part of the backup itself"),
    "backup-copy-without-dir": (dict(spiff_backup_copy_to="controller"), "spiff_backup_copy_dir",
                                "is empty but spiff_backup_copy_to is controller"),
    "backup-copy-dir-missing": (dict(spiff_backup_copy_to="controller", spiff_backup_copy_dir="/nonexistent/copies"),
                                "spiff_backup_copy_dir", "is no directory on the controller"),
    "backup-key-without-copy": (dict(spiff_backup_copy_key="copy-key-of-the-site"), "spiff_backup_copy_key",
                                "spiff_backup_copy_to is empty, so no backup is copied"),
    # inventory shape
    "two-background-hosts": (dict(group_spiff_background=["node-a", "node-b"]), "spiff_background",
                             "holds 2 hosts (node-a, node-b)"),
    "no-api-host": (dict(group_spiff_api=[]), "spiff_api", "The inventory group spiff_api is empty"),
    "no-worker-host": (dict(group_spiff_worker=[]), "spiff_worker", "The inventory group spiff_worker is empty"),
    "no-frontend-host": (dict(group_spiff_frontend=[]), "spiff_frontend", "The inventory group spiff_frontend is empty"),
    "no-connector-host": (dict(group_spiff_connector=[]), "spiff_connector", "The inventory group spiff_connector is empty"),
    "no-database": (dict(group_spiff_database=[]), "spiff_database_uri", "or leave it empty and set spiff_database_uri"),
    "two-databases": (dict(group_spiff_database=["node-a", "node-b"]), "spiff_database", "spiff_database holds 2 hosts"),
    "no-broker": (dict(group_spiff_redis=[]), "spiff_broker_url", "or leave it empty and set spiff_broker_url"),
    # choices
    "unknown-engine": (dict(spiff_container_engine="lxc"), "spiff_container_engine", '"lxc" is not one of podman, docker'),
    "unknown-database-type": (dict(spiff_database_type="oracle"), "spiff_database_type", '"oracle" is not one of'),
    "unknown-broker": (dict(spiff_broker="memcached"), "spiff_broker", '"memcached" is not one of'),
    "unknown-routing": (dict(spiff_frontend_routing_strategy="host"), "spiff_frontend_routing_strategy", "is not one of"),
    "unknown-log-level": (dict(spiff_backend_log_level="verbose"), "spiff_backend_log_level", "is not one of"),
    "environment-capitals": (dict(spiff_backend_environment="Production"), "spiff_backend_environment", "no environment name"),
    "environment-space": (dict(spiff_backend_environment="prod uction"), "spiff_backend_environment", "no environment name"),
    "environment-development": (dict(spiff_backend_environment="local_development"), "spiff_backend_environment",
                                "local_development settings"),
    "environment-unit-testing": (dict(spiff_backend_environment="unit_testing"), "spiff_backend_environment",
                                 "unit_testing settings"),
    # external URIs
    "postgres-scheme": (dict(group_spiff_database=[], spiff_database_uri="postgres://u:p@db:5432/spiff"),
                        "spiff_database_uri", "Upstream rejects postgres://"),
    "mysqlconnector-scheme": (dict(group_spiff_database=[], spiff_database_type="mysql",
                                   spiff_database_uri="mysql+mysqlconnector://u:p@db/spiff"),
                              "spiff_database_uri", "must start with mysql+mysqldb://"),
    "uri-of-the-other-type": (dict(group_spiff_database=[], spiff_database_uri="mysql+mysqldb://u:p@db/spiff"),
                              "spiff_database_uri", "must start with postgresql://"),
    "uri-empty-host": (dict(group_spiff_database=[], spiff_database_uri="postgresql://u:p@:5432/spiff"),
                       "spiff_database_uri", "names no host"),
    "uri-unescaped-at": (dict(group_spiff_database=[], spiff_database_uri="postgresql://u:p@ss@db/spiff"),
                         "spiff_database_uri", "unescaped @"),
    "uri-no-database": (dict(group_spiff_database=[], spiff_database_uri="postgresql://u:p@db:5432/"),
                        "spiff_database_uri", "names no database"),
    "uri-with-database-host": (dict(spiff_database_uri="postgresql://u:p@db/spiff"), "spiff_database_uri",
                               "is set while spiff_database has a host"),
    "broker-scheme": (dict(group_spiff_redis=[], spiff_broker_url="http://redis.example.com"), "spiff_broker_url",
                      "must be a redis://"),
    "broker-empty-host": (dict(group_spiff_redis=[], spiff_broker_url="redis://:pw@/0"), "spiff_broker_url", "names no host"),
    "broker-unescaped-at": (dict(group_spiff_redis=[], spiff_broker_url="redis://:p@w@redis:6379/0"), "spiff_broker_url",
                            "unescaped @"),
    "broker-with-redis-host": (dict(spiff_broker_url="redis://:pw@redis:6379/0"), "spiff_broker_url",
                               "is set while spiff_redis has a host"),
    "read-only-models-with-bundled-permissions": (dict(spiff_backend_permissions_file_name="example.yml",
                                                       spiff_backend_environment="demo"),
                                                  "spiff_backend_permissions_file_name",
                                                  "cannot hold the denials read-only process models need"),
    # container limits
    "memory-unknown-service": (dict(spiff_container_memory={"db": "1g"}), "spiff_container_memory",
                               "has db, no service of the collection"),
    "memory-bad-size": (dict(spiff_container_memory={"api": "2GB"}), "spiff_container_memory", "no memory size"),
    "cap-add-unknown-service": (dict(spiff_container_cap_add={"nginx": ["CHOWN"]}), "spiff_container_cap_add",
                                "has nginx, no service of the collection"),
    "cap-add-not-a-list": (dict(spiff_container_cap_add={"frontend": "CHOWN"}), "spiff_container_cap_add",
                           "no list of capability names"),
    "cap-add-all": (dict(spiff_container_cap_add={"api": ["ALL"]}), "spiff_container_cap_add",
                    "ALL and SYS_ADMIN are refused"),
    # the encryption key
    "fernet-key": (dict(spiff_backend_encryption_key="x" * 44), "spiff_backend_encryption_key", "exactly 32 bytes"),
    "key-32-characters-33-bytes": (dict(spiff_backend_encryption_key="é" + "x" * 31), "spiff_backend_encryption_key",
                                   "it is 33 bytes"),
    "key-too-short": (dict(spiff_backend_encryption_key="short"), "spiff_backend_encryption_key", "exactly 32 bytes"),
    # the frontend's index.html
    "ampersand-in-url": (dict(spiff_backend_url="http://spiff.example.com/api&b"), "spiff_backend_url", "contains =, ' or &"),
    "ampersand-in-frontend-extra": (dict(spiff_frontend_extra_env={"SPIFFWORKFLOW_FRONTEND_RUNTIME_CONFIG_X": "a&b"}),
                                    "spiff_frontend_extra_env", "contains =, ' or &"),
    "equals-in-frontend-extra": (dict(spiff_frontend_extra_env={"SPIFFWORKFLOW_FRONTEND_RUNTIME_CONFIG_X": "a=b"}),
                                 "spiff_frontend_extra_env", "contains =, ' or &"),
    "quote-in-frontend-secret": (dict(spiff_frontend_extra_secret_env={"SPIFFWORKFLOW_FRONTEND_RUNTIME_CONFIG_Y": "it's"}),
                                 "spiff_frontend_extra_secret_env", "contains =, ' or &"),
    "https-hosts-apart": (dict(spiff_backend_url="https://api.other.example.org", spiff_frontend_url="https://spiff.example.com"),
                          "spiff_backend_url", "do not fit"),
    # ports
    "port-twice": (dict(spiff_frontend_port=7000), "spiff_backend_port", "node-a would publish ports"),
    "port-twice-string-and-number": (dict(spiff_frontend_port="7000"), "spiff_frontend_port", "node-a would publish ports"),
    "proxy-port-twice": (dict(group_spiff_proxy=["node-a"], spiff_proxy_tls_self_signed=True, spiff_proxy_https_port=5432),
                         "spiff_proxy_https_port", "node-a would publish ports"),
    # proxy
    "proxy-without-certificate": (dict(group_spiff_proxy=["node-a"]), "spiff_proxy_tls_certificate",
                                  "node-a is in spiff_proxy but has no TLS pair"),
    "proxy-certificate-without-key": (dict(group_spiff_proxy=["node-a"], spiff_proxy_tls_certificate=PEM_CERT),
                                      "spiff_proxy_tls_certificate", "has no TLS pair"),
    "proxy-certificate-path": (dict(group_spiff_proxy=["node-a"], spiff_proxy_tls_certificate="/etc/ssl/spiff.pem",
                                    spiff_proxy_tls_key=PEM_KEY), "spiff_proxy_tls_certificate", "looks like a file path"),
    "proxy-key-path": (dict(group_spiff_proxy=["node-a"], spiff_proxy_tls_certificate=PEM_CERT,
                            spiff_proxy_tls_key="tls/spiff.key"), "spiff_proxy_tls_key", "is no PEM text"),
    "proxy-api-without-path": (dict(group_spiff_proxy=["node-a"], spiff_proxy_tls_self_signed=True,
                                    spiff_public_url="https://example.com", spiff_backend_url="https://api.example.com"),
                               "spiff_backend_url", "has no path, but hosts in spiff_proxy route"),
    "proxy-check-interval": (dict(spiff_proxy_check_interval="two seconds"), "spiff_proxy_check_interval", "HAProxy time"),
    # extra settings
    "managed-key-in-extra-env": (dict(spiff_backend_extra_env={"SPIFFWORKFLOW_BACKEND_DATABASE_URI": "sqlite:///x"}),
                                 "spiff_backend_extra_env", "SPIFFWORKFLOW_BACKEND_DATABASE_URI in spiff_backend_extra_env or"
                                 " _extra_secret_env is set by the collection: remove it and set spiff_database_uri"),
    "in-app-scheduler-flag": (dict(spiff_backend_extra_env={"SPIFFWORKFLOW_BACKEND_RUN_BACKGROUND_SCHEDULER_IN_CREATE_APP": "1"}),
                              "spiff_backend_extra_env", "SPIFFWORKFLOW_BACKEND_RUN_BACKGROUND_SCHEDULER_IN_CREATE_APP in"),
    "downgrade-flag": (dict(spiff_backend_extra_secret_env={"SPIFFWORKFLOW_BACKEND_DOWNGRADE_DB": "true"}),
                       "spiff_backend_extra_secret_env", "SPIFFWORKFLOW_BACKEND_DOWNGRADE_DB in spiff_backend_extra_env"),
    "managed-key-in-frontend": (dict(spiff_frontend_extra_env={"PORT0": "80"}), "spiff_frontend_extra_env",
                                "remove it and set spiff_frontend_port"),
    "multiline-extra-value": (dict(spiff_connector_extra_env={"CONNECTOR_PROXY_GREETING": "a\nb"}),
                              "spiff_connector_extra_env", "has CONNECTOR_PROXY_GREETING spanning several lines"),
    "extra-env-not-a-dict": (dict(spiff_redis_extra_env="FOO=1"), "spiff_redis_extra_env", "not a dict"),
    "extra-env-bad-name": (dict(spiff_database_extra_env={"BAD NAME": "1"}), "spiff_database_extra_env",
                           "no environment variable name"),
    "extra-env-nested-value": (dict(spiff_backend_extra_env={"X": {"a": 1}}), "spiff_backend_extra_env", "no plain value"),
    # releases and images
    "mixed-release": (dict(spiff_frontend_image="ghcr.io/sartography/spiffworkflow-frontend:v3.0.1"),
                      "spiff_frontend_image", "is not release v3.0.0"),
    "release-empty": (dict(spiff_release=""), "spiff_release", "is no image tag"),
    "release-with-space": (dict(spiff_release="v3.0.0 "), "spiff_release", "is no image tag"),
    "release-with-inner-space": (dict(spiff_release="v3 .0"), "spiff_release", "is no image tag"),
    "image-with-space": (dict(spiff_proxy_image="haproxy 3.2"), "spiff_proxy_image", "is no image reference"),
    "image-short-digest": (dict(spiff_proxy_image="haproxy@sha256:abc"), "spiff_proxy_image", "is no image reference"),
    "digest-mixed-release": (dict(spiff_frontend_image="ghcr.io/sartography/spiffworkflow-frontend:v3.0.1@sha256:" + "1b" * 32),
                             "spiff_frontend_image", "is not release v3.0.0"),
    "digest-with-archives": (dict(spiff_image_archive_dir=str(REPO / "tests"),
                                  spiff_connector_image="ghcr.io/sartography/connector-proxy-demo@sha256:" + "3d" * 32),
                             "spiff_connector_image", "is pinned by digest, but spiff_image_archive_dir is set"),
    # secrets missing while generation is off
    "secrets-missing": (dict(spiff_generate_secrets=False), "spiff_database_password",
                        "spiff_database_password is not set and spiff_generate_secrets is false"),
    "session-secret-missing": (dict(spiff_generate_secrets=False, spiff_database_password="a", spiff_database_admin_password="b",
                                    spiff_redis_password="c", spiff_connector_api_key="d"),
                               "spiff_backend_session_secret", "is not set and spiff_generate_secrets is false"),
    "encryption-key-missing": (dict(spiff_generate_secrets=False, spiff_database_password="a", spiff_database_admin_password="b",
                                    spiff_redis_password="c", spiff_connector_api_key="d", spiff_backend_session_secret="e"),
                               "spiff_backend_encryption_key", "is not set and spiff_generate_secrets is false"),
    # login
    "no-login-provider": (dict(spiff_backend_openid_server_url=""), "spiff_backend_openid_server_url", "is empty"),
    "builtin-openid-in-production": (dict(spiff_backend_openid_server_url="http://node-a:7000/openid"),
                                     "spiff_backend_openid_server_url",
                                     "is the backend's built-in OpenID server and spiff_backend_environment is production"),
    "empty-client-secret-in-production": (dict(spiff_backend_openid_client_secret=""), "spiff_backend_openid_client_secret",
                                          "is empty and spiff_backend_environment is production: upstream then uses its"
                                          " public default client secret"),
    # permissions and the site's CA
    "example-permissions-in-production": (dict(spiff_backend_permissions_file_name="example.yml"),
                                          "spiff_backend_permissions_file_name",
                                          "is one of upstream's example permission files and spiff_backend_environment is"),
    "permissions-file-missing": (dict(spiff_backend_permissions_file="/nonexistent/permissions.yml"),
                                 "spiff_backend_permissions_file", "is no file on the controller"),
    "ca-certificates-a-path": (dict(spiff_ca_certificates="/etc/ssl/site-ca.pem"), "spiff_ca_certificates",
                               "holds no PEM certificate (it looks like a file path)"),
    "ca-certificates-with-a-key": (dict(spiff_ca_certificates=PEM_CERT_REAL + PEM_KEY), "spiff_ca_certificates",
                                   "holds text outside -----BEGIN CERTIFICATE-----"),
    "ca-certificates-bad-base64": (dict(spiff_ca_certificates="-----BEGIN CERTIFICATE-----\nnot*base64\n"
                                        "-----END CERTIFICATE-----\n"), "spiff_ca_certificates", "holds text outside"),
    "ca-certificates-not-der": (dict(spiff_ca_certificates=PEM_CERT), "spiff_ca_certificates",
                                "has a certificate (number 1) that is no valid base64 DER"),
    "signing-key-not-pem": (dict(spiff_backend_openid_signing_key="openid.key"), "spiff_backend_openid_signing_key",
                            "is no PEM text"),
    # firewall networks
    "firewall-ipv6-network": (dict(spiff_firewall=True, spiff_firewall_allowed_networks=["10.1.0.0/16", "fd00::/8"]),
                              "spiff_firewall_allowed_networks", "is no IPv4 address or network"),
    "firewall-octet-above-255": (dict(spiff_firewall=True, spiff_firewall_allowed_networks=["10.0.0.256"]),
                                 "spiff_firewall_allowed_networks", "each number 0-255"),
    "firewall-network-octet-above-255": (dict(spiff_firewall=True, spiff_firewall_allowed_networks=["300.1.0.0/16"]),
                                         "spiff_firewall_allowed_networks", "is no IPv4 address or network"),
    "firewall-prefix-above-32": (dict(spiff_firewall=True, spiff_firewall_allowed_networks=["10.0.0.0/33"]),
                                 "spiff_firewall_allowed_networks", "is no IPv4 address or network"),
    # nftables reads 010.0.0.1 as 8.0.0.1 (octal) where the database rules would read 10.0.0.1.
    "firewall-leading-zero": (dict(spiff_firewall=True, spiff_firewall_allowed_networks=["10.0.0.1", "010.0.0.1"]),
                              "spiff_firewall_allowed_networks", "without a leading zero"),
    "firewall-networks-a-string": (dict(spiff_firewall=True, spiff_firewall_allowed_networks="10.0.0.0/8"),
                                   "spiff_firewall_allowed_networks", "not a list"),
    "database-network-host-name": (dict(spiff_database_type="mysql", spiff_database_allowed_networks=["10.1.0.0/16", "admin.example.com"]),
                                   "spiff_database_allowed_networks", "is no IPv4 address or network"),
    # controller paths
    "archive-dir-missing": (dict(spiff_image_archive_dir="/nonexistent/spiff-archives"), "spiff_image_archive_dir",
                            "is no directory on the controller"),
    "process-models-missing": (dict(spiff_backend_process_models_src="/nonexistent/models"),
                               "spiff_backend_process_models_src", "is no directory on the controller"),
    "archive-dir-is-a-file": (dict(spiff_image_archive_dir=str(REPO / "README.md")), "spiff_image_archive_dir",
                              "is no directory on the controller"),
    # addresses
    "ansible-host-with-port": (dict(host_node_a={"ansible_host": "10.0.0.5:2222"}), "spiff_private_address", "holds a colon"),
    "private-address-with-port": (dict(host_node_b={"spiff_private_address": "node-b.example.com:22"}),
                                  "spiff_private_address", "holds a colon"),
    "private-address-leading-zero": (dict(host_node_b={"spiff_private_address": "10.0.0.05"}),
                                     "spiff_private_address", "each without a leading zero"),
    "private-address-with-space": (dict(host_node_b={"spiff_private_address": "node b"}), "spiff_private_address",
                                   "is no IPv4 address or host name"),
    "bind-address-name": (dict(spiff_backend_bind_address="localhost"), "spiff_backend_bind_address", "is no IPv4 address"),
    # names and paths that reach SQL, units and files
    "database-name-with-quote": (dict(spiff_database_name="spiff'db"), "spiff_database_name", "is no plain name"),
    "database-user-with-backtick": (dict(spiff_database_user="spiff`x"), "spiff_database_user", "is no plain name"),
    "rabbitmq-vhost-with-slash": (dict(spiff_broker="rabbitmq", spiff_rabbitmq_vhost="a/b c"), "spiff_rabbitmq_vhost",
                                  "is no plain name"),
    "data-dir-relative": (dict(spiff_data_dir="var/lib/spiff"), "spiff_data_dir", "is no absolute path"),
    "backup-schedule-two-lines": (dict(spiff_backup_schedule="daily\nhourly"), "spiff_backup_schedule", "line break"),
    "migrate-command-not-a-list": (dict(spiff_backend_migrate_command="flask db upgrade"), "spiff_backend_migrate_command",
                                   "not a list"),
    "bool-as-text": (dict(spiff_database_user=True), "spiff_database_user", "is a boolean"),
    "bool-not-a-bool": (dict(spiff_firewall="maybe"), "spiff_firewall", "is not a boolean"),
    # process models
    "models-editable-on-two-hosts": (dict(spiff_backend_process_models_mode="editable"), "spiff_backend_process_models_mode",
                                     "is editable while 2 hosts run backend services (node-a, node-b)"),
    "models-two-sources": (dict(spiff_backend_process_models_src=str(REPO / "tests" / "fixtures" / "process_models"),
                                spiff_backend_process_models_git_url="https://git.example.com/models.git",
                                spiff_backend_process_models_git_version="main"),
                           "spiff_backend_process_models_git_url", "and spiff_backend_process_models_src are both set"),
    "models-git-without-ref": (dict(spiff_backend_process_models_git_url="https://git.example.com/models.git"),
                               "spiff_backend_process_models_git_version", "is empty while spiff_backend_process_models_git_url"),
    "models-dir-missing": (dict(spiff_backend_process_models_src="/nonexistent/process_models"),
                           "spiff_backend_process_models_src", "is no directory on the controller"),
    "models-mode-unknown": (dict(spiff_backend_process_models_mode="shared"), "spiff_backend_process_models_mode",
                            "is not one of auto, read-only, editable"),
    "models-git-url-with-token": (dict(spiff_backend_process_models_git_url="https://bot:s3cret@git.example.com/models.git",
                                       spiff_backend_process_models_git_version="main"),
                                  "spiff_backend_process_models_git_url", "holds a password or token"),
    "models-commit-on-save-read-only": (dict(spiff_backend_process_models_commit_on_save=True,
                                             spiff_backend_process_models_git_url="https://git.example.com/models.git",
                                             spiff_backend_process_models_git_version="main"),
                                        "spiff_backend_process_models_commit_on_save", "without an editable git repository"),
    "models-key-as-path": (dict(spiff_backend_process_models_git_ssh_key="/root/.ssh/id_ed25519"),
                           "spiff_backend_process_models_git_ssh_key", "is no PEM text"),
}
# One variable, one bad value: several cases share one run, each on a host
# of its own (host vars), and each must be reported for its host.
BATCHES = {
    "url": [(var, value, words) for var, items in URL_CASES.items() for value, words in items],
    "secret": [(var, value, "is empty" if value == "" else "") for var, values in SECRET_CASES.items() for value in values],
    "number": [(var, value, "") for var, values in NUMBER_CASES.items() for value in values],
}
_BATCH_RUNS = {}


def batch_run(tmp_path_factory, batch):
    if batch not in _BATCH_RUNS:
        inv = inventory()
        for i, (var, value, _) in enumerate(BATCHES[batch]):
            host = f"case-{i}"
            inv["all"]["hosts"][host] = {"ansible_connection": "community.docker.docker", var: value,
                                         "ansible_host": f"spiff-validation-absent-{host}"}
            for group in ("spiff_api", "spiff_worker"):
                inv["all"]["children"][group]["hosts"][host] = None
        _BATCH_RUNS[batch] = site(tmp_path_factory.mktemp(batch), inv)
    return _BATCH_RUNS[batch]


@pytest.mark.parametrize("batch,index", [(b, i) for b, cases in sorted(BATCHES.items()) for i in range(len(cases))])
def test_bad_value_stops_in_the_guard(tmp_path_factory, batch, index):
    var, value, message = BATCHES[batch][index]
    rc, out = batch_run(tmp_path_factory, batch)
    assert rc != 0
    assert out.count("PLAY [") == 1 and "UNREACHABLE" not in out, out[-2500:]
    lines = [line for line in out.split("fatal:")[-1].splitlines()
             if re.match(rf"\s*- {re.escape(var)} \(hosts? [^)]*\bcase-{index}\b", line)]
    assert len(lines) == 1, out[-3000:]
    assert message in lines[0]
    if batch == "secret" and value.strip():
        assert value.strip() not in out  # never a secret's value


def test_enough_cases():
    assert len(CASES) + sum(map(len, BATCHES.values())) >= 80


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_inventory_stops_in_the_guard(tmp_path, case):
    changes, variable, message = CASES[case]
    rc, out = site(tmp_path, inventory(**copy.deepcopy(changes)))
    flat = " ".join(out.split())
    assert rc != 0
    assert out.count("PLAY [") == 1 and "UNREACHABLE" not in out, out[-2500:]  # no play after the guard
    assert re.search(rf"- ([\w/]*/)?{re.escape(variable)}[ /(]", out), out[-2500:]  # a problem line names the variable
    assert message in flat, out[-2500:]


def test_every_problem_at_once_and_once(tmp_path):
    rc, out = site(tmp_path, inventory(spiff_release="", spiff_backend_port="x", spiff_backend_environment="Prod"))
    report = out.split("fatal:")[-1]
    for variable in ("spiff_release", "spiff_backend_port", "spiff_backend_environment"):
        assert report.count(f"- {variable} (every host)") == 1, report


def test_problem_names_the_group_or_host(tmp_path):
    inv = inventory(host_node_b={"spiff_backend_server_workers": 0})
    rc, out = site(tmp_path, inv)
    assert "spiff_backend_server_workers (host node-b): 0 must be a whole number" in " ".join(out.split())


def test_guard_holds_under_limit(tmp_path):
    rc, out = site(tmp_path, inventory(group_spiff_background=["node-a", "node-b"]), "--limit", "node-b")
    assert rc != 0 and "holds 2 hosts" in out
    assert out.count("PLAY [") == 1


def test_guard_checks_hosts_outside_the_limit(tmp_path):
    rc, out = site(tmp_path, inventory(host_node_a={"spiff_backend_port": 0}), "--limit", "node-b")
    assert rc != 0 and "spiff_backend_port (host node-a)" in out
    assert out.count("PLAY [") == 1
