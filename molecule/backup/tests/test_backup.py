"""Backup and restore with MySQL on its own host: data written before a backup comes back
after the database's data directory is destroyed, data written after it is gone, and the
process models of the backup replace the host's. The host firewall (spiff_firewall) lets
only the backend host reach the database, the broker and the connector."""

import hashlib
import io
import os
import pathlib
import re
import subprocess
import sys
import tarfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
import spiffcheck  # noqa: E402

testinfra_hosts = ["bk-app"]
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
REPO = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
BACKUPS = "/var/backups/spiff"
COPY_KEY = "copy-key-of-the-bk-site"  # spiff_backup_copy_key, given in a 0600 vars file
MODELS = "/var/lib/spiff/process_models"


def playbook(name, *args):
    return spiffcheck.run_playbook(EPHEMERAL / "inventory", REPO / "playbooks" / name,
                                   "-e", "spiff_database_type=mysql", "-e", "spiff_firewall=true", *args)


def task_results(output, task):
    """The result lines ("ok: [host]", "changed: [host]", ...) of every run of `task`."""
    results, inside = [], False
    for line in output.splitlines():
        if line.startswith("TASK ["):
            inside = line.startswith(f"TASK [{task}]")
        elif inside and re.match(r"^(ok|changed|skipping|fatal|failed): ", line):
            results.append(line.split(" =>")[0])
    return results


def copy_key_vars():
    """A 0600 vars file giving spiff_backup_copy_key, as a site keeps it (in Vault)."""
    key_vars = EPHEMERAL / "copy-key.yml"
    key_vars.touch(mode=0o600)
    key_vars.write_text(f"spiff_backup_copy_key: {COPY_KEY}\n")
    return key_vars


def decrypt(path, key):
    """openssl's decryption of the file `path` on the controller with `key`: the CompletedProcess (bytes)."""
    return subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-pass", "stdin", "-in", str(path)],
                          input=key.encode() + b"\n", capture_output=True)


def job_status(host, job_id):
    return spiffcheck.http(host, spiffcheck.api_url("bk-app", f"standin/jobs/{job_id}"))[0]


def reaches(vm, target, port):
    """Whether `vm` opens a TCP connection to target:port within 3 s (a dropped SYN times out)."""
    return vm.run(f"timeout 3 bash -c '</dev/tcp/{target}/{port}'").rc == 0


def test_firewall_lets_only_the_backend_host_in(host):
    db, out = host.get_host("docker://bk-db"), host.get_host("docker://bk-out")
    for port in (3306, 6379):  # MySQL, Redis on bk-db
        assert reaches(host, "bk-db", port), port
        assert not reaches(out, "bk-db", port), port
    assert not reaches(out, "bk-app", 7004) and not reaches(db, "bk-app", 7004)  # the connector
    assert reaches(out, "bk-app", 8001)  # the frontend's port is not the firewall's business
    for vm in (db, host):
        assert vm.service("spiff-firewall.service").is_enabled
        assert "not a Spiff Arena backend host" in vm.check_output("nft list table inet spiff_firewall")
    dropped = db.check_output("nft list table inet spiff_firewall")
    assert re.search(r"counter packets [1-9]\d* bytes \d+ drop", dropped), dropped


def address(vm):
    """The VM's address on the scenario's network."""
    return vm.check_output("ip -4 -o addr show dev eth0").split()[3].split("/")[0]


def test_mysql_admits_the_spiff_user_only_from_the_backend_host(host):
    db = host.get_host("docker://bk-db")
    sql = "SELECT host FROM mysql.user WHERE user = 'spiffworkflow'"
    accounts = db.check_output(f"echo \"{sql}\" | podman exec -i spiff-database"
                               " sh -c 'MYSQL_PWD=\"$MYSQL_ROOT_PASSWORD\" exec mysql --user=root -N'").split()
    # bk-app, as bk-db resolves it, and podman's network on bk-db (a backend container there).
    assert sorted(accounts) == sorted([address(host), "10.88.0.0/255.255.0.0"]), accounts
    # The password that lets bk-app in is refused from bk-db's own address, outside that list
    # (the host firewall leaves the host's own traffic alone). MySQL names the account it
    # looked for (the image's root@'%' matches any host, so the refusal is "Access denied",
    # not "Host ... is not allowed to connect").
    password = (EPHEMERAL / "inventory" / ".secrets" / "database_password").read_text().strip()
    login = "MYSQL_PWD=%s mysql --host=bk-db --user=spiffworkflow -Nse 'select current_user()' spiffworkflow"
    allowed = host.run(login, password)
    assert allowed.rc == 0 and allowed.stdout.strip() == f"spiffworkflow@{address(host)}", allowed
    refused = db.run(login.replace("bk-db", address(db)), password)
    assert refused.rc != 0 and f"Access denied for user 'spiffworkflow'@'{address(db)}'" in refused.stderr, refused


def test_timer_waits_on_both_backup_hosts(host):
    for vm in (host, host.get_host("docker://bk-db")):
        assert vm.service("spiff-backup.timer").is_running and vm.service("spiff-backup.timer").is_enabled
        assert "spiff-backup.timer" in vm.check_output("systemctl list-timers --all --no-legend")
        script = vm.file("/usr/local/sbin/spiff-backup")
        assert script.mode == 0o700 and script.user == "root"


def test_backup_destroy_restore(host):
    db = host.get_host("docker://bk-db")
    before = spiffcheck.run_job(host, "bk-app", "written before the backup")
    host.run_expect([0], f"mkdir -p {MODELS}/restore-check && echo before > {MODELS}/restore-check/model.json")

    copies = EPHEMERAL / "copies"
    copies.mkdir(exist_ok=True)
    # -vvv: the key must stay out of even the most verbose output.
    res = playbook("backup.yml", "-e", "spiff_backup_name=before", "-e", "spiff_backup_copy_to=controller",
                   "-e", f"spiff_backup_copy_dir={copies}", "-e", f"@{copy_key_vars()}", "-vvv")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert COPY_KEY not in res.stdout + res.stderr
    dump = db.file(f"{BACKUPS}/before/database.sql")
    models = host.file(f"{BACKUPS}/before/process_models.tar.gz")
    assert dump.exists and models.exists
    assert "CREATE TABLE `standin_job`" in db.check_output(f"cat {BACKUPS}/before/database.sql")
    assert "./restore-check/model.json" in host.check_output(f"tar -tzf {BACKUPS}/before/process_models.tar.gz")
    for vm in (host, db):  # nothing in the backups is readable by others
        assert vm.file(BACKUPS).mode == 0o700
        assert vm.check_output(f"find {BACKUPS} -perm /o=rwx -o -perm /g=rwx") == ""
        assert vm.check_output(f"find {BACKUPS} -type f ! -user root") == ""

    # The copy on the controller: one encrypted tar per host, with its checksum; not readable
    # without the key. The key is in no file or unit on the hosts.
    for vm, name in ((db, "bk-db"), (host, "bk-app")):
        sealed = copies / "before" / f"{name}.tar.enc"
        data = sealed.read_bytes()
        assert data.startswith(b"Salted__") and b"CREATE TABLE" not in data and b"ustar" not in data
        assert (sealed.stat().st_mode & 0o077) == 0
        assert (copies / "before" / f"{name}.tar.enc.sha256").read_text() == \
            f"{hashlib.sha256(data).hexdigest()}  {name}.tar.enc\n"
        assert vm.run(f"grep -rlF {COPY_KEY} /etc /usr/local/sbin /var/backups /root /tmp").stdout == ""
        assert vm.check_output(f"ls -A {BACKUPS}").split().count(".copy-before.tar") == 0
    wrong = decrypt(copies / "before" / "bk-db.tar.enc", "not-the-key")
    assert wrong.returncode != 0 or b"CREATE TABLE" not in wrong.stdout
    # The database host loses its backup; the README's way back from the copy restores it
    # (decrypted on the controller, unpacked into spiff_backup_dir), and the restore below reads it.
    db.run_expect([0], f"rm -rf {BACKUPS}/before")
    plain = decrypt(copies / "before" / "bk-db.tar.enc", COPY_KEY).stdout
    assert b"CREATE TABLE `standin_job`" in plain
    subprocess.run(["docker", "cp", "-", f"bk-db:{BACKUPS}/"], input=plain, check=True)
    assert db.file(f"{BACKUPS}/before/database.sql").mode == 0o600

    after = spiffcheck.run_job(host, "bk-app", "written after the backup")
    host.run_expect([0], f"echo after > {MODELS}/restore-check/model.json && touch {MODELS}/created-after")
    db.run_expect([0], "systemctl stop spiff-database && rm -rf /var/lib/spiff/database")

    refused = playbook("restore.yml", "-e", "spiff_restore_name=before")
    assert refused.returncode != 0 and "confirm with -e spiff_restore_confirm=true" in " ".join((refused.stdout + refused.stderr).split())
    unknown = playbook("restore.yml", "-e", "spiff_restore_name=nosuch", "-e", "spiff_restore_confirm=true")
    assert unknown.returncode != 0
    assert "Backup nosuch has no database.sql in /var/backups/spiff/nosuch on bk-db. Backups there: before." \
        in " ".join((unknown.stdout + unknown.stderr).split()), spiffcheck.failure(unknown)
    for vm in (host, db):  # a whole backup, but for the dump's last line
        vm.run_expect([0], f"cp -a {BACKUPS}/before {BACKUPS}/cut")
    db.run_expect([0], f"sed -i '$d' {BACKUPS}/cut/database.sql")
    cut = playbook("restore.yml", "-e", "spiff_restore_name=cut", "-e", "spiff_restore_confirm=true")
    assert cut.returncode != 0
    assert f"cannot be restored: {BACKUPS}/cut/database.sql (the dump does not end with the line mysqldump writes" \
        in " ".join((cut.stdout + cut.stderr).split()), spiffcheck.failure(cut)
    for vm in (host, db):
        vm.run_expect([0], f"rm -rf {BACKUPS}/cut")
    assert not db.file("/var/lib/spiff/database").exists  # nothing was changed by the refused runs
    assert host.service("spiff-api.service").is_running

    started = int(host.check_output("date +%s"))
    res = playbook("restore.yml", "-e", "spiff_restore_name=before", "-e", "spiff_restore_confirm=true")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert job_status(host, before["id"]) == 200
    assert job_status(host, after["id"]) == 404
    assert host.file(f"{MODELS}/restore-check/model.json").content_string == "before\n"
    assert not host.file(f"{MODELS}/created-after").exists
    # The models as they were before the restore were kept as a backup of their own.
    safety = host.check_output(f"ls -1d {BACKUPS}/before-restore-*")  # one name on both hosts
    assert "./created-after" in host.check_output(f"tar -tzf {safety}/process_models.tar.gz")
    assert db.file(f"{safety}/database.sql").exists
    assert spiffcheck.run_job(host, "bk-app", "written after the restore")["status"] == "done"
    for task in ("spiff.arena.engine : Write the firewall rules", "spiff.arena.engine : Write the firewall unit",
                 "spiff.arena.engine : Load the firewall rules",
                 "spiff.arena.backup : Write the backup timer, service and script",
                 "spiff.arena.backup : Start the backup timer"):
        results = task_results(res.stdout, task)  # the rollout's plan found nothing to change in them
        assert not any(r.startswith("changed") for r in results), (task, results)
    planned = res.stdout[res.stdout.rfind("Print the plan"):]
    planned = planned[:planned.find("TASK [")]
    assert "to change" in planned, planned
    assert "spiff-firewall" not in planned and "spiff-backup.timer" not in planned, planned
    stamp = host.file("/var/lib/spiff/backend/migrated-image")  # the rollout migrated the restored schema
    assert stamp.exists and stamp.mtime.timestamp() >= started


def test_backup_copy_to_a_host_of_the_inventory(host):
    """spiff_backup_copy_to names bk-out, a host in no group that reaches neither bk-db nor bk-app
    (the firewall): each backup host's copy lands there through the controller, which keeps
    nothing of it. One backup.yml run, at -vvv with the key."""
    db, out = host.get_host("docker://bk-db"), host.get_host("docker://bk-out")
    offsite = "/var/backups/offsite"
    res = playbook("backup.yml", "-e", "spiff_backup_name=offsite", "-e", "spiff_backup_copy_to=bk-out",
                   "-e", f"spiff_backup_copy_dir={offsite}", "-e", f"@{copy_key_vars()}", "-vvv")
    assert res.returncode == 0, spiffcheck.failure(res)
    assert COPY_KEY not in res.stdout + res.stderr
    # The controller's private temporary directories (one per backup host) are gone.
    temps = set(re.findall(r"(/[\w./-]*/spiff-backup-copy-\w+)", res.stdout))
    assert len(temps) == 2 and not any(os.path.exists(path) for path in temps), temps
    assert [found for path in temps for found in pathlib.Path(path).parent.glob("spiff-backup-copy-*")] == []

    directory = out.file(f"{offsite}/offsite")
    assert directory.is_directory and directory.mode == 0o700 and directory.user == "root"
    assert sorted(out.check_output(f"ls -A {offsite}/offsite").split()) == [
        "bk-app.tar.enc", "bk-app.tar.enc.sha256", "bk-db.tar.enc", "bk-db.tar.enc.sha256"]
    for vm, name in ((db, "bk-db"), (host, "bk-app")):
        sealed = out.file(f"{offsite}/offsite/{name}.tar.enc")
        sums = out.file(f"{offsite}/offsite/{name}.tar.enc.sha256")
        for file in (sealed, sums):
            assert file.is_file and file.mode == 0o600 and file.user == "root" and file.group == "root", file.path
        digest = out.check_output(f"sha256sum {sealed.path}").split()[0]  # taken on bk-out
        assert sums.content_string == f"{digest}  {name}.tar.enc\n"
        assert out.run(f"cd {offsite}/offsite && sha256sum --check --strict {name}.tar.enc.sha256").rc == 0
        assert vm.check_output(f"find {BACKUPS} -maxdepth 1 -name '.copy-*'") == ""  # the packed tar is gone
        assert out.check_output(f"head -c 8 {sealed.path}") == "Salted__"  # openssl's, not a tar
        assert out.run(f"grep -c 'CREATE TABLE' {sealed.path}").rc == 1
    assert out.run(f"grep -rlF {COPY_KEY} /etc /var/backups /root /tmp").stdout == ""

    # The README's way back from a copy on a host (docker exec for ssh): read there, decrypted
    # on the controller with the key on file descriptor 3.
    key_file = EPHEMERAL / "key-file"
    key_file.touch(mode=0o600)
    key_file.write_text(f"{COPY_KEY}\n")
    plain = subprocess.run(["bash", "-o", "pipefail", "-c", f"docker exec bk-out cat {offsite}/offsite/bk-db.tar.enc"
                            f" | openssl enc -d -aes-256-cbc -pbkdf2 -pass fd:3 3< {key_file}"], capture_output=True)
    assert plain.returncode == 0, plain.stderr
    with tarfile.open(fileobj=io.BytesIO(plain.stdout)) as tar:
        assert b"CREATE TABLE `standin_job`" in tar.extractfile("offsite/database.sql").read()
        assert tar.getmember("offsite/database.sql").mode == 0o600


def test_each_host_keeps_the_newest_backups(host):
    for n in range(9):
        host.run_expect([0], f"/usr/local/sbin/spiff-backup keep-{n}")
    kept = host.check_output(f"ls -1 {BACKUPS}").split()
    assert kept == [f"keep-{n}" for n in range(2, 9)], kept  # spiff_backup_keep: 7, the newest
    assert host.run(f"/usr/local/sbin/spiff-backup keep-8").rc == 1  # an existing name is refused


def test_timer_service_names_the_backup_by_minute(host):
    db = host.get_host("docker://bk-db")
    db.run_expect([0], "systemctl start spiff-backup.service")
    names = db.check_output(f"ls -1 {BACKUPS}").split()
    assert any(re.fullmatch(r"\d{8}T\d{4}Z", name) for name in names), names
    latest = sorted(n for n in names if re.fullmatch(r"\d{8}T\d{4}Z", n))[-1]
    assert db.file(f"{BACKUPS}/{latest}/database.sql").mode == 0o600
