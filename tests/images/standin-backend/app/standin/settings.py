"""Environment checks shared by the three backend entrypoints.

Each rule mirrors a way the upstream backend fails (or is unsafe) at start;
the stand-in refuses to start with one ERROR line per broken setting.
"""

import os
import sys

ACCEPTED_SCHEMES = ("postgresql://", "postgresql+psycopg2://", "mysql+mysqldb://", "sqlite:///")


def env(name, default=""):
    return os.environ.get(name, default)


def is_true(name):
    return env(name).strip().lower() == "true"


def database_uri():
    return env("SPIFFWORKFLOW_BACKEND_DATABASE_URI")


def problems(celery_forced=False):
    """Return a list of one-line error messages (empty when settings are usable)."""
    found = []
    if not env("FLASK_SESSION_SECRET_KEY"):
        found.append("FLASK_SESSION_SECRET_KEY is not set: set it to a long random secret, "
                     "identical on every backend container")
    if not env("SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR"):
        found.append("SPIFFWORKFLOW_BACKEND_BPMN_SPEC_ABSOLUTE_DIR is not set: set it to the "
                     "process models directory, e.g. /app/process_models")
    if is_true("SPIFFWORKFLOW_BACKEND_DOWNGRADE_DB"):
        found.append("SPIFFWORKFLOW_BACKEND_DOWNGRADE_DB=true downgrades the schema at every "
                     "boot: unset it or set it to false")
    uri = database_uri()
    if not uri:
        found.append("SPIFFWORKFLOW_BACKEND_DATABASE_URI is not set: set it to "
                     "postgresql://user:pass@host:5432/db or "
                     "mysql+mysqldb://user:pass@host:3306/db")
    elif not uri.startswith(ACCEPTED_SCHEMES):
        scheme = uri.split("://", 1)[0] + "://" if "://" in uri else uri[:20]
        found.append(f"SPIFFWORKFLOW_BACKEND_DATABASE_URI uses unsupported scheme {scheme} "
                     "(postgres:// and mysql+mysqlconnector:// fail upstream): use one of "
                     + ", ".join(ACCEPTED_SCHEMES))
    if env("SPIFFWORKFLOW_BACKEND_ENCRYPTION_LIB") == "cryptography":
        size = len(env("SPIFFWORKFLOW_BACKEND_ENCRYPTION_KEY").encode())
        if size != 32:
            found.append(f"SPIFFWORKFLOW_BACKEND_ENCRYPTION_KEY is {size} bytes: with "
                         "SPIFFWORKFLOW_BACKEND_ENCRYPTION_LIB=cryptography it must be exactly "
                         "32 bytes (not a 44-character Fernet key)")
    celery_on = celery_forced or is_true("SPIFFWORKFLOW_BACKEND_CELERY_ENABLED")
    if celery_on and not env("SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL"):
        found.append("SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL is not set but celery is enabled: "
                     "set it to e.g. redis://:password@host:6379/0")
    return found


def validate_or_exit(celery_forced=False):
    errors = problems(celery_forced)
    for line in errors:
        print(f"ERROR: {line}", file=sys.stderr, flush=True)
    if errors:
        sys.exit(2)
