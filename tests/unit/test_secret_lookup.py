"""spiff.arena.secret: generated once, kept private, the same for every caller."""

import importlib.util
import multiprocessing
import pathlib
import stat

import pytest
from ansible.errors import AnsibleError

SPEC = importlib.util.spec_from_file_location(
    "secret_lookup", pathlib.Path(__file__).parents[2] / "plugins" / "lookup" / "secret.py")
secret = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(secret)


def test_generates_once_and_reuses(tmp_path):
    first = secret.read_or_create(str(tmp_path / "s"), "database_password")
    again = secret.read_or_create(str(tmp_path / "s"), "database_password")
    assert first == again
    assert len(first) == 32 and first.isalnum()


def test_files_are_private(tmp_path):
    secret.read_or_create(str(tmp_path / "s"), "redis_password")
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "s" / "redis_password").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["redis_password"]  # no temp file left


def test_given_value_is_kept(tmp_path):
    (tmp_path / "key").write_text("from-the-operator\n")
    assert secret.read_or_create(str(tmp_path), "key") == "from-the-operator"


def test_missing_secret_without_generation_names_the_variable(tmp_path):
    with pytest.raises(AnsibleError, match="spiff_database_password is not set and spiff_generate_secrets is false"):
        secret.read_or_create(str(tmp_path), "database_password", generate=False)
    assert not (tmp_path / "database_password").exists()


def test_empty_file_is_an_error(tmp_path):
    (tmp_path / "key").write_text("\n")
    with pytest.raises(AnsibleError, match="is empty"):
        secret.read_or_create(str(tmp_path), "key")


def _create(directory):
    return secret.read_or_create(directory, "session_secret")


def test_parallel_callers_agree(tmp_path):
    with multiprocessing.get_context("fork").Pool(8) as pool:
        values = pool.map(_create, [str(tmp_path)] * 64)
    assert len(set(values)) == 1


def test_late_writer_does_not_replace_the_first_value(tmp_path, monkeypatch):
    # Both callers found no file (the race): the second must still return the first one's value.
    monkeypatch.setattr(secret.os.path, "exists", lambda path: False)
    first = secret.read_or_create(str(tmp_path), "session_secret")
    second = secret.read_or_create(str(tmp_path), "session_secret")
    assert first == second


def test_rsa_key_generated_once(tmp_path):
    from cryptography.hazmat.primitives import serialization

    first = secret.read_or_create(str(tmp_path), "backend_openid_signing_key", kind="rsa")
    assert first == secret.read_or_create(str(tmp_path), "backend_openid_signing_key", kind="rsa")
    assert first.startswith("-----BEGIN PRIVATE KEY-----\n") and first.endswith("-----END PRIVATE KEY-----\n")
    assert serialization.load_pem_private_key(first.encode(), password=None).key_size == 2048
    assert stat.S_IMODE((tmp_path / "backend_openid_signing_key").stat().st_mode) == 0o600


@pytest.mark.parametrize("directory", ["None/.secrets", ".secrets", "", None])
def test_a_directory_that_is_not_absolute_is_refused_before_anything_is_written(tmp_path, monkeypatch, directory):
    """With a host-list inventory (-i a,b,) the default {{ inventory_dir }}/.secrets is
    "None/.secrets": the secrets would land below wherever the run was started."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AnsibleError, match="spiff_secrets_dir is .*not an absolute directory on the controller.*set spiff_secrets_dir"):
        secret.read_or_create(directory, "database_password")
    assert list(tmp_path.iterdir()) == []
