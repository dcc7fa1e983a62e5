"""Process models: read-only from git on two backend hosts, then editable on one.

Read-only (converge): md-1 and md-2 check out the commit branch main names in
git://md-1/models.git, mounted read-only, and the permissions deny every
write through the API. Editable: md-1 alone, a clone on branch main that the
backend commits every edit to and pushes. The tests run in file order.
"""

import hashlib
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import spiffcheck  # noqa: E402

testinfra_hosts = ["md-1"]
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
REPO = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
MODELS = "/var/lib/spiff/process_models"
PERMISSIONS = "/etc/spiff/backend-permissions.yml"
KEY_FILE = "/etc/spiff/backend-git-key"
BACKEND_UID = BACKEND_GID = 65532  # spiff_backend_user's default
WORK = "/root/models-work"
SECRETS = EPHEMERAL / "inventory" / ".secrets"
# What converge.yml sets (the sandbox's group_vars give a controller directory).
READ_ONLY = ["-e", "spiff_backend_process_models_git_url=git://md-1/models.git",
             "-e", "spiff_backend_process_models_git_version=main", "-e", "spiff_backend_process_models_src=",
             "-e", '{"spiff_backend_admin_users": ["admin@example.com"]}']
# A deploy key as the inventory gives it (the git daemon needs none: what is
# tested is where the collection keeps it).
DEPLOY_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAdeploykeyforthemodelsscenario0\n"
              "-----END OPENSSH PRIVATE KEY-----\n")
V2 = '<definitions id="m-v2"/>\n'
NEW_MODEL = '<definitions id="m2-v1"/>\n'
EDITED = '<definitions id="m-edited-in-the-browser"/>\n'


def site(inventory, *args):
    res = spiffcheck.run_playbook(inventory, REPO / "playbooks" / "site.yml", *args)
    assert res.returncode == 0, spiffcheck.failure(res)
    return res


def playbook(inventory, name, *args):
    return spiffcheck.run_playbook(inventory, REPO / "playbooks" / name, *args)


def put_file(host, api_host, model, name, content):
    url = spiffcheck.api_url(api_host, f"process-models/{model}/files/{name}")
    res = host.run(f"curl -sS -o /tmp/models.body -w '%{{http_code}}' -X PUT --data-binary {_quote(content)} {url}")
    assert res.rc == 0, res.stderr
    return int(res.stdout), host.check_output("cat /tmp/models.body")


def _quote(text):
    import shlex

    return shlex.quote(text)


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def both(host):
    return [host, host.get_host("docker://md-2")]


def head(vm):
    # Editable models are the backend user's: root's git asks to trust them.
    return vm.check_output(f"git -c safe.directory='*' -C {MODELS} rev-parse HEAD")


def remote_main(host):
    return host.check_output("git ls-remote git://md-1/models.git refs/heads/main").split()[0]


def start_instance(host, api_host, model, timeout=60):
    status, body = spiffcheck.http(host, spiffcheck.api_url(api_host, f"process-instances/{model}"), "POST", {})
    assert status == 201, (status, body)
    return spiffcheck.wait_for(lambda: _finished(host, api_host, body["id"]), timeout, f"instance {body['id']} of {model}")


def _finished(host, api_host, job_id):
    status, job = spiffcheck.http(host, spiffcheck.api_url(api_host, f"standin/jobs/{job_id}"))
    return job if status == 200 and job["status"] != "queued" else None


# ---------------------------------------------------------------- read-only


def test_read_only_models_are_the_same_commit_on_both_hosts_and_mounted_read_only(host):
    commit = remote_main(host)
    for vm in both(host):
        assert head(vm) == commit
        assert vm.file(f"{MODELS}/g/m/m.bpmn").content_string == '<definitions id="m-v1"/>\n'
        for unit in ("spiff-api", "spiff-worker"):
            refused = vm.run(f"podman exec {unit} touch /app/process_models/written-by-the-container")
            assert refused.rc != 0 and "Read-only file system" in refused.stderr, (vm, unit, refused.stderr)
        permissions = vm.file(PERMISSIONS)
        # It may hold built-in users' passwords: root's, read by the backend's group only.
        assert permissions.mode == 0o640 and permissions.user == "root" and permissions.gid == BACKEND_GID
        # Read-only models are root's; the backend (not root) reads them.
        assert vm.file(MODELS).uid == 0 and vm.file(MODELS).mode == 0o755
        assert vm.check_output("podman exec spiff-api id -u") == str(BACKEND_UID)
        assert "DENY:update" in permissions.content_string and "/process-models/*" in permissions.content_string
        env = vm.check_output("podman exec spiff-api printenv SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_ABSOLUTE_PATH")
        assert vm.check_output(f"podman exec spiff-api cat {env}") == permissions.content_string.rstrip("\n")
    assert not host.get_host("docker://md-2").file(f"{MODELS}/written-by-the-container").exists


def test_an_unchanged_run_changes_nothing(host):
    res = site(EPHEMERAL / "inventory", *READ_ONLY)
    assert spiffcheck.recap_changes(res.stdout) == 0, res.stdout[-3000:]


def test_an_edit_through_the_api_is_refused(host):
    before = host.get_host("docker://md-2").file(f"{MODELS}/g/m/m.bpmn").content_string
    for api_host in ("md-1", "md-2"):
        status, body = put_file(host, api_host, "g:m", "m.bpmn", EDITED)
        assert status == 403 and "denied the requested action: update - /process-models/g:m/files/m.bpmn" in body, body
        status, body = spiffcheck.http(host, spiffcheck.api_url(api_host, "process-groups"), "POST", {"id": "new"})
        assert status == 403, body
        status, body = spiffcheck.http(host, spiffcheck.api_url(api_host, "process-models/g:m"))
        assert status == 200 and body["files"] == ["m.bpmn"], body  # reading stays allowed
    for vm in both(host):
        assert vm.file(f"{MODELS}/g/m/m.bpmn").content_string == before


def test_moving_the_branch_puts_the_new_model_on_both_hosts(host):
    host.run_expect([0], f"cd {WORK} && mkdir -p g/m2 && printf '%s' {_quote(V2)} > g/m/m.bpmn"
                         f" && printf '%s' {_quote(NEW_MODEL)} > g/m2/m2.bpmn"
                         " && echo '{\"display_name\": \"Second\"}' > g/m2/process_model.json"
                         " && git add . && git -c user.name=test -c user.email=test@sandbox commit -qm 'second model'"
                         " && git push -q git://md-1/models.git main")
    commit = remote_main(host)
    plan = playbook(EPHEMERAL / "inventory", "plan.yml", *READ_ONLY)
    assert plan.returncode == 0, spiffcheck.failure(plan)
    for vm in ("md-1", "md-2"):  # the inventory did not change: the plan asked the repository
        assert any(line.split()[:4] == [vm, "process", "models", "apply"] and f"main is {commit[:12]}" in line
                   for line in plan.stdout.splitlines()), plan.stdout[-3000:]
    site(EPHEMERAL / "inventory", *READ_ONLY)
    for vm in both(host):
        assert head(vm) == commit
        assert vm.file(f"{MODELS}/g/m/m.bpmn").content_string == V2
        assert vm.file(f"{MODELS}/g/m2/m2.bpmn").content_string == NEW_MODEL


def test_an_instance_of_the_new_model_completes_on_the_other_hosts_worker(host):
    host.run_expect([0], "systemctl stop spiff-worker")  # only md-2's worker takes jobs
    try:
        job = start_instance(host, "md-1", "g:m2")
    finally:
        host.run_expect([0], "systemctl start spiff-worker")
    assert job["status"] == "done", job
    assert job["worker"] == "md-2" and job["result"]["model_sha256"] == sha(NEW_MODEL), job


def test_status_shows_one_revision_and_fails_when_a_host_differs(host):
    commit = remote_main(host)
    res = playbook(EPHEMERAL / "inventory", "status.yml")
    assert res.returncode == 0, spiffcheck.failure(res)
    rows = [line.split() for line in res.stdout.splitlines() if "process models" in line and "git" in line]
    assert sorted(r[0] for r in rows if r[0] in ("md-1", "md-2")) == ["md-1", "md-2"], res.stdout[-3000:]
    assert f"Process models: git {commit[:12]}" in res.stdout
    md2 = host.get_host("docker://md-2")
    md2.run_expect([0], f"echo changed-by-hand >> {MODELS}/g/m/m.bpmn")
    res = playbook(EPHEMERAL / "inventory", "status.yml")
    assert res.returncode != 0
    flat = " ".join((res.stdout + res.stderr).split())
    assert "The process models differ between backend hosts" in flat and f"md-1: git {commit[:12]};" in flat, flat[-3000:]
    plan = playbook(EPHEMERAL / "inventory", "plan.yml", *READ_ONLY)
    assert any(line.split()[:4] == ["md-2", "process", "models", "apply"] and "files changed in" in line
               for line in plan.stdout.splitlines()), plan.stdout[-3000:]


# ----------------------------------------------------------------- editable


def editable_inventory():
    return spiffcheck.sandbox_inventory(
        EPHEMERAL / "editable", {g: ["md-1"] for g in ("spiff_database", "spiff_redis", "spiff_api", "spiff_worker",
                                                       "spiff_frontend", "spiff_connector")}, REPO,
        host_vars={"md-1": {"spiff_secrets_dir": str(SECRETS), "spiff_backend_process_models_src": "",
                            "spiff_backend_process_models_git_url": "git://md-1/models.git",
                            "spiff_backend_process_models_git_version": "main",
                            "spiff_backend_process_models_commit_on_save": True,
                            "spiff_backend_process_models_git_ssh_key": DEPLOY_KEY,
                            "spiff_backend_admin_users": ["admin@example.com"]}})


def test_editable_on_one_host_commits_an_edit_and_keeps_it(host):
    # md-1 becomes a site of its own (md-2 leaves it), its models a new clone.
    host.get_host("docker://md-2").run_expect([0], "systemctl stop spiff-api spiff-worker")
    host.run_expect([0], f"systemctl stop spiff-api spiff-worker spiff-background && rm -rf {MODELS}")
    res = site(editable_inventory())
    assert DEPLOY_KEY.splitlines()[1] not in res.stdout + res.stderr
    assert host.check_output(f"git -c safe.directory='*' -C {MODELS} rev-parse --abbrev-ref HEAD") == "main"
    # The backend's user owns the editable models, all of them (root cloned them).
    assert host.file(MODELS).uid == BACKEND_UID and host.file(MODELS).mode == 0o750
    assert host.run(f"find {MODELS} ! -uid {BACKEND_UID}").stdout == ""
    assert "DENY:" not in host.file(PERMISSIONS).content_string
    key = host.file(KEY_FILE)
    assert key.mode == 0o600 and key.uid == BACKEND_UID and key.content_string == DEPLOY_KEY
    assert host.check_output("podman exec spiff-api printenv SPIFFWORKFLOW_BACKEND_GIT_SSH_PRIVATE_KEY_PATH") == "/etc/spiff-git/key"
    assert DEPLOY_KEY.splitlines()[1] not in host.check_output(f"cat {MODELS}/.git/config")
    assert DEPLOY_KEY.splitlines()[1] not in host.check_output("ps -eo args")
    assert DEPLOY_KEY.splitlines()[1] not in host.check_output("cat /etc/spiff/*.env /etc/systemd/system/spiff-*.service")

    status, body = put_file(host, "md-1", "g:m", "m.bpmn", EDITED)
    assert status == 200, body
    assert host.file(f"{MODELS}/g/m/m.bpmn").content_string == EDITED
    assert host.check_output(f"git -c safe.directory='*' -C {MODELS} log -1 --format=%s") == "User: updated file m.bpmn of g:m"
    assert remote_main(host) == head(host)  # pushed to the repository
    job = start_instance(host, "md-1", "g:m")
    assert job["status"] == "done" and job["result"]["model_sha256"] == sha(EDITED), job

    committed = head(host)
    site(editable_inventory())
    assert host.file(f"{MODELS}/g/m/m.bpmn").content_string == EDITED and head(host) == committed


def test_a_site_whose_backend_ran_as_root_is_given_to_the_backends_user(host):
    # As a site deployed before spiff_backend_user: models, key directory (with
    # the lock root's backend left there) and files are root's.
    host.run_expect([0], f"chown -R root:root {MODELS} /etc/spiff/backend-openid {KEY_FILE}"
                         " && touch /etc/spiff/backend-openid/.lock")
    site(editable_inventory())
    assert host.run(f"find {MODELS} /etc/spiff/backend-openid {KEY_FILE} ! -uid {BACKEND_UID}").stdout == ""
    edited = '<definitions id="m-edited-after-the-upgrade"/>\n'
    status, body = put_file(host, "md-1", "g:m", "m.bpmn", edited)
    assert status == 200, body
    assert remote_main(host) == head(host)  # committed and pushed by the backend's user
    assert host.check_output(f"stat -c %u {MODELS}/.git/index") == str(BACKEND_UID)
    res = site(editable_inventory())
    assert spiffcheck.recap_changes(res.stdout) == 0, res.stdout[-3000:]
    assert put_file(host, "md-1", "g:m", "m.bpmn", EDITED)[0] == 200  # as the backup test expects it


def test_editable_models_are_backed_up_and_restored(host):
    inventory = editable_inventory()
    res = playbook(inventory, "backup.yml", "-e", "spiff_backup_name=models")
    assert res.returncode == 0, spiffcheck.failure(res)
    listed = host.check_output("tar -tzf /var/backups/spiff/models/process_models.tar.gz")
    assert "./g/m/m.bpmn" in listed and "./.git/HEAD" in listed
    committed = head(host)
    host.run_expect([0], f"rm -rf {MODELS}")
    res = playbook(inventory, "restore.yml", "-e", "spiff_restore_name=models", "-e", "spiff_restore_confirm=true")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert host.file(f"{MODELS}/g/m/m.bpmn").content_string == EDITED and head(host) == committed
    time.sleep(1)
    assert spiffcheck.http(host, spiffcheck.api_url("md-1", "process-models/g:m"))[0] == 200
