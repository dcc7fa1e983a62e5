"""roles/proxy/tasks/tls.yml: the self-signed pair is made once, signed again
(same key) when it expires within spiff_proxy_tls_renew_days, left alone otherwise.

tests/unit/playbooks/proxy_tls.yml runs the task file on localhost into a
temporary secrets directory; a certificate about to expire is made here with
the pair's own key.
"""

import datetime
import pathlib
import re
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

REPO = pathlib.Path(__file__).resolve().parents[2]


def run(secrets, *extra):
    res = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "tests/unit/playbooks/proxy_tls.yml",
         "-e", f"test_secrets_dir={secrets}", *extra],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    return int(re.search(r"changed=(\d+)", out).group(1))


def cert(secrets):
    return x509.load_pem_x509_certificate((secrets / "proxy-tls.crt").read_bytes())


def days_left(c):
    return (c.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)).days


def expire_in(secrets, days):
    """Replace the certificate by one of the same key that expires in `days`."""
    key = serialization.load_pem_private_key((secrets / "proxy-tls.key").read_bytes(), None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "spiff.example.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    short = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=800))
             .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    (secrets / "proxy-tls.crt").write_bytes(short.public_bytes(serialization.Encoding.PEM))


def test_generated_once_then_left_alone(tmp_path):
    assert run(tmp_path) > 0
    first = (tmp_path / "proxy-tls.crt").read_bytes()
    assert 820 <= days_left(cert(tmp_path)) <= 825
    assert run(tmp_path) == 0
    assert (tmp_path / "proxy-tls.crt").read_bytes() == first


def test_renewed_with_the_same_key_when_it_expires_within_the_threshold(tmp_path):
    run(tmp_path)
    key = (tmp_path / "proxy-tls.key").read_bytes()
    expire_in(tmp_path, 10)
    assert run(tmp_path) > 0
    renewed = cert(tmp_path)
    assert 820 <= days_left(renewed) <= 825
    assert (tmp_path / "proxy-tls.key").read_bytes() == key
    assert renewed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "spiff.example.test"
    assert run(tmp_path) == 0  # and then idempotent


def test_kept_while_it_expires_after_the_threshold(tmp_path):
    run(tmp_path)
    expire_in(tmp_path, 60)
    before = (tmp_path / "proxy-tls.crt").read_bytes()
    assert run(tmp_path) == 0
    assert (tmp_path / "proxy-tls.crt").read_bytes() == before
    assert run(tmp_path, "-e", "spiff_proxy_tls_renew_days=90") > 0  # the threshold is the variable's
    assert days_left(cert(tmp_path)) >= 820


def test_a_due_renewal_changes_the_plan_fingerprint(tmp_path):
    """A site whose plan is recorded renders nothing; a certificate due for renewal makes it render."""
    import sys
    sys.path.insert(0, str(REPO / "collections"))
    from ansible_collections.spiff.arena.plugins.action.spiff_plan_fingerprint import renewal_due
    assert not renewal_due(tmp_path / "proxy-tls.crt", 30)  # absent
    run(tmp_path)
    crt = tmp_path / "proxy-tls.crt"
    assert not renewal_due(crt, 30)
    expire_in(tmp_path, 10)
    assert renewal_due(crt, 30) and not renewal_due(crt, 5)
