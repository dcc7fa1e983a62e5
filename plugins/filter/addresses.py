"""Filters that turn inventory hosts into the addresses other hosts use."""

# Documented in private_addresses.yml beside this file (ansible-doc -t filter spiff.arena.private_addresses).


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
