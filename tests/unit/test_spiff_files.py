"""plugins/modules/spiff_files.py: each file written atomically with its mode, only when it
differs; a secret's content never in the output (-vvv, --diff), another file's diff shown."""

import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def run(directory, text, *extra):
    res = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "tests/unit/playbooks/spiff_files.yml",
         "-e", f"test_dir={directory}", "-e", f"test_text={text}", *extra],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    return re.search(r"changed files: ([\w.,]*)", out).group(1).split(",") if "changed files: " in out else [], out


def mode(path):
    return path.stat().st_mode & 0o777


def test_written_with_modes_then_nothing_changes(tmp_path):
    changed, _ = run(tmp_path, "one")
    assert changed == ["unit.service", "app.conf", "app.env"]
    assert (tmp_path / "app.env").read_text() == "PASSWORD=secret-one\n"
    assert (mode(tmp_path / "unit.service"), mode(tmp_path / "app.conf"), mode(tmp_path / "app.env")) == \
        (0o644, 0o640, 0o600)
    assert run(tmp_path, "one")[0] == [""]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".spiff-files.")]  # no temporary file left


def test_a_mode_alone_is_put_back(tmp_path):
    run(tmp_path, "one")
    (tmp_path / "app.env").chmod(0o644)
    changed, _ = run(tmp_path, "one")
    assert changed == ["app.env"] and mode(tmp_path / "app.env") == 0o600


def test_check_mode_writes_nothing(tmp_path):
    run(tmp_path, "one")
    changed, _ = run(tmp_path, "two", "--check")
    assert changed == ["unit.service", "app.conf", "app.env"]
    assert (tmp_path / "app.env").read_text() == "PASSWORD=secret-one\n"


def test_secret_content_never_shown(tmp_path):
    run(tmp_path, "one")
    _, out = run(tmp_path, "two", "-vvv", "--diff")
    assert "secret-two" not in out and "secret-one" not in out
    assert "(secret content not shown" in out
    assert "+Description=two" in out and "-Description=one" in out  # the unit's diff is shown
