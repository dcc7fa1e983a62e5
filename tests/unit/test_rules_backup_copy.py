"""The guard's rule for backup.yml's copy off the hosts (rules._backup_copy): to the controller
(an existing directory there) or to a host of the inventory (an absolute directory on it)."""

import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "collections"))  # rules reads the guard's checks (ansible_collections.spiff.arena)
from ansible_collections.spiff.arena.plugins.plugin_utils import rules  # noqa: E402

# bk-db: database; bk-app: API, worker and so Background; bk-out: in no group.
GROUPS = {"all": ["bk-db", "bk-app", "bk-out"], "ungrouped": ["bk-out"], "spiff_database": ["bk-db"],
          "spiff_redis": ["bk-db"], "spiff_api": ["bk-app"], "spiff_worker": ["bk-app"],
          "spiff_frontend": ["bk-app"], "spiff_connector": ["bk-app"]}


def problems(to, where="", key=""):
    """The copy's problems, as (host, variable, problem), when every host is given the same three."""
    values = {host: {"_groups": [g for g, hosts in GROUPS.items() if g.startswith("spiff_") and host in hosts],
                     "spiff_backup_copy_to": to, "spiff_backup_copy_dir": where, "spiff_backup_copy_key": key}
              for host in ("bk-db", "bk-app")}
    return [p for p in rules.check(values, GROUPS, {}) if p[1].startswith("spiff_backup_copy")]


@pytest.mark.parametrize("to,where", [("", ""), ("controller", "{tmp}"), ("bk-out", "/var/backups/offsite"),
                                      ("bk-out", "/")])
def test_good_copies_pass(tmp_path, to, where):
    assert problems(to, where.format(tmp=tmp_path), key="copy-key" if to else "") == []


def test_a_host_in_no_group_is_a_host_of_the_inventory():
    assert "bk-out" not in {h for g, hosts in GROUPS.items() if g.startswith("spiff_") for h in hosts}
    assert problems("bk-out", "/srv/copies") == []


@pytest.mark.parametrize("to,where,variable,words", [
    ("backup-server", "/srv/copies", "spiff_backup_copy_to",
     "(backup-server) is neither controller nor a host of the inventory: give controller, or the name of the host"),
    ("localhost", "/srv/copies", "spiff_backup_copy_to", "is neither controller nor a host of the inventory"),
    ("bk-out", "", "spiff_backup_copy_dir", "is empty but spiff_backup_copy_to is the host bk-out: give the absolute"),
    ("bk-out", "backups/offsite", "spiff_backup_copy_dir",
     "(backups/offsite) is no absolute path without spaces, and spiff_backup_copy_to is the host bk-out"),
    ("bk-out", "~/copies", "spiff_backup_copy_dir", "is no absolute path"),
    ("controller", "", "spiff_backup_copy_dir", "is empty but spiff_backup_copy_to is controller"),
    ("controller", "/nonexistent/copies", "spiff_backup_copy_dir",
     "(/nonexistent/copies) is no directory on the controller (the host Ansible runs on)"),
])
def test_bad_copies_are_refused_once_per_host_naming_the_variable(to, where, variable, words):
    found = problems(to, where)
    assert [(host, name) for host, name, _ in found] == [("bk-db", variable), ("bk-app", variable)], found
    assert all(words in problem for _, _, problem in found), found


@pytest.mark.parametrize("to,holder", [("bk-db", "bk-db"), ("bk-app", "bk-app")])
def test_a_copy_to_a_host_that_holds_a_part_is_refused_there(to, holder):
    found = problems(to, "/srv/copies")
    assert [(host, name) for host, name, _ in found] == [(holder, "spiff_backup_copy_to")], found
    assert "is a host that holds a part of the backup itself" in found[0][2]


@pytest.mark.parametrize("where,key,variable", [("/srv/copies", "", "spiff_backup_copy_dir"),
                                                ("", "copy-key", "spiff_backup_copy_key")])
def test_a_directory_or_key_without_a_target_is_refused(where, key, variable):
    found = problems("", where, key)
    assert {name for _, name, _ in found} == {variable}
    assert all("spiff_backup_copy_to is empty, so no backup is copied" in p for _, _, p in found)


def test_no_problem_quotes_the_key():
    for to, where in (("", ""), ("nowhere", ""), ("bk-out", "rel")):
        assert not any("copy-key-secret" in p for _, _, p in problems(to, where, key="copy-key-secret"))
