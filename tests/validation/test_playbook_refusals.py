"""Playbooks that destroy refuse to start without an explicit confirmation.

The hosts are docker containers that do not exist, so contacting one would
show as UNREACHABLE: the refusal must come first, on the controller.
"""

import subprocess

import yaml

from test_guard import REPO, inventory


def run(tmp_path, playbook, *args):
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory()))
    res = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), f"playbooks/{playbook}",
         "-e", f"spiff_secrets_dir={tmp_path / 'secrets'}", *args],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    return res.returncode, res.stdout + res.stderr


def test_remove_refuses_without_confirmation_before_contacting_a_host(tmp_path):
    rc, out = run(tmp_path, "remove.yml", "-e", "spiff_remove_data=true")
    flat = " ".join(out.split())
    assert rc != 0
    assert "UNREACHABLE" not in out and out.count("PLAY [") == 1, out[-2500:]
    assert "-e spiff_remove_confirm=true" in flat and "Nothing was changed" in flat, out[-2500:]
    assert "node-a, node-b" in flat and "deletes their data directory" in flat, out[-2500:]


def test_remove_goes_on_when_confirmed(tmp_path):
    rc, out = run(tmp_path, "remove.yml", "-e", "spiff_remove_confirm=true")
    assert rc != 0  # the hosts do not exist: the removal play fails to reach them
    assert "PLAY [Remove Spiff Arena]" in out and "spiff_remove_confirm" not in out, out[-2500:]
