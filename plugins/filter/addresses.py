"""Filters that turn inventory hosts into the addresses other hosts use."""

# Documented in private_addresses.yml and networks_as.yml beside this file
# (ansible-doc -t filter spiff.arena.private_addresses).

from ansible.errors import AnsibleFilterError

from ansible_collections.spiff.arena.plugins.plugin_utils.checks import _network


def private_addresses(hosts, hostvars):
    """Return the private address of each host, in order, without duplicates."""
    out = []
    for host in hosts:
        vars_ = hostvars[host] if host in hostvars else {}
        address = vars_.get("spiff_private_address") or vars_.get("ansible_host") or host
        if address not in out:
            out.append(address)
    return out


def _ipv4_network(value):
    """(address, prefix) of an IPv4 address or network (a.b.c.d or a.b.c.d/n), host bits cleared;
    what the guard's check of spiff_database_allowed_networks accepts (checks._network)."""
    if _network(str(value)):
        raise AnsibleFilterError(f"networks_as: {value!r} is no IPv4 address or network (a.b.c.d or a.b.c.d/n)")
    address, slash, bits = str(value).partition("/")
    octets = address.split(".")
    prefix = int(bits) if slash else 32
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    number = 0
    for octet in octets:  # decimal: the check refused a leading zero
        number = (number << 8) | int(octet)
    return number & mask, prefix


def _dotted(number):
    return ".".join(str((number >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def networks_as(networks, form):
    """IPv4 addresses and networks in the form a server's access rules take, in order, without duplicates.

    form 'cidr': a.b.c.d/n (PostgreSQL's pg_hba.conf; an address alone gets /32);
    form 'mysql': the host part of a MySQL/MariaDB account: a.b.c.d for one address,
    a.b.c.d/m.m.m.m (netmask form, which MySQL 8 and MariaDB both read) for a
    network, '%' for 0.0.0.0/0 (every address: MariaDB ignores a zero netmask).
    """
    if form not in ("cidr", "mysql"):
        raise AnsibleFilterError(f"networks_as: unknown form {form!r} (cidr or mysql)")
    out = []
    for value in networks:
        number, prefix = _ipv4_network(value)
        if form == "cidr":
            text = f"{_dotted(number)}/{prefix}"
        elif prefix == 32:
            text = _dotted(number)
        elif prefix == 0:
            text = "%"
        else:
            text = f"{_dotted(number)}/{_dotted((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF)}"
        if text not in out:
            out.append(text)
    return out


class FilterModule:
    """spiff.arena address filters."""

    def filters(self):
        return {"private_addresses": private_addresses, "networks_as": networks_as}
