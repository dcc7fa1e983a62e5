"""Checks of single values named in the roles' argument specs (``spiff_check``).

An option of a role's ``meta/argument_specs.yml`` may carry ``spiff_check``:
one name (or a list of names) from ``CHECKS`` below. The guard action
(``spiff.arena.guard``) applies it after the option's ``type``, ``choices``
and ``elements``; ``tests/tools/docs.py`` prints each check's ``doc`` in the
README's variables table. A check returns None when the value is good, else
what is wrong and what to do, without ever quoting the value (the caller
quotes it, unless the option is a secret).

Controller-only code: plain Python, no Ansible import.
"""

import base64
import binascii
import os
import re
from urllib.parse import urlsplit

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
# Each number without a leading zero: nftables reads 010 as octal (8), where the database's
# access rules (networks_as) read 10.
_NUMBER = r"(0|[1-9]\d{0,2})"
_IPV4 = re.compile(rf"^{_NUMBER}\.{_NUMBER}\.{_NUMBER}\.{_NUMBER}$")
_PREFIXES = frozenset(str(bits) for bits in range(33))  # 0-32, written without a leading zero
_DOTTED_NUMBERS = re.compile(r"^[\d.]+$")
_BAD_CHARS = re.compile(r"[\r\n\x00]")


def _is_ipv4(text):
    match = _IPV4.match(text)
    return bool(match) and all(int(part) <= 255 for part in match.groups())


def one_line(value):
    """Anything written into a file: one line, no NUL."""
    if isinstance(value, str) and _BAD_CHARS.search(value):
        return "holds a line break or a NUL character, which no environment or configuration file can carry: give one line"
    return None


def _port(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return "is no port: give a whole number from 1 to 65535"
    return None


def _positive(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be a whole number of at least 1"
    return None


def _not_negative(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return "must be a whole number of at least 0"
    return None


def _secret(value):
    if value == "":
        return ("is empty: give a non-empty secret (in Ansible Vault), or remove the variable to have one generated"
                " (spiff_generate_secrets)")
    if one_line(value):
        return "holds a line break or NUL character: give a secret on one line"
    if value != value.strip():
        return "starts or ends with white space, which is lost on the way to the service: remove it"
    return None


def _optional_secret(value):
    return None if value == "" else _secret(value)


def _address(value):
    if value == "":
        return "is empty: give the host's private address or name"
    if ":" in value:
        return ("holds a colon (a port, or IPv6): give a bare IPv4 address or host name; ports are set by their own"
                " variables (ansible_port for SSH)")
    if _DOTTED_NUMBERS.match(value) and not _is_ipv4(value):
        return "is no IPv4 address: give four numbers 0-255, each without a leading zero (10.0.0.5)"
    if not (_is_ipv4(value) or _NAME.match(value)):
        return "is no IPv4 address or host name (letters, digits, dots and dashes)"
    return None


def _bind(value):
    if value == "":
        return None
    if not _is_ipv4(value):
        return ("is no IPv4 address: give one of the host's IPv4 addresses, each number without a leading zero"
                " (0.0.0.0 for every address)")
    return None


def _network(value):
    address, slash, bits = value.partition("/")
    if not value.isascii() or not _is_ipv4(address) or (slash and bits not in _PREFIXES):
        return ("is no IPv4 address or network: give 10.0.0.5 or 10.0.0.0/24 (each number 0-255 without a"
                " leading zero, prefix 0-32)")
    return None


def _url(value, *, schemes, path, empty=False):
    if value == "":
        return None if empty else f"is empty: give a {' or '.join(schemes)} URL"
    if one_line(value) or re.search(r"\s", value):
        return "holds white space or a line break: give a URL without"
    try:
        parts = urlsplit(value)
        parts.port  # pylint: disable=pointless-statement  # raises on a bad port
    except ValueError:
        return "is no valid URL (its port is not a number from 0 to 65535)"
    if parts.scheme not in schemes:
        return (f"has no scheme or the wrong one: give a {' or '.join(s + '://' for s in schemes)} URL"
                f" (e.g. {schemes[-1]}://spiff.example.com)")
    if not parts.hostname:
        return "has no host name: give scheme://host[:port]"
    if parts.username is not None or parts.password is not None:
        return "holds a user or password (@): browsers do not send them; remove them"
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return "holds a query or fragment (? or #): remove it"
    if not path and parts.path not in ("", "/"):
        return f"has a path ({parts.path}), but the frontend is served at the root of its URL: remove the path"
    if "@" in value:
        return "holds an @ outside a user part: write it as %40"
    return None


def _controller_file(value):
    if value == "":
        return None
    if not os.path.isfile(os.path.expanduser(value)):
        return "is no file on the controller (the host Ansible runs on): create it or correct the path"
    return None


def _controller_dir(value):
    if value == "":
        return None
    if not os.path.isdir(os.path.expanduser(value)):
        return "is no directory on the controller (the host Ansible runs on): create it or correct the path"
    return None


def _git_url(value):
    if value == "":
        return None
    if re.search(r"\s", value):
        return "holds white space: give the repository's URL"
    if re.match(r"^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@", value):
        return ("holds a password or token: it would be kept in the clone's .git/config; give an SSH URL and"
                " spiff_backend_process_models_git_ssh_key (a deploy key) instead")
    return None


def _pem(kind):
    def check(value):
        if value == "":
            return None
        if "-----BEGIN " not in value:
            hint = " (it looks like a file path)" if value.startswith(("/", "~", ".")) else ""
            return (f"is no PEM text{hint}: give the {kind} itself, e.g. \"{{{{ lookup('ansible.builtin.file', "
                    f"'tls/spiff.pem') }}}}\", not its path")
        return None
    return check


_CERT_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s*\n([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----")


def _pem_certificates(value):
    """One or more PEM certificates, nothing else: each block's base64 decodes to a DER sequence."""
    if value == "":
        return None
    if "-----BEGIN CERTIFICATE-----" not in value:
        hint = " (it looks like a file path)" if value.strip().startswith(("/", "~", ".")) else ""
        return (f"holds no PEM certificate{hint}: give the certificates themselves, e.g. \"{{{{ lookup('ansible.builtin.file',"
                " 'site-ca.pem') }}\", not a path")
    if _CERT_BLOCK.sub("", value).strip():
        return ("holds text outside -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- blocks, or a block that is"
                " not closed: give PEM certificates only (no private key)")
    for number, body in enumerate(_CERT_BLOCK.findall(value), 1):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if len(der) < 64 or der[0] != 0x30:
            return f"has a certificate (number {number}) that is no valid base64 DER: copy the PEM file again"
    return None


def _matching(pattern, problem, also=lambda value: False):
    """A check that refuses a value not matching pattern (or for which also() is true)."""
    def check(value):
        return problem if not re.match(pattern, value) or also(value) else None
    return check


_release = _matching(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
                     "is no image tag: give a release like v3.0.0 (letters, digits, _ . -; no spaces; not empty)")
_image = _matching(r"^[a-z0-9][A-Za-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$",
                   "is no image reference: give registry/name:tag, registry/name@sha256:<64 hex digits> or"
                   " registry/name:tag@sha256:<64 hex digits> (no spaces, not empty)",
                   also=lambda value: value.split("@")[0].endswith((":", "/")))
_identifier = _matching(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$",
                        "is no plain name: use letters, digits and _ (not starting with a digit, at most 63), which every"
                        " database and SQL statement takes as is")
_rabbit_name = _matching(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
                         "is no plain name: use letters, digits, _ . and - (not empty, no spaces)")
_user_ids = _matching(r"^[1-9][0-9]{0,9}:[0-9]{1,10}$",
                      "is no numeric uid:gid of a user other than root (65532:65532)")
_abs_path = _matching(r"^/[^\s\x00]*$", "is no absolute path without spaces (/var/lib/spiff)")


def _environment(value):
    if not re.match(r"^[a-z][a-z0-9_]*$", value):
        return ("is no environment name upstream can load (lower-case letters, digits and _, like production,"
                " staging, demo, qa1)")
    if value in ("local_development", "unit_testing", "testing"):
        return (f"makes upstream load its {value} settings (development or test database and behaviour):"
                " use production, or a name of your own like staging or demo")
    return None


def _duration(value):
    if not re.match(r"^[1-9][0-9]*(us|ms|s|m|h|d)?$", str(value)):
        return "is no HAProxy time: give a number with a unit (500ms, 2s, 1m)"
    return None


def _batch(value):
    """A count of hosts (1, 2, ...) or a percentage of them (1%-100%), as Ansible's serial takes."""
    match = re.match(r"^([1-9][0-9]*)(%?)$", str(value).strip())
    if not match or (match.group(2) and int(match.group(1)) > 100):
        return "is no batch size: give a number of hosts (1, 2) or a percentage of them (50%), at least 1"
    return None


def _env_dict(value):
    for key, item in value.items():
        if not isinstance(key, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            return "has a key that is no environment variable name (letters, digits, _): correct it"
        if isinstance(item, (dict, list)) or item is None:
            return f"has {key} with no plain value (a text or number): give one"
        if one_line(str(item)):
            return f"has {key} spanning several lines: an environment value must be one line"
    return None


_SERVICES = ("database", "redis", "rabbitmq", "proxy", "api", "worker", "background", "migrate", "frontend", "connector")


def _unknown_service(value):
    unknown = [key for key in value if key not in _SERVICES]
    return f"has {unknown[0]}, no service of the collection: use {', '.join(_SERVICES)}" if unknown else None


def _memory_sizes(value):
    if _unknown_service(value):
        return _unknown_service(value)
    for key, item in value.items():
        if not re.match(r"^([1-9][0-9]*[kmg]?)?$", str(item)):
            return f"has {key}: {item}, no memory size: give a number with k, m or g (512m, 2g), or \"\" for no limit"
    return None


def _capability_lists(value):
    if _unknown_service(value):
        return _unknown_service(value)
    for key, item in value.items():
        if not isinstance(item, list) or not all(isinstance(cap, str) and re.match(r"^(CAP_)?[A-Z_]+$", cap) for cap in item):
            return (f"has {key}: {item}, no list of capability names: give a list like [NET_BIND_SERVICE] "
                    "(upper case, as in capabilities(7))")
        if any(cap.removeprefix("CAP_") in ("ALL", "SYS_ADMIN") for cap in item):
            return f"has {key}: {item}: ALL and SYS_ADMIN are refused, name only the capabilities the image needs"
    return None


def _words(value):
    for item in value:
        if one_line(str(item)):
            return "holds an item with a line break or NUL: give one line per item"
    return None


CHECKS = {
    "port": (_port, "1-65535"),
    "positive": (_positive, "a whole number, at least 1"),
    "not_negative": (_not_negative, "a whole number, at least 0"),
    "secret": (_secret, "secret: not empty, one line, no leading or trailing spaces"),
    "optional_secret": (_optional_secret, "secret (may be empty): one line, no leading or trailing spaces"),
    "address": (_address, "an IPv4 address or host name, no port"),
    "bind": (_bind, "an IPv4 address"),
    "networks": (lambda v: next((p for p in map(_network, v) if p), None), "IPv4 addresses or networks (CIDR)"),
    "http_url": (lambda v: _url(v, schemes=["http", "https"], path=True), "an http(s) URL"),
    "root_url": (lambda v: _url(v, schemes=["http", "https"], path=False), "an http(s) URL without a path"),
    "public_url": (lambda v: _url(v, schemes=["https"], path=False, empty=True), "an https URL without a path"),
    "openid_url": (lambda v: _url(v, schemes=["http", "https"], path=True, empty=True), "an http(s) URL"),
    "controller_dir": (_controller_dir, "an existing directory on the controller"),
    "git_url": (_git_url, "a git URL without a password"),
    "controller_file": (_controller_file, "an existing file on the controller"),
    "pem_certificates": (_pem_certificates, "PEM certificates, not a path"),
    "pem_certificate": (_pem("certificate chain (PEM)"), "PEM text, not a path"),
    "memory_sizes": (_memory_sizes, "service name: memory size (512m, 2g) or \"\""),
    "capability_lists": (_capability_lists, "service name: list of capability names"),
    "pem_key": (_pem("private key (PEM)"), "PEM text, not a path"),
    "release": (_release, "an image tag like v3.0.0"),
    "image": (_image, "an image reference"),
    "identifier": (_identifier, "letters, digits and _"),
    "rabbit_name": (_rabbit_name, "letters, digits, _ . -"),
    "abs_path": (_abs_path, "an absolute path, no spaces"),
    "user_ids": (_user_ids, "numeric uid:gid, not root"),
    "environment": (_environment, "lower-case name, not local_development or unit_testing"),
    "duration": (_duration, "a time like 2s or 500ms"),
    "batch": (_batch, "a number of hosts (1) or a percentage of them (50%)"),
    "env": (_env_dict, "NAME: one-line value"),
    "lines": (_words, "one line per item"),
}


def check(name, value):
    """Apply the check `name` to `value`: None, or what is wrong."""
    return CHECKS[name][0](value)


def doc(name):
    """The check's short description, for the README."""
    return CHECKS[name][1]


# The check of each option (ansible-lint's schema of meta/argument_specs.yml
# allows no key of our own there, so the names live here, beside the checks).
OPTION_CHECKS = {
    "spiff_backend_bind_address": "bind",
    "spiff_backend_environment": "environment",
    "spiff_backend_server_workers": "positive",
    "spiff_backend_worker_concurrency": "positive",
    "spiff_backend_worker_batch": "batch",
    "spiff_backend_session_secret": "secret",
    "spiff_backend_encryption_key": "secret",
    "spiff_backend_process_models_src": "controller_dir",
    "spiff_backend_process_models_git_url": "git_url",
    "spiff_backend_process_models_git_ssh_key": "pem_key",
    "spiff_backend_openid_server_url": "openid_url",
    "spiff_backend_openid_client_secret": "optional_secret",
    "spiff_backend_openid_admin_password": "secret",
    "spiff_backend_openid_signing_key": "pem_key",
    "spiff_backend_permissions_file": "controller_file",
    "spiff_backend_admin_users": "lines",
    "spiff_backend_admin_groups": "lines",
    "spiff_ca_certificates": "pem_certificates",
    "spiff_backend_migrate_command": "lines",
    "spiff_backend_migrate_timeout": "positive",
    "spiff_backend_user": "user_ids",
    "spiff_backend_extra_env": "env",
    "spiff_backend_extra_secret_env": "env",
    "spiff_backup_dir": "abs_path",
    "spiff_backup_keep": "positive",
    # spiff_backup_copy_dir: a controller directory or an absolute path on a host, by
    # spiff_backup_copy_to; checked by the rules (rules._backup_copy).
    "spiff_backup_copy_key": "optional_secret",
    "spiff_connector_bind_address": "bind",
    "spiff_connector_extra_env": "env",
    "spiff_connector_extra_secret_env": "env",
    "spiff_database_mysql_collation": "identifier",
    "spiff_database_bind_address": "bind",
    "spiff_database_data_dir": "abs_path",
    "spiff_database_allowed_networks": "networks",
    "spiff_database_extra_env": "env",
    "spiff_database_extra_secret_env": "env",
    "spiff_release": "release",
    "spiff_image_registry": "image",
    "spiff_image_registry_password": "optional_secret",
    "spiff_image_registry_ca": "pem_certificate",
    "spiff_container_memory": "memory_sizes",
    "spiff_container_cap_add": "capability_lists",
    "spiff_container_pids_limit": "not_negative",
    "spiff_backend_image": "image",
    "spiff_frontend_image": "image",
    "spiff_connector_image": "image",
    "spiff_proxy_image": "image",
    "spiff_image_archive_dir": "controller_dir",
    "spiff_firewall_allowed_networks": "networks",
    "spiff_config_dir": "abs_path",
    "spiff_data_dir": "abs_path",
    "spiff_backend_process_models_dir": "abs_path",
    "spiff_health_timeout": "positive",
    "spiff_private_address": "address",
    "spiff_database_name": "identifier",
    "spiff_database_user": "identifier",
    "spiff_database_password": "secret",
    "spiff_database_port": "port",
    "spiff_database_admin_password": "secret",
    "spiff_redis_port": "port",
    "spiff_rabbitmq_port": "port",
    "spiff_rabbitmq_user": "rabbit_name",
    "spiff_rabbitmq_vhost": "rabbit_name",
    "spiff_redis_password": "secret",
    "spiff_backend_port": "port",
    "spiff_frontend_port": "port",
    "spiff_connector_port": "port",
    "spiff_proxy_http_port": "port",
    "spiff_proxy_https_port": "port",
    "spiff_proxy_wait_timeout": "positive",
    "spiff_proxy_drain_timeout": "not_negative",
    "spiff_public_url": "public_url",
    "spiff_backend_url": "http_url",
    "spiff_frontend_url": "root_url",
    "spiff_connector_api_key": "secret",
    "spiff_frontend_bind_address": "bind",
    "spiff_frontend_extra_env": "env",
    "spiff_frontend_extra_secret_env": "env",
    "spiff_proxy_bind_address": "bind",
    "spiff_proxy_tls_certificate": "pem_certificate",
    "spiff_proxy_tls_key": "pem_key",
    "spiff_proxy_check_interval": "duration",
    "spiff_proxy_check_fall": "positive",
    "spiff_proxy_check_rise": "positive",
    "spiff_redis_bind_address": "bind",
    "spiff_redis_data_dir": "abs_path",
    "spiff_rabbitmq_data_dir": "abs_path",
    "spiff_redis_extra_env": "env",
    "spiff_redis_extra_secret_env": "env",
}
