"""Every environment variable a role sets is in the managed list the guard checks.

A key a role sets but the list misses could be overridden silently through
spiff_<component>_extra_env; the README table is made from the same list.
"""

import pathlib

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
MANAGED = yaml.safe_load((REPO / "roles" / "engine" / "vars" / "main.yml").read_text())["_spiff_managed_env"]


def role_vars(role):
    return yaml.safe_load((REPO / "roles" / role / "vars" / "main.yml").read_text())


def keys(*dicts):
    return {key for d in dicts for key in (d or {})}


SET_BY_ROLES = {
    "backend": lambda v: keys(v["_spiff_backend_env"], v["_spiff_backend_secret_env"]),
    "frontend": lambda v: keys(v["_spiff_frontend_service"]["env"], v["_spiff_frontend_service"].get("secret_env")),
    "connector": lambda v: keys(v["_spiff_connector_service"]["env"], v["_spiff_connector_service"]["secret_env"]),
    "database": lambda v: keys(*(svc.get(part) for svc in v["_spiff_database_service"].values()
                                 for part in ("env", "secret_env"))),
    "redis": lambda v: keys(v["_spiff_redis_service"].get("env"), v["_spiff_redis_service"]["secret_env"]),
}


@pytest.mark.parametrize("role", sorted(SET_BY_ROLES))
def test_every_key_a_role_sets_is_managed(role):
    set_keys = SET_BY_ROLES[role](role_vars(role))
    assert set_keys, role
    assert set_keys <= set(MANAGED[role]), sorted(set_keys - set(MANAGED[role]))


def test_managed_components_have_extra_env_variables():
    for role in MANAGED:
        defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())
        assert defaults[f"spiff_{role}_extra_env"] == {} and defaults[f"spiff_{role}_extra_secret_env"] == {}
