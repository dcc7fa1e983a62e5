"""Process models on disk, as upstream keeps them, and upstream's commit on save.

SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR holds one directory per process
group (process_group.json) and, inside, one per process model
(process_model.json plus its files). The API's identifiers are paths with ":"
for "/" (group:model). With SPIFFWORKFLOW_BACKEND_GIT_COMMIT_ON_SAVE=true every
change is committed and pushed to origin's SPIFFWORKFLOW_BACKEND_GIT_SOURCE_BRANCH,
over SSH with SPIFFWORKFLOW_BACKEND_GIT_SSH_PRIVATE_KEY_PATH when it is set
(as upstream's git_service and bin/git_commit_bpmn_models_repo).
"""

import json
import os
import shutil
import subprocess

from . import settings


class GitCommandError(Exception):
    pass


def root():
    return settings.env("SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR")


def path_of(identifier):
    parts = [p for p in identifier.replace(":", "/").split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
        raise ValueError(f"bad identifier {identifier!r}")
    return os.path.join(root(), *parts)


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def create_group(body):
    ident = str(body.get("id", ""))
    _write(os.path.join(path_of(ident), "process_group.json"),
           json.dumps({"display_name": body.get("display_name", ident)}, indent=2).encode())
    commit_on_save(f"User: added process group {ident}")
    return ident


def create_model(group, body):
    ident = f"{group.replace(':', '/')}/{body.get('id', '')}"
    info = {"display_name": body.get("display_name", ident),
            "primary_file_name": body.get("primary_file_name", "")}
    _write(os.path.join(path_of(ident), "process_model.json"), json.dumps(info, indent=2).encode())
    commit_on_save(f"User: added process model {ident}")
    return ident


def read_model(ident):
    with open(os.path.join(path_of(ident), "process_model.json"), encoding="utf-8") as handle:
        info = json.load(handle)
    info["id"] = ident.replace(":", "/")
    info["files"] = sorted(n for n in os.listdir(path_of(ident)) if n != "process_model.json")
    return info


def delete_model(ident):
    shutil.rmtree(path_of(ident))
    commit_on_save(f"User: deleted process model {ident}")


def write_file(ident, name, data):
    if "/" in name or name.startswith("."):
        raise ValueError(f"bad file name {name!r}")
    _write(os.path.join(path_of(ident), name), data)
    commit_on_save(f"User: updated file {name} of {ident}")


def read_file(ident, name):
    with open(os.path.join(path_of(ident), name), "rb") as handle:
        return handle.read()


def primary_file(ident):
    """Path of the model's primary BPMN file (process_model.json, else its first .bpmn)."""
    folder = path_of(ident)
    info = {}
    if os.path.isfile(os.path.join(folder, "process_model.json")):
        with open(os.path.join(folder, "process_model.json"), encoding="utf-8") as handle:
            info = json.load(handle)
    name = info.get("primary_file_name") or next(
        (n for n in sorted(os.listdir(folder)) if n.endswith(".bpmn")), "")
    if not name:
        raise FileNotFoundError(f"process model {ident} has no BPMN file")
    return os.path.join(folder, name)


def _git(*args):
    env = dict(os.environ)
    env["GIT_COMMITTER_NAME"] = settings.env("SPIFFWORKFLOW_BACKEND_GIT_USERNAME") or "unknown"
    env["GIT_COMMITTER_EMAIL"] = settings.env("SPIFFWORKFLOW_BACKEND_GIT_USER_EMAIL") or "unknown@example.org"
    key = settings.env("SPIFFWORKFLOW_BACKEND_GIT_SSH_PRIVATE_KEY_PATH")
    if key:
        env["GIT_SSH_COMMAND"] = (f"ssh -F /dev/null -o UserKnownHostsFile=/dev/null "
                                  f"-o StrictHostKeyChecking=no -i {key}")
    res = subprocess.run(["git", "-C", root(), *args], capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise GitCommandError(f"git {args[0]} failed: {(res.stderr or res.stdout).strip()[-300:]}")
    return res.stdout


def commit_on_save(message):
    if not settings.is_true("SPIFFWORKFLOW_BACKEND_GIT_COMMIT_ON_SAVE"):
        return
    branch = settings.env("SPIFFWORKFLOW_BACKEND_GIT_SOURCE_BRANCH")
    if not branch:
        raise GitCommandError("SPIFFWORKFLOW_BACKEND_GIT_SOURCE_BRANCH is not set: commit on save needs it")
    _git("add", ".")
    if not _git("status", "--porcelain").strip():
        return
    _git("config", "--local", "user.email", settings.env("SPIFFWORKFLOW_BACKEND_GIT_USER_EMAIL") or "unknown@example.org")
    _git("config", "--local", "user.name", settings.env("SPIFFWORKFLOW_BACKEND_GIT_USERNAME") or "unknown")
    _git("commit", "-m", message)
    _git("push", "--set-upstream", "origin", branch)
