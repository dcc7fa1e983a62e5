"""Whether the collection supports a host's platform, from its gathered facts."""

# Documented in platform_refusal.yml beside this file (ansible-doc -t filter spiff.arena.platform_refusal).


def platform_refusal(facts, platforms, host):
    """'' when the facts name a platform of platforms, else the message that refuses the host."""
    facts = facts or {}
    found = {key: str(facts.get(key) or "") for key in
             ("os_family", "distribution", "distribution_version", "distribution_major_version")}
    candidates = [p for p in platforms if p["family"] == found["os_family"] and found["distribution"] in p["distributions"]]
    if found["os_family"] and any(found["distribution_version"] in p["releases"]
                                  or found["distribution_major_version"] in p["releases"] for p in candidates):
        return ""
    if found["os_family"]:
        reported = 'OS family "%s", distribution "%s %s"' % (
            found["os_family"], found["distribution"], found["distribution_version"])
    else:
        reported = "no OS facts (gather them first: gather_facts or ansible.builtin.setup)"
    supported = "; ".join("%s %s (OS family %s, %s)" % ("/".join(p["distributions"]), ", ".join(p["releases"]), p["family"],
                                                        "tested" if p["tested"] else "written but not tested")
                          for p in platforms)
    return "%s reports %s, which spiff.arena does not support. Supported: %s." % (host, reported, supported)


class FilterModule:
    """spiff.arena platform filter."""

    def filters(self):
        return {"platform_refusal": platform_refusal}
