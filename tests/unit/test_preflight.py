"""roles/engine/tasks/preflight.yml and the plan's fingerprint action: a host on a platform the
collection does not know is refused, with the same message.

The preflight reads only gathered facts; tests/unit/playbooks/preflight.yml
sets them on localhost to what each case reports and runs the task file.
"""

import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SUPPORTED = ("Supported: Debian 12, 13 (OS family Debian, tested); Ubuntu 22.04, 24.04 "
             "(OS family Debian, written but not tested); RedHat/Rocky/AlmaLinux/CentOS/OracleLinux 9 "
             "(OS family RedHat, written but not tested).")


def preflight(os_family, distribution, version, major, tasks_from="preflight"):
    res = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "tests/unit/playbooks/preflight.yml", "-e", f"test_tasks_from={tasks_from}",
         "-e", f"test_os_family={os_family}", "-e", f"test_distribution={distribution}",
         "-e", f"test_version={version}", "-e", f"test_major={major}"],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    return res.returncode, " ".join((res.stdout + res.stderr).split())


@pytest.mark.parametrize("facts", [("Debian", "Debian", "12.7", "12"), ("Debian", "Debian", "13.1", "13"),
                                   ("Debian", "Ubuntu", "24.04", "24"), ("RedHat", "Rocky", "9.5", "9")],
                         ids=["debian12", "debian13", "ubuntu2404", "rocky9"])
@pytest.mark.parametrize("tasks_from", ["preflight", "fingerprint"])
def test_known_platform_passes(facts, tasks_from):
    rc, out = preflight(*facts, tasks_from=tasks_from)
    assert rc == 0, out
    assert f"preflight passed for {facts[1]} {facts[2]}" in out


@pytest.mark.parametrize("facts, reported", [
    (("Plan9", "Plan9", "4", "4"), 'localhost reports OS family "Plan9", distribution "Plan9 4"'),
    (("Debian", "Debian", "11.11", "11"), 'localhost reports OS family "Debian", distribution "Debian 11.11"'),
    (("Debian", "Ubuntu", "23.10", "23"), 'localhost reports OS family "Debian", distribution "Ubuntu 23.10"'),
    (("RedHat", "Fedora", "41", "41"), 'localhost reports OS family "RedHat", distribution "Fedora 41"'),
], ids=["unknown-family", "debian11", "ubuntu-non-lts", "fedora"])
@pytest.mark.parametrize("tasks_from", ["preflight", "fingerprint"])
def test_unknown_platform_is_refused_with_the_supported_list(facts, reported, tasks_from):
    rc, out = preflight(*facts, tasks_from=tasks_from)
    assert rc != 0
    assert f"{reported}, which spiff.arena does not support. {SUPPORTED}" in out
    assert "preflight passed" not in out
    assert "KeyError" not in out


def test_engine_install_stops_in_the_preflight_not_in_its_package_table():
    rc, out = preflight("Plan9", "Plan9", "4", "4", tasks_from="install")
    assert rc != 0
    assert 'localhost reports OS family "Plan9", distribution "Plan9 4", which spiff.arena does not support.' in out
    assert "Read which packages are installed" not in out
    assert "KeyError" not in out
