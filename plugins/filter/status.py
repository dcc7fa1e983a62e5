"""Turns what spiff.arena.spiff_status read on each host into one table and a list of problems."""

# Documented in status_report.yml beside this file (ansible-doc -t filter spiff.arena.status_report).

# The group that asks for each component; the migration is a one-shot task
# and Background is counted across the cluster instead.
EXPECTED = {
    "spiff_database": ("database",), "spiff_redis": ("redis", "rabbitmq"), "spiff_proxy": ("proxy",),
    "spiff_api": ("api",), "spiff_worker": ("worker",), "spiff_frontend": ("frontend",),
    "spiff_connector": ("connector",),
}
HEADER = ("HOST", "COMPONENT", "STATE", "HEALTH", "UPTIME", "IMAGE")


def _duration(seconds):
    if seconds is None:
        return "-"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


def status_report(results, groups):
    """{table, problems, background} for {host: spiff_status result} and the inventory's groups."""
    rows, problems, background, models = [], [], [], {}
    for host in sorted(results):
        result = results[host] or {}
        if result.get("unreachable") or result.get("failed") or "services" not in result:
            reason = (result.get("msg") or "no answer").splitlines()[0][:120]
            rows.append((host, "-", "unreachable", reason, "-", "-"))
            problems.append(f"{host} could not be read ({reason}): check that it is up and reachable.")
            continue
        seen = set()
        for svc in result["services"]:
            component = svc["component"]
            seen.add(component)
            state = svc["active"] if not svc.get("sub") or svc["sub"] == svc["active"] else f"{svc['active']}/{svc['sub']}"
            rows.append((host, component, state, svc["health"], _duration(svc.get("uptime")), svc["image"]))
            if not svc["healthy"]:
                problems.append(f"spiff-{component} on {host} is {state}, health: {svc['health']}. "
                                f"Look at: journalctl -u spiff-{component} on {host}.")
        for group, components in EXPECTED.items():
            if host in groups.get(group, []) and not seen.intersection(components):
                component = components[0]
                rows.append((host, component, "missing", "-", "-", "-"))
                problems.append(f"spiff-{component} is not on {host}, which is in {group}: run playbooks/site.yml.")
        background += [f"{host}/{name}" for name in result.get("background", [])]
        if result.get("models"):
            models[host] = result["models"]
            rows.append((host, "process models", result["models"], "-", "-", "-"))

    if len(background) != 1:
        where = ", ".join(background) or "nowhere"
        problems.append(
            f"{len(background)} Background schedulers are running ({where}); exactly one must run. "
            + ("Run playbooks/site.yml to start it on the elected host."
               if not background else
               "Stop every one not started by the collection's unit (spiff-background), or look at: "
               "journalctl -u spiff-background on each of those hosts."))

    if len(set(models.values())) > 1:
        problems.append(
            "The process models differ between backend hosts (" + "; ".join(f"{h}: {r}" for h, r in sorted(models.items()))
            + "): every API, worker and Background must run the same ones. Run playbooks/site.yml to put them in"
            " place again (read-only), or look at what changed them.")

    widths = [max(len(str(row[i])) for row in rows + [HEADER]) for i in range(len(HEADER))]
    table = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [HEADER] + rows]
    table.append(f"Background: {', '.join(background) or 'none'}")
    if models:
        table.append(f"Process models: {' / '.join(sorted(set(models.values())))}")
    return {"table": table, "problems": problems, "background": background, "models": models}


class FilterModule:
    """spiff.arena status filters."""

    def filters(self):
        return {"status_report": status_report}
