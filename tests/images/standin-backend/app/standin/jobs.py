"""The stand-in's unit of work: what upstream's process instance run is to Celery."""

import hashlib
import json
import socket

import sqlalchemy as sa

from . import db

TASK_NAME = "standin.run_job"


def run_job(job_id):
    """Mark a queued job done, recording which host and version did it."""
    with db.engine().begin() as conn:
        payload = conn.execute(sa.select(db.job.c.payload).where(db.job.c.id == job_id)).scalar()
        if payload is None:
            return None
        result = {
            "reversed": payload[::-1],
            "sha256": hashlib.sha256(payload.encode()).hexdigest(),
            "hostname": socket.gethostname(),
            "version": db.VERSION,
        }
        conn.execute(db.job.update().where(db.job.c.id == job_id).values(
            status="done", result=json.dumps(result), worker=socket.gethostname(),
            version=db.VERSION, completed_at=db.utcnow()))
    print(f"job {job_id} done on {socket.gethostname()}", flush=True)
    return result
