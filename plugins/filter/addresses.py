"""Filters that turn inventory hosts into the addresses other hosts use."""

DOCUMENTATION_PRIVATE_ADDRESSES = """
name: private_addresses
short_description: The address other hosts reach each host at.
description:
  - For each host name, its C(spiff_private_address), else its C(ansible_host),
    else the inventory name itself; duplicates removed, order kept.
"""


def private_addresses(hosts, hostvars):
    """Return the private address of each host, in order, without duplicates."""
    out = []
    for host in hosts:
        vars_ = hostvars[host] if host in hostvars else {}
        address = vars_.get("spiff_private_address") or vars_.get("ansible_host") or host
        if address not in out:
            out.append(address)
    return out


class FilterModule:
    """spiff.arena address filters."""

    def filters(self):
        return {"private_addresses": private_addresses}
