"""The address filters: hosts to private addresses, networks to the forms database rules take."""

import importlib.util
import pathlib
import sys

import pytest
from ansible.errors import AnsibleFilterError

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "collections"))  # the filter reads the guard's check (ansible_collections.spiff.arena)
_spec = importlib.util.spec_from_file_location("addresses", REPO / "plugins" / "filter" / "addresses.py")
addresses = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(addresses)


def test_mysql_hosts_one_address_plain_a_network_in_netmask_form():
    networks = ["10.0.0.5/32", "10.88.0.0/16", "192.0.2.7", "198.51.100.0/24", "172.16.0.0/12", "10.1.2.3/31"]
    assert addresses.networks_as(networks, "mysql") == [
        "10.0.0.5", "10.88.0.0/255.255.0.0", "192.0.2.7", "198.51.100.0/255.255.255.0", "172.16.0.0/255.240.0.0",
        "10.1.2.2/255.255.255.254"]


def test_host_bits_cleared_duplicates_dropped_order_kept():
    assert addresses.networks_as(["192.0.2.9/24", "10.0.0.5", "192.0.2.0/24", "10.0.0.5/32"], "mysql") == \
        ["192.0.2.0/255.255.255.0", "10.0.0.5"]
    assert addresses.networks_as(["192.0.2.9/24", "10.0.0.5", "10.0.0.5/32"], "cidr") == ["192.0.2.0/24", "10.0.0.5/32"]


def test_every_address_is_the_wildcard_for_mysql():
    # MariaDB ignores a zero netmask ('0.0.0.0/0.0.0.0' would admit no one): '%' says the same.
    assert addresses.networks_as(["0.0.0.0/0"], "mysql") == ["%"]
    assert addresses.networks_as(["0.0.0.0/0"], "cidr") == ["0.0.0.0/0"]


@pytest.mark.parametrize("bad", ["db.example.com", "fd00::/8", "10.0.0.256", "10.0.0.0/33", "10.0.0/24", "10.0.0.0/", "",
                                 "010.0.0.1", "10.001.0.7", "10.0.0.0/08", "10.0.0.0/+8"])
def test_anything_else_fails(bad):
    with pytest.raises(AnsibleFilterError, match="no IPv4 address or network"):
        addresses.networks_as([bad], "mysql")


def test_unknown_form_fails():
    with pytest.raises(AnsibleFilterError, match="unknown form"):
        addresses.networks_as(["10.0.0.5"], "pg")


@pytest.mark.parametrize("value", ["10.0.0.5", "10.0.0.0/24", "0.0.0.0/0", "255.255.255.255/32", "010.0.0.1/08", "0.0.0.0/00",
                                   "10.0.0.0/", "10.0.0.5/a", "١٠.0.0.1", "10.0.0.1/٣", " 10.0.0.1", "10.0.0.1 "])
def test_what_the_guard_passes_converts(value):
    """spiff_database_allowed_networks passes the guard's networks check only if both forms exist."""
    spec = importlib.util.spec_from_file_location("checks", REPO / "plugins" / "plugin_utils" / "checks.py")
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    assert checks.OPTION_CHECKS["spiff_database_allowed_networks"] == "networks"
    if checks.check("networks", [value]) is None:
        assert addresses.networks_as([value], "mysql") and addresses.networks_as([value], "cidr")
    else:
        with pytest.raises(AnsibleFilterError):
            addresses.networks_as([value], "mysql")
