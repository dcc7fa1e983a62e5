"""Database access (SQLAlchemy Core) and the stand-in's alembic-like migrations.

MIGRATIONS is the whole revision history; an image knows the revisions whose
release is not newer than its own SPIFF_STANDIN_VERSION, so a newer image's
worker and background wait until a newer API has migrated.
"""

import datetime
import os
import re
import socket
import time

import sqlalchemy as sa

from . import settings

VERSION = os.environ.get("SPIFF_STANDIN_VERSION", "v0.0.0")

metadata = sa.MetaData()
alembic_version = sa.Table("alembic_version", metadata,
                           sa.Column("version_num", sa.String(32), primary_key=True))
job = sa.Table("standin_job", metadata,
               sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
               sa.Column("payload", sa.Text), sa.Column("status", sa.String(32)),
               sa.Column("result", sa.Text), sa.Column("worker", sa.String(255)),
               sa.Column("version", sa.String(32)), sa.Column("created_at", sa.DateTime),
               sa.Column("completed_at", sa.DateTime))
heartbeat = sa.Table("standin_heartbeat", metadata,
                     sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                     sa.Column("hostname", sa.String(255)), sa.Column("pid", sa.Integer),
                     sa.Column("version", sa.String(32)), sa.Column("beat_at", sa.DateTime))
migration_run = sa.Table("standin_migration_run", metadata,
                         sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                         sa.Column("hostname", sa.String(255)),
                         sa.Column("from_rev", sa.String(32)), sa.Column("to_rev", sa.String(32)),
                         sa.Column("version", sa.String(32)), sa.Column("ran_at", sa.DateTime))


def _create_base_tables(conn):
    for table in (job, heartbeat, migration_run):
        table.create(conn)


def _add_job_note(conn):
    conn.execute(sa.text("ALTER TABLE standin_job ADD COLUMN note VARCHAR(255)"))


# (revision, first release that ships it, upgrade function)
MIGRATIONS = [
    ("standin_0001", "v3.0.0", _create_base_tables),
    ("standin_0002", "v3.0.1", _add_job_note),
]


def _release(version):
    numbers = re.findall(r"\d+", version)
    return tuple(int(n) for n in numbers[:3]) if numbers else (999,)


def known_migrations():
    mine = _release(VERSION)
    return [m for m in MIGRATIONS if _release(m[1]) <= mine]


def head():
    return known_migrations()[-1][0]


def utcnow():
    return datetime.datetime.utcnow().replace(microsecond=0)


_engines = {}


def engine():
    """One engine per process (celery and gunicorn fork after import)."""
    pid = os.getpid()
    if pid not in _engines:
        _engines[pid] = sa.create_engine(settings.database_uri(), pool_pre_ping=True, future=True)
    return _engines[pid]


def current_revision(conn):
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.select(alembic_version.c.version_num)).scalar()


def schema_state():
    """Return (current revision, head); raises if the database is unreachable."""
    with engine().connect() as conn:
        return current_revision(conn), head()


def wait_for_connection(timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with engine().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            print("database accepts connections", flush=True)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"ERROR: database not ready after {timeout}s: {exc}")
            print(f"waiting for database: {str(exc).splitlines()[0]}", flush=True)
            time.sleep(1)


def upgrade():
    """Apply missing revisions (no lock, like upstream) and record one run."""
    with engine().begin() as conn:
        alembic_version.create(conn, checkfirst=True)
        start = current_revision(conn)
    known = known_migrations()
    names = [m[0] for m in known]
    if start is None:
        pending = known
    elif start in names:
        pending = known[names.index(start) + 1:]
    else:
        print(f"database at {start}, unknown to {VERSION}: nothing to upgrade", flush=True)
        pending = []
    for revision, _release_name, apply in pending:
        print(f"upgrading schema to {revision}", flush=True)
        with engine().begin() as conn:
            apply(conn)
            conn.execute(alembic_version.delete())
            conn.execute(alembic_version.insert().values(version_num=revision))
    end = pending[-1][0] if pending else start
    with engine().begin() as conn:
        conn.execute(migration_run.insert().values(
            hostname=socket.gethostname(), from_rev=start, to_rev=end,
            version=VERSION, ran_at=utcnow()))
    print(f"schema upgrade done: {start} -> {end}", flush=True)


def wait_for_head(interval=2):
    """Block until the schema is at this image's head, logging each new state once."""
    last = None
    while True:
        try:
            current, wanted = schema_state()
            if current == wanted:
                print(f"DB migrations are complete ({wanted}).", flush=True)
                return
            state = f"waiting for schema {wanted}, database is at {current}"
        except Exception as exc:
            state = f"waiting for database: {str(exc).splitlines()[0]}"
        if state != last:
            print(state, flush=True)
            last = state
        time.sleep(interval)
