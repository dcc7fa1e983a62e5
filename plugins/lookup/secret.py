# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets of a Spiff Arena cluster, generated once on the controller."""

DOCUMENTATION = """
name: secret
author: spiff.arena developers (!UNKNOWN)
short_description: A secret of the cluster, generated once on the controller and reused.
description:
  - Returns the content of the file I(name) in O(dir). When the file does not
    exist it is created first with a random value of O(length) letters and
    digits, mode 0600, in a directory of mode 0700. Creation is atomic, so
    parallel hosts always agree on one value.
  - With O(generate=false) a missing file is an error that names the variable
    C(spiff_<name>) to set instead.
options:
  _terms:
    description: Names of the secrets (file names in O(dir)).
    required: true
  dir:
    description:
      - Directory on the controller that keeps the secrets, an absolute path (C(~) is expanded).
      - A relative one is refused, as it would depend on where the run was started (C(None/.secrets) is what
        C({{ inventory_dir }}/.secrets) gives when the inventory is a host list).
    type: str
    required: true
  generate:
    description: Generate a missing secret; when false a missing one is an error.
    type: bool
    default: true
  length:
    description: Length of a generated secret.
    type: int
    default: 32
  kind:
    description:
      - C(password) generates O(length) letters and digits; C(rsa) an RSA private key of 2048 bits (PEM,
        PKCS8), for instance the key the backend's built-in OpenID provider signs with.
    type: str
    choices: [password, rsa]
    default: password
"""

EXAMPLES = """
spiff_database_password: "{{ lookup('spiff.arena.secret', 'database_password', dir=spiff_secrets_dir) }}"
spiff_backend_openid_signing_key: "{{ lookup('spiff.arena.secret', 'backend_openid_signing_key', dir=spiff_secrets_dir, kind='rsa') }}"
"""

RETURN = """
_raw:
  description: The secrets, one per name.
  type: list
  elements: str
"""

import os
import secrets
import string
import tempfile

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

ALPHABET = string.ascii_letters + string.digits


def _rsa_private_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def read_or_create(directory, name, generate=True, length=32, kind="password"):
    """Return the secret `name` kept in `directory`, creating it if allowed."""
    if not os.path.isabs(str(directory or "")):
        # A relative directory lands wherever ansible-playbook was started; "None/.secrets"
        # is the default's answer when the inventory is a host list (no inventory_dir).
        raise AnsibleError(
            f"spiff_secrets_dir is {directory!r}, not an absolute directory on the controller"
            + (" (the inventory is no file or directory, so inventory_dir is unset)"
               if str(directory).startswith("None") else "")
            + ": set spiff_secrets_dir to the absolute directory where this site's generated secrets are kept")
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        if not generate:
            raise AnsibleError(
                f"spiff_{name} is not set and spiff_generate_secrets is false: give spiff_{name} "
                f"(in Ansible Vault), or put the secret in {path}")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if kind == "rsa":
            value = _rsa_private_key().strip()
        else:
            value = "".join(secrets.choice(ALPHABET) for _position in range(length))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(value + "\n")
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # atomic: the first writer wins, the others read its value
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    with open(path, encoding="utf-8") as handle:
        value = handle.read().strip()
    if not value:
        raise AnsibleError(f"the secret file {path} is empty: remove it to generate a new one, or fill it")
    return value + "\n" if kind == "rsa" else value


class LookupModule(LookupBase):
    """Read or create cluster secrets."""

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        directory = os.path.expanduser(self.get_option("dir") or "")
        return [read_or_create(directory, name, self.get_option("generate"), self.get_option("length"),
                               self.get_option("kind"))
                for name in terms]
