"""The plan: verdicts from what a host should have and what spiff_plan_read found there."""

import importlib.util
import json
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("plan", REPO / "plugins" / "module_utils" / "plan.py")
plan = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plan)

ENV = "/etc/spiff/api.env"
UNIT = "/etc/systemd/system/spiff-api.service"
ENV_TEXT = "# managed\nA=1\nSECRET=s3cret\n"
UNIT_TEXT = "[Service]\nExecStart=/usr/bin/podman run img\n"


def api_item(env_text=ENV_TEXT, unit_text=UNIT_TEXT, image="img:v1"):
    files = plan.plan_files([{"dest": ENV, "content": env_text, "mode": "0600"},
                             {"dest": UNIT, "content": unit_text, "mode": "0644"}], ENV)
    return {"component": "api", "name": "spiff-api", "files": files, "dirs": [{"path": "/var/lib/spiff", "mode": "0755"}],
            "unit": "spiff-api.service", "unit_file": UNIT, "images": [image], "marker": "/etc/spiff/api.out-of-pool",
            "restarts": True, "reload": False}


def observed(env_text=ENV_TEXT, unit_text=UNIT_TEXT, active="active", images=("img:v1",), marker=False):
    """What spiff_plan_read returns for a host deployed with these contents."""
    files = {}
    for dest, text, mode in ((ENV, env_text, 0o600), (UNIT, unit_text, 0o644)):
        if text is not None:
            files[dest] = {"sha": plan.plan_files([{"dest": dest, "content": text}])[0]["sha"], "mode": mode, "uid": 0, "gid": 0}
    return {"files": files, "env": {ENV: plan.env_digest(env_text)} if env_text is not None else {},
            "dirs": {"/var/lib/spiff": {"mode": 0o755, "uid": 0, "gid": 0}},
            "exists": {"/etc/spiff/api.out-of-pool": marker},
            "units": {"spiff-api.service": {"enabled": "enabled" if unit_text else "not-found", "active": active}},
            "images": {i: "sha256:1" for i in images}, "containers": {}, "trees": {}}


def verdict(item, seen):
    [v] = plan.plan_verdicts([item], seen, "h1")
    return v


def test_unchanged_host_gives_no_action():
    v = verdict(api_item(), observed())
    assert v == {"host": "h1", "component": "api", "name": "spiff-api", "action": "none", "reasons": []}


def test_changed_setting_names_the_key_never_the_value():
    v = verdict(api_item(env_text="# managed\nA=2\nSECRET=s3cret\n"), observed())
    assert v["action"] == "restart"
    assert v["reasons"] == ["api.env: A"]
    assert "s3cret" not in str(v) and "=2" not in str(v)


def test_new_service_starts_and_missing_image_restarts():
    assert verdict(api_item(), observed(env_text=None, unit_text=None))["action"] == "start (new)"
    v = verdict(api_item(image="img:v2"), observed())
    assert v["action"] == "restart" and v["reasons"] == ["image img:v2 not on the host"]


def test_stopped_unit_and_replica_out_of_pool_are_found():
    assert verdict(api_item(), observed(active="failed"))["action"] == "start"
    v = verdict(api_item(), observed(marker=True))
    assert v["action"] == "update" and v["reasons"] == ["held out of the proxies' pool"]


def test_mode_drift_and_leftovers():
    seen = observed()
    seen["files"][ENV]["mode"] = 0o644
    assert verdict(api_item(), seen)["reasons"] == ["mode or owner of " + ENV]
    gone = {"component": "workers", "name": "spiff-background", "state": "absent",
            "absent": ["/etc/systemd/system/spiff-background.service"], "container": "spiff-background"}
    assert verdict(gone, observed())["action"] == "none"
    seen = observed()
    seen["exists"]["/etc/systemd/system/spiff-background.service"] = True
    assert verdict(gone, seen)["action"] == "remove"


def test_request_reads_each_thing_once_and_table_counts():
    items = [api_item(), api_item()]
    req = plan.plan_request(items, "/usr/bin/docker")
    assert req["files"] == [ENV, UNIT] and req["env_files"] == [ENV] and req["units"] == ["spiff-api.service"]
    assert req["images"] == ["img:v1"] and req["engine"] == "/usr/bin/docker"
    verdicts = plan.plan_verdicts([api_item(env_text="A=3\n")], observed(), "h1") + plan.plan_verdicts([api_item()], observed(), "h2")
    table = plan.plan_table(verdicts)
    assert "h1    spiff-api  restart  api.env: A, SECRET" in table.splitlines()
    assert "h2" not in table.replace("on 2 hosts", "")
    assert table.endswith("1 of 2 items on 2 hosts to change, 1 unchanged")


def test_bench_reads_the_plan_table_and_the_restarts():
    """bench/run.py's one-change figures come from these two parsers: a wrong one would hide a wrong plan."""
    import sys
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO / "molecule" / "shared"))
    import run as bench  # noqa: E402

    table = plan.plan_table([
        {"host": "b2", "component": "api", "name": "spiff-api", "action": "restart", "reasons": ["api.env: X"]},
        {"host": "b2", "component": "supply", "name": "engine and images", "action": "apply", "reasons": ["missing /x"]},
        {"host": "b3", "component": "backup", "name": "spiff-backup.timer", "action": "none", "reasons": []}])
    output = "TASK [spiff.arena.engine : Print the plan] ***\nok: [b1] =>\n    msg: |-\n" + \
        "\n".join("        " + line for line in table.splitlines()) + "\n\nTASK [next] ***\n"
    assert bench.planned(output) == {("b2", "spiff-api"), ("b2", "engine and images")}
    run = ("TASK [spiff.arena.engine : Restart, because its image, environment, unit or files changed, spiff-api] ***\n"
           "skipping: [b2]\nchanged: [b3]\n"
           "TASK [spiff.arena.engine : Wait for the health of spiff-api] ***\nchanged: [b2]\n"
           "TASK [spiff.arena.engine : Enable and start spiff-worker] ***\nok: [b2]\nchanged: [b4]\n")
    assert bench.restarted(run) == {("b3", "spiff-api"), ("b4", "spiff-worker")}


class FakeEngine:
    """Answers the engine commands spiff_plan_read runs, like podman does: an image inspect
    of several names prints the ids of those present and fails when one is missing."""

    def __init__(self, images, containers):
        self.images, self.containers, self.calls = images, containers, []

    def run_command(self, args):
        self.calls.append(args)
        if args[1:3] == ["image", "inspect"]:
            names = args[args.index("--") + 1:]
            ids = [self.images[n] for n in names if n in self.images]
            return (0 if len(ids) == len(names) else 125), "\n".join(ids) + "\n", ""
        if args[1:3] == ["container", "ls"]:
            return 0, "".join(f"{name}\n" for name in self.containers), ""
        raise AssertionError(args)


def read_module():
    import sys
    sys.path.insert(0, str(REPO / "collections"))
    from ansible_collections.spiff.arena.plugins.modules import spiff_plan_read
    return spiff_plan_read


def test_image_ids_one_call_when_all_present_each_when_one_is_missing():
    module = read_module()
    engine = FakeEngine({"a:1": "sha-a", "b:2": "sha-b"}, [])
    assert module.image_ids(engine, "/usr/bin/podman", ["a:1", "b:2"]) == {"a:1": "sha-a", "b:2": "sha-b"}
    assert len(engine.calls) == 1
    engine.calls.clear()
    assert module.image_ids(engine, "/usr/bin/podman", ["a:1", "c:3", "b:2"]) == {"a:1": "sha-a", "c:3": "", "b:2": "sha-b"}
    assert len(engine.calls) == 4


def test_private_ipv4_is_an_address_of_the_host_else_the_default_route(monkeypatch):
    module = read_module()
    facts = {"ansible_all_ipv4_addresses": ["203.0.113.7", "10.0.0.5", "172.17.0.1"],
             "ansible_default_ipv4": {"address": "203.0.113.7"}}
    names = {"node-a.internal": ["192.0.2.9", "10.0.0.5"], "nat.example.com": ["198.51.100.3"]}

    def getaddrinfo(name, *args):
        if name not in names:
            raise module.socket.gaierror(name)
        return [(2, 1, 6, "", (address, 0)) for address in names[name]]

    monkeypatch.setattr(module.socket, "getaddrinfo", getaddrinfo)
    assert module.private_ipv4("10.0.0.5", facts) == "10.0.0.5"
    assert module.private_ipv4("node-a.internal", facts) == "10.0.0.5"  # the host's own, not the first
    assert module.private_ipv4("198.51.100.3", facts) == "203.0.113.7"  # not the host's: binding it would fail
    assert module.private_ipv4("nat.example.com", facts) == "203.0.113.7"
    assert module.private_ipv4("unknown.example.com", facts) == "203.0.113.7"
    assert module.private_ipv4("", {}) == "127.0.0.1"


def test_container_names_lists_every_container_once():
    module = read_module()
    engine = FakeEngine({}, ["spiff-api", "spiff-worker"])
    assert module.container_names(engine, "/usr/bin/podman") == {"spiff-api", "spiff-worker"}
    assert len(engine.calls) == 1


def models_item(**extra):
    return dict({"component": "prepare", "name": "process models", "dirs": []}, **extra)


def test_read_only_models_from_a_directory_find_changed_and_extra_files():
    item = models_item(tree={"dir": "/m", "exact": True, "files": {"g/m/a.bpmn": "1", "g/m/process_model.json": "2"}})
    seen = observed()
    seen["trees"] = {"/m": {"g/m/a.bpmn": "1", "g/m/process_model.json": "2"}}
    assert verdict(item, seen)["action"] == "none"
    seen["trees"]["/m"]["g/m/b.bpmn"] = "3"
    assert verdict(item, seen)["reasons"] == ["1 files in /m are not in the source (g/m/b.bpmn)"]
    seen["trees"] = {"/m": {"g/m/a.bpmn": "9", "g/m/process_model.json": "2"}}
    assert verdict(item, seen)["reasons"] == ["1 of 2 files differ in /m (g/m/a.bpmn)"]
    # editable models (no exact) keep files the source does not have
    item["tree"]["exact"] = False
    seen["trees"]["/m"] = {"g/m/a.bpmn": "1", "g/m/process_model.json": "2", "g/new.json": "4"}
    assert verdict(item, seen)["action"] == "none"


def test_read_only_models_from_git_follow_the_ref():
    item = models_item(git={"dir": "/m", "url": "git://git/models.git", "version": "main", "key_file": ""})
    assert plan.plan_request([item])["gits"] == [item["git"]]
    seen = observed()
    seen["gits"] = {"/m": {"head": "a" * 40, "remote": "a" * 40, "problem": ""}}
    assert verdict(item, seen)["action"] == "none"
    seen["gits"]["/m"]["remote"] = "b" * 40
    v = verdict(item, seen)
    assert v["action"] == "apply" and v["reasons"] == ["/m is at aaaaaaaaaaaa, main is bbbbbbbbbbbb"]
    seen["gits"]["/m"] = {"head": "a" * 40, "remote": "a" * 40, "problem": "", "dirty": True}
    assert verdict(item, seen)["reasons"] == ["files changed in /m"]
    seen["gits"]["/m"] = {"head": "", "remote": "b" * 40, "problem": ""}
    assert verdict(item, seen)["reasons"] == ["no clone in /m"]
    seen["gits"]["/m"] = {"head": "a" * 40, "remote": "", "problem": "main names no branch or tag of git://git/models.git"}
    assert verdict(item, seen)["reasons"] == ["/m: main names no branch or tag of git://git/models.git"]


def test_git_remote_commit_reads_branches_and_peeled_tags(tmp_path):
    import subprocess

    repo = tmp_path / "r"
    run = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "f").write_text("1")
    run("add", "f")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    run("-c", "user.name=t", "-c", "user.email=t@t", "tag", "-a", "v1", "-m", "v1")
    head = run("rev-parse", "HEAD")
    assert plan.git_remote_commit(str(repo), "main") == (head, "")
    assert plan.git_remote_commit(str(repo), "v1") == (head, "")  # the commit, not the tag object
    assert plan.git_remote_commit(str(repo), "c" * 40) == ("c" * 40, "")
    assert plan.git_remote_commit(str(repo), "nope")[1] == f"nope names no branch or tag of {repo}"
    assert plan.git_head(str(repo)) == head and plan.git_head(str(tmp_path)) == ""
    assert not plan.git_dirty(str(repo))
    (repo / "f").write_text("2")
    assert plan.git_dirty(str(repo))


STAMP = "/var/lib/spiff/backend/migrated-image"


def migration_item():
    return {"component": "prepare", "name": "schema migration", "dirs": [{"path": "/var/lib/spiff", "mode": "0755"}],
            "stamp": {"path": STAMP, "image": "backend:v1"}}


def migration_seen(stamp, image_id):
    return {"dirs": {"/var/lib/spiff": {"mode": 0o755, "uid": 0, "gid": 0}},
            "stamps": {STAMP: stamp} if stamp is not None else {},
            "images": {"backend:v1": image_id}}


def test_migration_is_keyed_by_the_image_id_not_the_reference():
    assert verdict(migration_item(), migration_seen("sha256:aaa", "sha256:aaa"))["action"] == "none"
    v = verdict(migration_item(), migration_seen("sha256:aaa", "sha256:bbb"))  # same tag, loaded anew
    assert v["action"] == "apply" and v["reasons"] == [STAMP + " is for sha256:aaa, the image is sha256:bbb"], v
    # a stamp of the collection's earlier form (the reference) migrates once more
    assert verdict(migration_item(), migration_seen("backend:v1", "sha256:aaa"))["action"] == "apply"


def test_migration_planned_before_the_first_one_and_before_the_image_arrives():
    assert verdict(migration_item(), migration_seen(None, "sha256:aaa"))["reasons"] == [
        STAMP + " is for no image, the image is sha256:aaa"]
    assert verdict(migration_item(), migration_seen("sha256:aaa", ""))["reasons"] == ["image backend:v1 not on the host yet"]


def test_plan_request_reads_the_stamp_and_its_image():
    req = plan.plan_request([migration_item()])
    assert req["stamps"] == [STAMP] and req["images"] == ["backend:v1"]


# A tag pulled or loaded anew under the same reference: the container still
# runs the id it was created from, the reference names another one now.
OLD_ID = "sha256:0123456789ab" + "c" * 52
NEW_ID = "sha256:fedcba987654" + "d" * 52


def running_item(**extra):
    return dict(api_item(), container_image={"container": "spiff-api", "image": "img:v1"}, **extra)


def running_seen(container_id, image_id="sha256:1"):
    seen = observed()
    seen["images"] = {"img:v1": image_id}
    seen["container_images"] = {"spiff-api": container_id} if container_id else {}
    return seen


def test_service_restarts_when_its_image_has_another_id_under_the_same_reference():
    assert verdict(running_item(), running_seen(NEW_ID, NEW_ID))["action"] == "none"
    v = verdict(running_item(), running_seen(OLD_ID, NEW_ID))
    assert v["action"] == "restart" and v["reasons"] == ["image img:v1: 0123456789ab -> fedcba987654"], v
    # podman prints ids without the sha256: prefix
    v = verdict(running_item(), running_seen(OLD_ID[7:], NEW_ID[7:]))
    assert v["reasons"] == ["image img:v1: 0123456789ab -> fedcba987654"], v


def test_image_id_reason_beside_others_and_never_a_reload():
    v = verdict(dict(running_item(), files=api_item(env_text="# managed\nA=2\nSECRET=s3cret\n")["files"]),
                running_seen(OLD_ID, NEW_ID))
    assert v["action"] == "restart" and v["reasons"] == ["image img:v1: 0123456789ab -> fedcba987654", "api.env: A"]
    # a service whose file changes alone are reloaded (the proxy) restarts for a new image id
    seen = running_seen(OLD_ID, NEW_ID)
    assert verdict(running_item(reload=True), seen)["action"] == "restart"
    assert verdict(running_item(reload=True), running_seen(NEW_ID, NEW_ID))["action"] == "none"


def test_no_container_or_no_image_is_not_an_image_id_change():
    # a stopped unit has no container (--rm): its state is the reason, and the start runs the new id
    v = verdict(running_item(), dict(running_seen("", NEW_ID), units={"spiff-api.service": {"enabled": "enabled",
                                                                                            "active": "inactive"}}))
    assert v["action"] == "start" and v["reasons"] == ["spiff-api.service inactive"], v
    # the image gone: supplied again (and restarted), said once
    v = verdict(running_item(), running_seen(OLD_ID, ""))
    assert v["action"] == "restart" and v["reasons"] == ["image img:v1 not on the host"], v


def test_plan_request_reads_each_container_image_once():
    req = plan.plan_request([running_item(), running_item(), migration_item()], "/usr/bin/docker")
    assert req["container_images"] == ["spiff-api"]
    assert req["images"] == ["img:v1", "backend:v1"]


class FakeHost(FakeEngine):
    """FakeEngine with container inspect (docker's form: names start with '/'; a missing
    container is left out and fails the call) and systemctl show."""

    def run_command(self, args):
        self.calls.append(args)
        if args[1:3] == ["container", "inspect"]:
            names = args[args.index("--") + 1:]
            lines = [f"/{n} {self.containers[n]}" for n in names if n in self.containers]
            return (0 if len(lines) == len(names) else 1), "".join(line + "\n" for line in lines), ""
        if args[0] == "systemctl":
            return 0, "".join(f"Id={u}\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\n\n"
                              for u in args[args.index("--") + 1:]), ""
        return super().run_command(args)


def test_container_image_ids_one_call_missing_containers_left_out():
    module = read_module()
    engine = FakeHost({}, {"spiff-api": OLD_ID, "spiff-worker": NEW_ID[7:]})
    found = module.container_image_ids(engine, "/usr/bin/docker", ["spiff-api", "spiff-gone", "spiff-worker"])
    assert found == {"spiff-api": OLD_ID, "spiff-worker": NEW_ID[7:]} and len(engine.calls) == 1


def test_recorded_plan_restarts_a_service_whose_image_has_another_id(tmp_path):
    """The module's own path (a recorded plan read and compared on the host) gives the same verdict."""
    module = read_module()
    item = running_item()
    item["files"], item["dirs"], item["marker"] = [], [], ""
    record = tmp_path / "plan.json"
    record.write_text(json.dumps({"fingerprint": "f1", "resolved": [], "items": [item]}))
    fingerprint, items = module.recorded_plan(str(record), [])
    assert fingerprint == "f1"
    engine = FakeHost({"img:v1": NEW_ID}, {"spiff-api": OLD_ID})
    # any executable stands for the engine binary: FakeHost answers its commands
    seen = module.observe(engine, plan.plan_request(items, "/bin/sh"))
    [v] = plan.plan_verdicts(items, seen)
    assert v["action"] == "restart" and v["reasons"] == ["image img:v1: 0123456789ab -> fedcba987654"], v
    engine.containers["spiff-api"] = NEW_ID
    [v] = plan.plan_verdicts(items, module.observe(engine, plan.plan_request(items, "/bin/sh")))
    assert v["action"] == "none", v
