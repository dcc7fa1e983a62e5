"""Rules between variables, and between hosts, of a Spiff Arena inventory.

Called by the guard action (spiff.arena.guard) once every host's variables
passed their argument specs. ``values`` maps each host to its checked
variables (a variable with a problem of its own is absent, and the rules
that need it skip it), plus ``_groups``: the spiff_* groups the host is in.
Each rule yields (host or None for the inventory, variable, problem); the
problem never quotes a secret. Controller-only code: plain Python.
"""

import re
from urllib.parse import urlsplit

from ansible_collections.spiff.arena.plugins.plugin_utils import checks

REQUIRED = {
    "spiff_api": "backend API replicas",
    "spiff_worker": "Celery worker replicas",
    "spiff_frontend": "frontend replicas",
    "spiff_connector": "connector proxy replicas",
}
BACKEND = ("spiff_api", "spiff_worker", "spiff_background")
DATABASE_SCHEMES = {"postgres": ("postgresql", "postgresql+psycopg2"), "mysql": ("mysql+mysqldb",)}
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "sqs")
PORTS = [("spiff_database", "spiff_database_port"), ("spiff_redis", None), ("spiff_api", "spiff_backend_port"),
         ("spiff_frontend", "spiff_frontend_port"), ("spiff_connector", "spiff_connector_port"),
         ("spiff_proxy", "spiff_proxy_http_port"), ("spiff_proxy", "spiff_proxy_https_port")]
FRONTEND_PREFIX = "SPIFFWORKFLOW_FRONTEND_RUNTIME_CONFIG_"


def _has(v, *names):
    return all(name in v for name in names)


def _inventory(groups):
    background = groups.get("spiff_background", [])
    if len(background) > 1:
        yield None, "spiff_background", (
            f"holds {len(background)} hosts ({', '.join(background)}): exactly one Background may run in a"
            " cluster. Keep one host in spiff_background, or empty the group to run Background on the first"
            " spiff_api host.")
    for group, what in REQUIRED.items():
        if not groups.get(group):
            yield None, group, f"The inventory group {group} is empty or missing: put at least one host in it ({what})."
    for group, external, what in (("spiff_database", "spiff_database_uri", "the database"),
                                  ("spiff_redis", "spiff_broker_url", "the Celery broker")):
        if len(groups.get(group, [])) > 1:
            yield None, group, (
                f"{group} holds {len(groups[group])} hosts: put exactly one host in it for the collection to deploy"
                f" {what}, or leave it empty and set {external} to use an external one.")


def _uri(v, host, groups):
    """External database and broker: given exactly when their group is empty, and well-formed."""
    backend = any(g in v["_groups"] for g in BACKEND)
    for group, name, schemes, what in (
            ("spiff_database", "spiff_database_uri", None, "the database"),
            ("spiff_redis", "spiff_broker_url", BROKER_SCHEMES, "the Celery broker")):
        if name not in v:
            continue
        uri = v[name]
        deployed = len(groups.get(group, [])) == 1
        if deployed and uri:
            yield host, name, (f"is set while {group} has a host ({groups[group][0]}): the collection deploys"
                               f" {what} there. Remove {name}, or empty {group} to use the external one.")
            continue
        if not groups.get(group) and not uri and backend:
            yield host, name, (f"is empty and {group} holds no host: put exactly one host in {group} for the"
                               f" collection to deploy {what}, or leave it empty and set {name} to use an"
                               " external one.")
            continue
        if not uri:
            continue
        if schemes is None:
            if "spiff_database_type" not in v:
                continue
            schemes = DATABASE_SCHEMES[v["spiff_database_type"]]
        problem = _uri_problem(uri, schemes, need_path=name == "spiff_database_uri")
        if problem:
            yield host, name, problem + (
                " Upstream rejects postgres:// and mysql+mysqlconnector://." if name == "spiff_database_uri" else "")


def _uri_problem(uri, schemes, need_path):
    example = f"{schemes[0]}://user:password@host:port/" + ("database" if need_path else "0")
    if re.search(r"[\s\x00]", uri):
        return "holds white space or a line break: write a space in a password as %20."
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in schemes:
        return (f"must start with {' or '.join(s + '://' for s in schemes)}"
                f" (for this spiff_database_type, or broker), like {example}." if need_path else
                f"must be a {', '.join(s + '://' for s in schemes)} URL ({example}).")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if netloc.count("@") > 1:
        return f"has an unescaped @ in its user or password: write it as %40 ({example})."
    if scheme == "sqs":
        return None
    try:
        parts = urlsplit(uri)
        parts.port  # pylint: disable=pointless-statement  # raises on a bad port
    except ValueError:
        return f"has a port that is no number from 1 to 65535 ({example})."
    if not parts.hostname:
        return f"names no host: give {example}."
    if need_path and not parts.path.strip("/"):
        return f"names no database: give {example}."
    return None


def _login(v, host):
    if "spiff_backend_openid_server_url" not in v or not any(g in v["_groups"] for g in BACKEND):
        return
    url = v["spiff_backend_openid_server_url"]
    if not url:
        yield host, "spiff_backend_openid_server_url", (
            "is empty: set it to your OpenID Connect provider (and spiff_backend_openid_client_id, and"
            " spiff_backend_openid_client_secret in Vault). Without it the backend points at a Keycloak on"
            " localhost with a public secret.")
    elif re.search(r"/openid/?$", url) and v.get("spiff_backend_environment") == "production":
        yield host, "spiff_backend_openid_server_url", (
            f"({url}) is the backend's built-in OpenID server and spiff_backend_environment is production."
            " Upstream made it for demos: its users and their passwords live in the permissions file. Point"
            " spiff_backend_openid_server_url at your OpenID Connect provider, or, for a demo, set"
            " spiff_backend_environment to another name.")
    elif v.get("spiff_backend_environment") == "production" and v.get("spiff_backend_openid_client_secret") == "":
        yield host, "spiff_backend_openid_client_secret", (
            "is empty and spiff_backend_environment is production: upstream then uses its public default client"
            " secret. Give the secret your OpenID Connect provider holds for spiff_backend_openid_client_id (in"
            " Ansible Vault).")


# Permission files bundled in the upstream image (v3.0.0): examples and test
# fixtures, with fixed identities and passwords.
UPSTREAM_EXAMPLE_PERMISSIONS = ("acceptance_tests.yml", "demo.yml", "example.yml", "example_process_model_read_only.yml",
                                "example_process_model_read_only_with_publish.yml", "local_development.yml",
                                "unit_testing.yml")


def _permissions(v, host):
    if not any(g in v["_groups"] for g in BACKEND) or v.get("spiff_backend_environment") != "production":
        return
    name = v.get("spiff_backend_permissions_file_name")
    if name in UPSTREAM_EXAMPLE_PERMISSIONS:
        yield host, "spiff_backend_permissions_file_name", (
            f"({name}) is one of upstream's example permission files and spiff_backend_environment is production:"
            " it makes fixed e-mail identities admin and lets everybody start every process model. Remove it to use"
            " the collection's default (admin only for spiff_backend_admin_users and spiff_backend_admin_groups),"
            " or give your own with spiff_backend_permissions_file or spiff_backend_permissions.")


def _ports(v, host):
    names = []
    for group, name in PORTS:
        if group in v["_groups"]:
            if name is None:
                name = "spiff_rabbitmq_port" if v.get("spiff_broker") == "rabbitmq" else "spiff_redis_port"
            names.append(name)
    if not _has(v, *names):
        return
    ports = [v[name] for name in names]
    if len(set(ports)) != len(ports):
        yield host, "/".join(n for n in names if ports.count(v[n]) > 1), (
            f"{host} would publish ports {', '.join(map(str, ports))} ({', '.join(names)}): each must differ"
            " from the others on the same host. Change one of those variables.")


def _backend(v, host):
    if "spiff_backend_encryption_key" in v and v["spiff_backend_encryption_key"] is not None:
        size = len(v["spiff_backend_encryption_key"].encode("utf-8"))
        if size != 32:
            yield host, "spiff_backend_encryption_key", (
                f"must be exactly 32 bytes for the cryptography library (it is {size} bytes; a character beyond"
                " ASCII takes several, and a 44-character Fernet key fails at startup). Give 32 ASCII characters,"
                " or remove it to have one generated.")


def _models(v, host, groups):
    """The process models: one source, a ref with a git URL, and editable only where one host runs the backend."""
    if not any(g in v["_groups"] for g in BACKEND):
        return
    src, url = v.get("spiff_backend_process_models_src"), v.get("spiff_backend_process_models_git_url")
    if src and url:
        yield host, "spiff_backend_process_models_git_url", (
            "and spiff_backend_process_models_src are both set: the process models come from one source. Keep the"
            " git repository or the controller directory, and remove the other.")
    if url and v.get("spiff_backend_process_models_git_version") == "":
        yield host, "spiff_backend_process_models_git_version", (
            f"is empty while spiff_backend_process_models_git_url is set ({url}): give the branch, tag or commit"
            " every backend host checks out (a branch for commit on save).")
    hosts = sorted({h for g in BACKEND for h in groups.get(g, [])})
    mode = v.get("spiff_backend_process_models_mode")
    if mode == "editable" and len(hosts) > 1:
        yield host, "spiff_backend_process_models_mode", (
            f"is editable while {len(hosts)} hosts run backend services ({', '.join(hosts)}): an edit would land on"
            " the one host that served it. Either run API, worker and Background on one host (editable), or set"
            " spiff_backend_process_models_mode: read-only (or auto) and change the models in their git repository"
            " or controller directory, then run site.yml.")
    editable = mode == "editable" or (mode == "auto" and len(hosts) == 1)
    if not editable and v.get("spiff_backend_permissions_file_name"):
        yield host, "spiff_backend_permissions_file_name", (
            f"({v['spiff_backend_permissions_file_name']}) picks a permissions file bundled in the image, which cannot"
            " hold the denials read-only process models need: the browser could change models that site.yml puts"
            " back. Remove it and give the site's permissions with spiff_backend_permissions_file or"
            " spiff_backend_permissions (the denials are added to them).")
    if v.get("spiff_backend_process_models_commit_on_save") and (not url or not editable):
        yield host, "spiff_backend_process_models_commit_on_save", (
            "is true without an editable git repository: commit on save pushes edits to"
            " spiff_backend_process_models_git_url; set it, with spiff_backend_process_models_mode editable (one"
            " backend host), or set commit on save to false.")


def _frontend(v, host):
    values = {name: v[name] + ("/v1.0" if name == "spiff_backend_url" else "")
              for name in ("spiff_backend_url", "spiff_frontend_routing_strategy") if name in v}
    for source in ("spiff_frontend_extra_env", "spiff_frontend_extra_secret_env"):
        for key, value in (v.get(source) or {}).items():
            if str(key).startswith(FRONTEND_PREFIX):
                values[f"{source} ({key})"] = str(value)
    for name, value in values.items():
        if re.search(r"[='&]", value):
            yield host, name, (
                "contains =, ' or &, which the frontend image cannot write into its configuration (index.html):"
                " remove the character" + (" (the value goes to the frontend with /v1.0 added)."
                                           if name == "spiff_backend_url" else "."))


def _urls(v, host, groups):
    if not _has(v, "spiff_backend_url", "spiff_frontend_url", "spiff_public_url"):
        return
    backend, frontend = urlsplit(v["spiff_backend_url"]), urlsplit(v["spiff_frontend_url"])
    if backend.scheme == "https" and frontend.hostname and not (
            backend.hostname == frontend.hostname or (backend.hostname or "").endswith("." + frontend.hostname)):
        yield host, "spiff_backend_url", (
            f"({v['spiff_backend_url']}) and spiff_frontend_url ({v['spiff_frontend_url']}) do not fit: with https the"
            " backend's host must be the frontend's host or end with it (api.spiff.example.com for"
            " spiff.example.com), or use one host with the API under /api.")
    if groups.get("spiff_proxy") and not backend.path.strip("/"):
        yield host, "spiff_backend_url", (
            f"({v['spiff_backend_url']}) has no path, but hosts in spiff_proxy route the API by path: give it one"
            f" under spiff_public_url (e.g. {v['spiff_public_url'] or 'https://spiff.example.com'}/api),"
            " or leave spiff_backend_url unset.")


def _proxy(v, host):
    if "spiff_proxy" not in v["_groups"] or not _has(v, "spiff_proxy_tls_certificate", "spiff_proxy_tls_key",
                                                     "spiff_proxy_tls_self_signed"):
        return
    cert, key = v["spiff_proxy_tls_certificate"], v["spiff_proxy_tls_key"]
    if not ((cert and key) or (not cert and not key and v["spiff_proxy_tls_self_signed"])):
        yield host, "spiff_proxy_tls_certificate", (
            f"{host} is in spiff_proxy but has no TLS pair: give spiff_proxy_tls_certificate and"
            " spiff_proxy_tls_key (PEM, the key in Vault) together, or set spiff_proxy_tls_self_signed: true for a"
            " trial (browsers warn about a self-signed certificate).")


def _release(v, host):
    if "spiff_release" not in v:
        return
    for name in ("spiff_backend_image", "spiff_frontend_image", "spiff_connector_image"):
        # name@sha256:... is pinned by its digest; name:tag@sha256:... still names the tag.
        tagged = name in v and (":" in v[name].split("@")[0].rsplit("/", 1)[-1] or "@" not in v[name])
        if tagged and not v[name].split("@")[0].endswith(":" + v["spiff_release"]):
            yield host, name, (
                f"({v[name]}) is not release {v['spiff_release']}: upstream builds one release tag for backend,"
                " frontend and connector; change spiff_release instead of one image's tag.")


def _digests(v, host):
    """A digest names what a registry serves; an image loaded from an archive has no registry digest."""
    if not v.get("spiff_image_archive_dir"):
        return
    for name in ("spiff_backend_image", "spiff_frontend_image", "spiff_connector_image", "spiff_proxy_image"):
        if "@sha256:" in str(v.get(name, "")):
            yield host, name, (
                f"({v[name]}) is pinned by digest, but spiff_image_archive_dir is set: an image loaded from an"
                " archive keeps its tags, not the registry's digest, so the host could never find it by digest."
                " Give a tag with archives, or leave spiff_image_archive_dir empty to pull from the registry.")


def _extra(v, host, managed):
    for component, settings in managed.items():
        for source in (f"spiff_{component}_extra_env", f"spiff_{component}_extra_secret_env"):
            for key in sorted(v.get(source) or {}):
                if key in settings:
                    yield host, source, (
                        f"{key} in spiff_{component}_extra_env or _extra_secret_env is set by the collection:"
                        f" remove it and set {settings[key]} instead.")


def _backup_copy(v, host, groups):
    """backup.yml's copy off the hosts: to the controller (an existing directory there) or to a host
    of the inventory (an absolute directory on it), never to a host that holds a part of the backup."""
    if not _has(v, "spiff_backup_copy_to", "spiff_backup_copy_dir", "spiff_backup_copy_key"):
        return
    target, where = v["spiff_backup_copy_to"], v["spiff_backup_copy_dir"]
    if not target:
        if where or v["spiff_backup_copy_key"]:
            name = "spiff_backup_copy_key" if v["spiff_backup_copy_key"] else "spiff_backup_copy_dir"
            yield host, name, (
                "is given but spiff_backup_copy_to is empty, so no backup is copied: set spiff_backup_copy_to"
                f" (controller, or a host of the inventory), or remove {name}.")
        return
    if target == "controller":
        problem = checks.check("controller_dir", where)
        if not where:
            yield host, "spiff_backup_copy_dir", (
                "is empty but spiff_backup_copy_to is controller: give the controller directory the copies go to.")
        elif problem:
            yield host, "spiff_backup_copy_dir", f"({where}) {problem} (spiff_backup_copy_to is controller)."
        return
    if target not in groups.get("all", []):
        yield host, "spiff_backup_copy_to", (
            f"({target}) is neither controller nor a host of the inventory: give controller, or the name of the host"
            " the copies go to as the inventory names it (in any group or in none), or leave it empty for no copy.")
        return
    background = (groups.get("spiff_background") or groups.get("spiff_api") or [None])[0]
    if target == host and (host in groups.get("spiff_database", []) or host == background):
        yield host, "spiff_backup_copy_to", (
            f"({target}) is a host that holds a part of the backup itself: its copy would be lost with it. Name"
            " another host of the inventory, or controller.")
    if not where:
        yield host, "spiff_backup_copy_dir", (
            f"is empty but spiff_backup_copy_to is the host {target}: give the absolute directory on {target} the"
            " copies go to (created 0700 if missing).")
    elif checks.check("abs_path", where):
        yield host, "spiff_backup_copy_dir", (
            f"({where}) is no absolute path without spaces, and spiff_backup_copy_to is the host {target}: give the"
            f" directory on {target} from / (like /var/backups/spiff-copies).")


def check(values, groups, role_vars):
    """Every problem between variables and hosts: (host or None, variable, problem)."""
    managed = role_vars.get("_spiff_managed_env") or {}
    problems = list(_inventory(groups))
    for host, v in values.items():
        for rule in (_uri(v, host, groups), _login(v, host), _permissions(v, host), _ports(v, host), _backend(v, host),
                     _models(v, host, groups), _frontend(v, host), _urls(v, host, groups), _proxy(v, host), _release(v, host),
                     _digests(v, host), _backup_copy(v, host, groups), _extra(v, host, managed)):
            problems.extend(rule)
    return problems
