"""The fingerprint action's sort (roles/engine/tasks/plan.yml): which hosts go on to the rest
of the plan (group spiff_plan_busy), and the verdicts the others keep from their record."""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.spiff.arena.plugins.action.spiff_plan_fingerprint import ActionModule  # noqa: E402

UNCHANGED = [{"component": "api", "name": "spiff-api", "action": "none", "reasons": []},
             {"component": "supply", "name": "engine and images", "action": "none", "reasons": []}]


def sort(verdicts, record="f1", fingerprint="f1", apply_unchanged=False):
    read = {"record_fingerprint": record, "verdicts": verdicts}
    return ActionModule._sort(fingerprint, {"_spiff_plan_read": read, "inventory_hostname": "app1"}, apply_unchanged)


def test_a_host_with_nothing_to_do_keeps_its_recorded_verdicts_and_stops():
    found = sort(UNCHANGED)
    assert found["busy"] is False and "add_group" not in found
    assert found["plan"] == [dict(v, host="app1") for v in UNCHANGED]


def test_a_verdict_to_act_on_makes_the_host_busy():
    drift = [UNCHANGED[0] | {"action": "restart", "reasons": ["unit inactive"]}, UNCHANGED[1]]
    found = sort(drift)
    assert found["busy"] is True and found["add_group"] == "spiff_plan_busy" and found["parent_groups"] == []
    assert found["plan"][0]["action"] == "restart" and found["plan"][0]["host"] == "app1"


def test_another_fingerprint_or_no_record_renders_the_plan():
    for record in ("f0", "", None):
        found = sort(UNCHANGED, record=record)
        assert found["busy"] is True and found["add_group"] == "spiff_plan_busy" and found["plan"] == [], record


def test_apply_unchanged_makes_every_host_busy_and_every_item_apply():
    for value in (True, "true", "yes"):  # as given on the command line (-e spiff_apply_unchanged=true)
        found = sort(UNCHANGED, apply_unchanged=value)
        assert found["busy"] is True and found["add_group"] == "spiff_plan_busy", value
        assert {(v["action"], tuple(v["reasons"])) for v in found["plan"]} == {("apply", ("spiff_apply_unchanged",))}
    for value in (False, "false", "no"):
        assert sort(UNCHANGED, apply_unchanged=value)["busy"] is False, value
