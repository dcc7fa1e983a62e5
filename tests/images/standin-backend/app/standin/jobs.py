"""The stand-in's unit of work: what upstream's process instance run is to Celery."""

import hashlib
import json
import socket

import sqlalchemy as sa

from . import db

TASK_NAME = "standin.run_job"
# A job whose payload starts with this runs a process model: the worker reads
# the model's primary BPMN file from its own host's process models directory.
MODEL_PREFIX = "model:"


def _run_model(ident):
    """What running the model's BPMN found: its checksum, or why it cannot run here."""
    from . import models

    try:
        with open(models.primary_file(ident), "rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as exc:
        return "error", {"error": f"process model {ident}: {exc}"}
    return "done", {"model": ident, "model_sha256": hashlib.sha256(data).hexdigest()}


def run_job(job_id):
    """Mark a queued job done, recording which host and version did it."""
    with db.engine().begin() as conn:
        payload = conn.execute(sa.select(db.job.c.payload).where(db.job.c.id == job_id)).scalar()
        if payload is None:
            return None
        status, result = "done", {
            "reversed": payload[::-1],
            "sha256": hashlib.sha256(payload.encode()).hexdigest(),
        }
        if payload.startswith(MODEL_PREFIX):
            status, result = _run_model(payload[len(MODEL_PREFIX):])
        result.update(hostname=socket.gethostname(), version=db.VERSION)
        conn.execute(db.job.update().where(db.job.c.id == job_id).values(
            status=status, result=json.dumps(result), worker=socket.gethostname(),
            version=db.VERSION, completed_at=db.utcnow()))
    print(f"job {job_id} {status} on {socket.gethostname()}", flush=True)
    return result
