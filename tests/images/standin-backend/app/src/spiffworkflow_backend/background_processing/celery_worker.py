"""Celery app at upstream's module path, so `celery -A <this module> inspect ping` works."""

import os

from celery import Celery

from standin import jobs

celery_app = Celery(
    "spiffworkflow_backend",
    broker=os.environ.get("SPIFFWORKFLOW_BACKEND_CELERY_BROKER_URL") or None,
    backend=os.environ.get("SPIFFWORKFLOW_BACKEND_CELERY_RESULT_BACKEND") or None,
)
celery_app.conf.update(task_serializer="json", accept_content=["json"],
                       result_serializer="json", task_acks_late=True,
                       worker_hijack_root_logger=True)


@celery_app.task(name=jobs.TASK_NAME)
def run_job(job_id):
    return jobs.run_job(job_id)
