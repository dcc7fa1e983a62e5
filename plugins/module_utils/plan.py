# Copyright: the spiff.arena authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of playbooks/site.yml: what each host should have, against what it has.

Used on the controller (filters in plugins/filter/plan.py) and on the hosts
(module spiff_plan_read, which compares a recorded plan by itself).
Each item of the plan is one thing the collection deploys on a host (a
service, the engine and its images, the firewall, the backup timer, the
process models, the schema migration), described by checksums only:

    component  the play of site.yml that applies it (api, workers, database, ...)
    name       what the plan's table shows (spiff-api, images, firewall, ...)
    files      [{dest, sha, mode, owner, group, keys}]: keys, for an
               environment file, {KEY: checksum of the KEY=value line}
    dirs       [{path, mode, owner, group}]
    unit       a unit that must be enabled and active ('' for none);
               unit_file: its file (missing: the service is new)
    images     images that must be present
    absent     paths that must not exist; container: a container that must not
    exists     paths that must exist
    tree       {dir, files: {relative path: checksum}, exact}: files that must be
               there (exact: and no other file, .git left out)
    git        {dir, url, version, key_file}: a clone whose HEAD must be the
               commit the remote's version (branch, tag or commit) names now,
               with no file changed
    stamp      {path, image}: a file that must hold the id the host's image
               has under that reference (the schema migration's record)
    container_image
               {container, image}: a service's container, which (when it
               exists) must have been created from the id the host's image
               has under that reference now: an image pulled or loaded anew
               under the same tag restarts the service
    always     a reason to apply it whatever the host has ('' for none)
    state      present, or absent: then only absent and container count
    restarts   true for a long-running service: a change restarts it
    reload     true when a change of its files alone is applied by a reload

spiff.arena.plan_request turns the items into the arguments of the
spiff.arena.spiff_plan_read module (one call per host);
spiff.arena.plan_verdicts compares what it read with the items.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess


def _mode(value, default):
    value = default if value in (None, "") else value
    if isinstance(value, int):
        return value
    return int(str(value), 8)


def _owner(value):
    value = "root" if value in (None, "") else str(value)
    return 0 if value == "root" else int(value) if value.isdigit() else value


def env_digest_bytes(data):
    """{KEY: sha256 of the KEY=value line} of an environment file (comments and blank lines left out)."""
    keys = {}
    for raw in data.split(b"\n"):
        if not raw or raw.startswith(b"#") or b"=" not in raw:
            continue
        keys[raw.split(b"=", 1)[0].decode("utf-8", "replace")] = hashlib.sha256(raw).hexdigest()
    return keys


def env_digest(content):
    """env_digest_bytes of a text, as the plan renders it on the controller."""
    return env_digest_bytes(content.encode("utf-8"))


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digest(top):
    """{relative path: sha256} of every regular file under top (.git directories left out)."""
    found = {}
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = os.path.join(root, name)
            if os.path.isfile(path):
                found[os.path.relpath(path, top)] = file_sha256(path)
    return found


def git_remote_commit(url, version, key_file=""):
    """(commit, problem): the commit the remote's version (branch, tag or commit) names now."""
    if re.match(r"^[0-9a-f]{40}$", version or ""):
        return version, ""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    if key_file:
        env["GIT_SSH_COMMAND"] = ("ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=accept-new -i "
                                  + key_file)
    try:
        res = subprocess.run(["git", "ls-remote", "--", url, version, "refs/tags/%s^{}" % version],
                             capture_output=True, text=True, env=env, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", "git ls-remote failed: %s" % exc
    if res.returncode != 0:
        return "", "git ls-remote failed: " + (res.stderr.strip().splitlines() or ["exit %d" % res.returncode])[-1]
    refs = dict(reversed(line.split("\t", 1)) for line in res.stdout.splitlines() if "\t" in line)
    for ref in ("refs/tags/%s^{}" % version, "refs/heads/" + version, "refs/tags/" + version, version):
        if ref in refs:
            return refs[ref], ""
    return "", "%s names no branch or tag of %s" % (version, url)


def git_head(top):
    """The commit checked out in directory top, or ''."""
    if not os.path.isdir(os.path.join(top, ".git")):
        return ""
    res = subprocess.run(["git", "-c", "safe.directory=*", "-C", top, "rev-parse", "--verify", "-q", "HEAD"],
                         capture_output=True, text=True, check=False)
    return res.stdout.strip() if res.returncode == 0 else ""


def git_dirty(top):
    """Whether the work tree in top has changes or files git does not know."""
    res = subprocess.run(["git", "-c", "safe.directory=*", "-C", top, "status", "--porcelain"],
                         capture_output=True, text=True, check=False)
    return res.returncode != 0 or bool(res.stdout.strip())


def git_state(git):
    """{head, remote, problem, dirty} of one git item of the plan."""
    remote, problem = git_remote_commit(git["url"], git["version"], git.get("key_file", ""))
    head = git_head(git["dir"])
    return {"head": head, "remote": remote, "problem": problem, "dirty": bool(head) and git_dirty(git["dir"])}


def plan_files(files, env_file=""):
    """Plan entries ({dest, sha, mode, owner, group, keys}) of files given with their content."""
    out = []
    for f in files:
        content = f["content"]
        entry = {"dest": f["dest"], "sha": hashlib.sha256(content.encode("utf-8")).hexdigest(),
                 "mode": f.get("mode", "0640"), "owner": f.get("owner", "root"), "group": f.get("group", "root")}
        if f["dest"] == env_file:
            entry["keys"] = env_digest(content)
        out.append(entry)
    return out


def plan_request(items, engine="/usr/bin/podman"):
    """The spiff_plan_read arguments that read everything the items name."""
    req = {"files": [], "env_files": [], "dirs": [], "exists": [], "units": [], "images": [],
           "containers": [], "container_images": [], "trees": [], "gits": [], "stamps": [], "engine": engine}

    def add(key, value):
        if value and value not in req[key]:
            req[key].append(value)

    for item in items:
        for f in item.get("files", []):
            add("files", f["dest"])
            if f.get("keys") is not None:
                add("env_files", f["dest"])
        for d in item.get("dirs", []):
            add("dirs", d["path"])
        for path in list(item.get("absent", [])) + list(item.get("exists", [])) + [item.get("marker", "")]:
            add("exists", path)
        add("units", item.get("unit", ""))
        for image in item.get("images", []):
            add("images", image)
        add("containers", item.get("container", ""))
        if item.get("stamp"):
            add("stamps", item["stamp"]["path"])
            add("images", item["stamp"]["image"])
        if item.get("container_image"):
            add("container_images", item["container_image"]["container"])
            add("images", item["container_image"]["image"])
        if item.get("tree"):
            add("trees", item["tree"]["dir"])
        if item.get("git"):
            add("gits", item["git"])
    return req


def _file_reasons(f, seen, env):
    dest = f["dest"]
    if dest not in seen:
        return ["missing " + dest]
    have = seen[dest]
    reasons = []
    if have["sha"] != f["sha"]:
        if f.get("keys") is not None and dest in env:
            old, new = env[dest], f["keys"]
            keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            reasons.append(dest.rsplit("/", 1)[-1] + ": " + (", ".join(keys) if keys else "layout"))
        else:
            reasons.append("content of " + dest)
    want = (_mode(f.get("mode"), "0640"), _owner(f.get("owner")), _owner(f.get("group")))
    if (have["mode"], have["uid"], have["gid"]) != want and (have["mode"], str(have["uid"]), str(have["gid"])) != want:
        reasons.append("mode or owner of " + dest)
    return reasons


# What spiff_plan_read observes, by kind: one {key: value} dict each, which
# plan_verdicts reads (the module builds its result from the same list).
OBSERVED = ("files", "env", "dirs", "exists", "units", "images", "containers", "container_images", "trees", "gits",
            "stamps")


def short_id(image_id):
    """An image id as the engines print it short: 12 hex digits, without 'sha256:'."""
    return (image_id or "").split(":", 1)[-1][:12]


def _verdict(item, seen):
    reasons, restart = [], []
    absent = [p for p in item.get("absent", []) if seen["exists"].get(p)]
    if item.get("container") and seen["containers"].get(item["container"]):
        absent.append("container " + item["container"])
    if absent:
        reasons.append("left over: " + ", ".join(absent))
    for p in item.get("exists", []):
        if not seen["exists"].get(p):
            reasons.append("missing " + p)
    for image in item.get("images", []):
        if image and not seen["images"].get(image):
            restart.append("image " + image + " not on the host")
    running = item.get("container_image")
    if running:
        # The container was created from one id; the reference names another
        # now (a tag pulled or loaded anew): the service runs the old image
        # until it is restarted. No container (a stopped unit) is the unit
        # state's reason, below.
        was = seen["container_images"].get(running["container"], "")
        now = seen["images"].get(running["image"], "")
        if was and now and was != now:
            restart.append("image %s: %s -> %s" % (running["image"], short_id(was), short_id(now)))
    for f in item.get("files", []):
        found = _file_reasons(f, seen["files"], seen["env"])
        # A service's files are its unit, its environment and its own files:
        # any change of them restarts it (or reloads it, see reload).
        (restart if item.get("restarts") else reasons).extend(found)
    for d in item.get("dirs", []):
        have = seen["dirs"].get(d["path"])
        want = (_mode(d.get("mode"), "0750"), _owner(d.get("owner")), _owner(d.get("group")))
        if have is None:
            reasons.append("missing " + d["path"])
        elif (have["mode"], have["uid"], have["gid"]) != want and (have["mode"], str(have["uid"]), str(have["gid"])) != want:
            reasons.append("mode or owner of " + d["path"])
    unit = item.get("unit")
    if unit:
        state = seen["units"].get(unit, {"enabled": "not-found", "active": "inactive"})
        if state["enabled"] != "enabled":
            reasons.append(unit + " " + (state["enabled"] or "not enabled"))
        if state["active"] != "active":
            reasons.append(unit + " " + (state["active"] or "not active"))
    if item.get("marker") and seen["exists"].get(item["marker"]):
        reasons.append("held out of the proxies' pool")
    if item.get("always"):
        reasons.append(item["always"])
    stamp = item.get("stamp")
    if stamp:
        # A file naming the image id something was done for (the schema
        # migration): done again when the host's image under that reference
        # has another id, even with the same tag.
        image_id = seen["images"].get(stamp["image"], "")
        have = seen["stamps"].get(stamp["path"], "")
        if not image_id:
            reasons.append("image " + stamp["image"] + " not on the host yet")
        elif have != image_id:
            reasons.append("%s is for %s, the image is %s" % (stamp["path"], (have or "no image")[:19], image_id[:19]))
    tree = item.get("tree")
    git = item.get("git")
    if git:
        have = seen["gits"].get(git["dir"]) or {}
        if have.get("problem"):
            reasons.append("%s: %s" % (git["dir"], have["problem"]))
        elif not have.get("head"):
            reasons.append("no clone in " + git["dir"])
        elif have["head"] != have.get("remote"):
            reasons.append("%s is at %s, %s is %s" % (git["dir"], have["head"][:12], git["version"],
                                                      (have.get("remote") or "?")[:12]))
        if have.get("dirty"):
            reasons.append("files changed in " + git["dir"])
    if tree:
        have = seen["trees"].get(tree["dir"], {})
        differ = sorted(rel for rel, sha in tree["files"].items() if have.get(rel) != sha)
        extra = sorted(set(have) - set(tree["files"])) if tree.get("exact") else []
        if extra:
            reasons.append("%d files in %s are not in the source (%s)" % (
                len(extra), tree["dir"], ", ".join(extra[:3]) + (", ..." if len(extra) > 3 else "")))
        if differ:
            reasons.append("%d of %d files differ in %s (%s)" % (len(differ), len(tree["files"]), tree["dir"],
                                                                 ", ".join(differ[:3]) + (", ..." if len(differ) > 3 else "")))
    return reasons, restart


def plan_verdicts(items, observed, host=""):
    """One verdict per item: {host, component, name, action, reasons}; action 'none' when unchanged."""
    seen = {key: observed.get(key) or {} for key in OBSERVED}
    verdicts = []
    for item in items:
        reasons, restart = _verdict(item, seen)
        action = "none"
        if item.get("state", "present") == "absent":
            action = "remove" if reasons else "none"
        elif item.get("restarts"):
            if "missing " + item.get("unit_file", "") in restart:
                action = "start (new)"
            elif restart:
                only_files = all(r.startswith("content of ") for r in restart)
                action = "reload" if item.get("reload") and only_files else "restart"
            elif any(r.endswith((" inactive", " failed", " activating", " deactivating")) for r in reasons):
                action = "start"
            elif reasons:
                action = "update"
        elif reasons or restart:
            action = "apply"
        verdicts.append({"host": host, "component": item["component"], "name": item["name"],
                         "action": action, "reasons": restart + reasons})
    return verdicts


def plan_table(verdicts, show_unchanged=False):
    """The plan as one text table: host, what, action, why (unchanged items summed up)."""
    rows = [v for v in verdicts if show_unchanged or v["action"] != "none"]
    header = ("host", "what", "action", "why")
    cells = [header] + [(v["host"], v["name"], v["action"], "; ".join(v["reasons"]) or "-") for v in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(3)) + "  " + c[3] for c in cells]
    unchanged = len([v for v in verdicts if v["action"] == "none"])
    hosts = len({v["host"] for v in verdicts})
    changing = len(verdicts) - unchanged
    lines.append("%d of %d items on %d hosts to change, %d unchanged" % (changing, len(verdicts), hosts, unchanged))
    return "\n".join(line.rstrip() for line in lines)
