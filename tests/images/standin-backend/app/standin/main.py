"""Entrypoint roles of the backend stand-in: api, background, worker.

Usage: python3 -m standin.main {api|background|worker|migrate}
"""

import os
import signal
import socket
import subprocess
import sys
import time

from . import db, permissions, settings


def log(msg):
    print(f"[{db.VERSION} {sys.argv[1]}] {msg}", flush=True)


def stop_on_sigterm():
    # PID 1 gets no default SIGTERM action: exit explicitly so `stop` is prompt.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def api():
    settings.validate_or_exit()
    if settings.is_true("SPIFFWORKFLOW_BACKEND_WAIT_FOR_DB_TO_BE_READY"):
        db.wait_for_connection(timeout=60)
    if settings.is_true("SPIFFWORKFLOW_BACKEND_UPGRADE_DB"):
        db.upgrade()
    models = settings.env("SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR")
    os.makedirs(models, exist_ok=True)
    # As upstream's boot script: a directory that is no git work tree is made
    # one (which fails, and so does the boot, on a read-only mount).
    inside = subprocess.run(["git", "-C", models, "rev-parse", "--is-inside-work-tree"],
                            capture_output=True, check=False)
    if inside.returncode != 0:
        subprocess.run(["git", "init", "--quiet", models], check=True)
    # Upstream imports the permissions file at boot: a missing or broken one stops it.
    given = permissions.path()
    if given:
        try:
            permissions.load(given)
        except Exception as exc:  # unreadable, or no YAML: what upstream refuses too
            print(f"ERROR: permissions file {given}: {exc}", file=sys.stderr, flush=True)
            sys.exit(2)
    delay = float(settings.env("SPIFF_STANDIN_BOOT_DELAY", "5"))
    log(f"imitating upstream's slow first boot: sleeping {delay}s")
    time.sleep(delay)
    port = settings.env("SPIFFWORKFLOW_BACKEND_PORT", "7000") or "7000"
    workers = settings.env("SPIFFWORKFLOW_BACKEND_SERVER_WORKER_COUNT", "4") or "4"
    timeout = settings.env("GUNICORN_TIMEOUT_SECONDS", "90") or "90"
    log(f"starting gunicorn on 0.0.0.0:{port} with {workers} workers")
    # As upstream: no --graceful-timeout (gunicorn's default, 30 s), so
    # GUNICORN_CMD_ARGS (e.g. --graceful-timeout 60) sets how long a SIGTERM
    # lets requests under way finish.
    os.execvp("gunicorn", ["gunicorn", "--bind", f"0.0.0.0:{port}", "--workers", workers,
                           "--timeout", timeout,
                           "--access-logfile", "-", "--error-logfile", "-",
                           "standin.web:application"])


def background():
    settings.validate_or_exit()
    db.wait_for_head()
    time.sleep(float(settings.env("SPIFF_STANDIN_BACKGROUND_DELAY", "2")))
    every = float(settings.env("SPIFF_STANDIN_HEARTBEAT_SECONDS", "3"))
    host, pid, failing = socket.gethostname(), os.getpid(), False
    log(f"scheduler started on {host}: heartbeat every {every}s")
    while True:
        try:
            with db.engine().begin() as conn:
                conn.execute(db.heartbeat.insert().values(
                    hostname=host, pid=pid, version=db.VERSION, beat_at=db.utcnow()))
            if failing:
                log("database is back, heartbeats resumed")
            failing = False
        except Exception as exc:
            log(f"heartbeat failed, retrying: {str(exc).splitlines()[0]}")
            failing = True
        time.sleep(every)


def worker():
    os.environ["SPIFFWORKFLOW_BACKEND_CELERY_ENABLED"] = "true"
    os.environ["SPIFFWORKFLOW_BACKEND_RUN_BACKGROUND_SCHEDULER_IN_CREATE_APP"] = "false"
    settings.validate_or_exit(celery_forced=True)
    db.wait_for_head()
    from src.spiffworkflow_backend.background_processing.celery_worker import celery_app
    celery_app.conf.broker_connection_retry = True
    celery_app.conf.broker_connection_max_retries = None  # reconnect forever
    concurrency = settings.env("SPIFFWORKFLOW_BACKEND_CELERY_WORKER_CONCURRENCY") or str(
        os.cpu_count() or 1)
    # Debian's celery 5.2 may stop consuming after a Redis restart when mingle,
    # gossip or event heartbeats are on (celery issue 8030): run without them.
    celery_app.worker_main(["worker", "--loglevel", "info", "--concurrency", concurrency,
                            "--without-mingle", "--without-gossip", "--without-heartbeat"])


def migrate():
    """`flask db upgrade` in the image (as `uv run flask db upgrade` upstream)."""
    settings.validate_or_exit()
    db.wait_for_connection(timeout=60)
    if os.environ.get("STANDIN_FAIL_MIGRATION"):  # test-only: a migration that fails, schema untouched
        log("migration failed: STANDIN_FAIL_MIGRATION is set")
        sys.exit(1)
    db.upgrade()
    log("database schema is at head")


ROLES = {"api": api, "background": background, "worker": worker, "migrate": migrate}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ROLES:
        sys.exit(__doc__)
    stop_on_sigterm()
    ROLES[sys.argv[1]]()
