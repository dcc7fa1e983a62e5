"""Flask app of the API stand-in: upstream's health/info endpoints plus test-only ones."""

import json
import os
import socket
import time

import sqlalchemy as sa
from flask import Flask, abort, jsonify, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from . import auth, db, jobs, models, permissions, settings

app = Flask("spiffworkflow_backend")
COUNTERS = {"requests": 0, "jobs_created": 0}
STARTED = time.time()


@app.before_request
def count_request():
    COUNTERS["requests"] += 1


# Paths whose permissions the stand-in checks, as upstream checks every path.
CHECKED = ("/v1.0/process-groups", "/v1.0/process-models", "/v1.0/process-instances")


@app.before_request
def check_permission():
    """Upstream's permissions file decides (standin/permissions.py). The user is
    the test-only header X-Standin-User (the stand-in has no login), else
    admin@example.com."""
    if not request.path.startswith(CHECKED):
        return None
    user = request.headers.get("X-Standin-User", "admin@example.com")
    ok, reason = permissions.allowed(user, request.method, request.path)
    if ok:
        return None
    return jsonify(error_code="not_authorized", message=reason, status_code=403), 403
@app.after_request
def cors_and_host(response):
    """CORS as upstream builds it; X-Standin-Hostname says which replica answered (test-only)."""
    response.headers["X-Standin-Hostname"] = socket.gethostname()
    return auth.add_cors(response)


app.register_blueprint(auth.openid, url_prefix="/openid")


@app.get("/v1.0/login")
def login():
    return auth.login()


@app.get("/v1.0/login_return")
def login_return():
    return auth.login_return()


@app.get("/v1.0/user-groups/for-current-user")
def groups_for_current_user():
    """Granted to every user (upstream's BASIC permission)."""
    denied = auth.guarded(request.path)
    if denied:
        return denied
    claims = request.environ["standin.claims"]
    return jsonify(sorted(auth._groups_of(claims, auth.permissions())))


@app.get("/v1.0/standin/me")
def me():
    """Test-only (BASIC): who is logged in, and which replica answered."""
    denied = auth.guarded(request.path)
    if denied:
        return denied
    claims = request.environ["standin.claims"]
    return jsonify(username=claims.get("preferred_username"), email=claims.get("email"),
                   hostname=socket.gethostname())


@app.get("/v1.0/secrets")
def secrets():
    """Upstream's secret list: only a permission on /secrets (or /*) grants it: an admin endpoint."""
    denied = auth.guarded(request.path)
    if denied:
        return denied
    return jsonify(results=[], pagination={"count": 0, "total": 0, "pages": 0})


@app.get("/v1.0/status")
def status():
    try:
        current, wanted = db.schema_state()
    except Exception as exc:
        return jsonify(ok=False, error=f"database error: {str(exc).splitlines()[0]}"), 500
    known = [m[0] for m in db.known_migrations()]
    if current is None or (current != wanted and current in known):
        return jsonify(ok=False, error=f"schema at {current}, expected {wanted}"), 500
    # A revision this image does not know comes from a newer release: upstream's
    # status query still works then, so an old API stays healthy during a rollout.
    return jsonify(ok=True, can_access_frontend=True)


# Upstream reads version_info.json (the OCI labels its own CI writes into the
# image) from the working directory and answers only version, revision and
# created, or {} without that file: images built elsewhere, and this one.
VERSION_INFO_KEYS = {"org.opencontainers.image.version": "version",
                     "org.opencontainers.image.revision": "revision",
                     "org.opencontainers.image.created": "created"}


@app.get("/v1.0/version-info")
def version_info():
    labels = {}
    if os.path.isfile("version_info.json"):
        with open("version_info.json") as f:
            labels = json.load(f)
    return jsonify({short: labels[label] for label, short in VERSION_INFO_KEYS.items() if labels.get(label)})


@app.get("/v1.0/standin/whoami")
def whoami():
    """Test-only: the release and host that answered (upstream's version-info says neither)."""
    return jsonify(version=db.VERSION, hostname=socket.gethostname(), schema_head=db.head())


@app.get("/v1.0/standin/sleep")
def sleep():
    """Test-only: a request that lasts `seconds` (at most 120), to test draining."""
    seconds = min(float(request.args.get("seconds", 5)), 120.0)
    time.sleep(seconds)
    return jsonify(slept=seconds, hostname=socket.gethostname())


@app.get("/metrics")
def metrics():
    # Upstream leaves the Prometheus endpoint out of authentication unless
    # SPIFFWORKFLOW_BACKEND_USE_AUTH_FOR_METRICS is true.
    if settings.is_true("SPIFFWORKFLOW_BACKEND_USE_AUTH_FOR_METRICS"):
        _claims, error = auth.current_user()
        if error:
            return error
    lines = [f'standin_info{{version="{db.VERSION}",pid="{os.getpid()}"}} 1',
             f"standin_requests_total {COUNTERS['requests']}",
             f"standin_jobs_created_total {COUNTERS['jobs_created']}",
             f"standin_process_uptime_seconds {time.time() - STARTED:.0f}"]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@app.get("/v1.0/debug/url-info")
def url_info():
    return jsonify(url=request.url, host=request.host, scheme=request.scheme,
                   root_url=request.root_url, remote_addr=request.remote_addr)


@app.post("/v1.0/standin/jobs")
def create_job():
    payload = str((request.get_json(silent=True) or {}).get("payload", ""))
    return jsonify(id=_queue_job(payload)), 202


def _row(row):
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row._mapping.items()}


@app.get("/v1.0/standin/jobs/<int:job_id>")
def get_job(job_id):
    with db.engine().connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM standin_job WHERE id = :id"),
                           {"id": job_id}).first()
    if row is None:
        abort(404)
    found = _row(row)
    found["result"] = json.loads(found["result"]) if found["result"] else None
    return jsonify(found)


@app.get("/v1.0/standin/jobs/summary")
def job_summary():
    """Test-only: jobs by status, and the oldest one not done."""
    with db.engine().connect() as conn:
        counts = dict(conn.execute(sa.select(db.job.c.status, sa.func.count()).group_by(db.job.c.status)).all())
        oldest = conn.execute(sa.select(sa.func.min(db.job.c.id)).where(db.job.c.status != "done")).scalar()
    return jsonify(by_status=counts, total=sum(counts.values()), oldest_not_done=oldest)


@app.get("/v1.0/standin/heartbeats")
def heartbeats():
    within = float(request.args.get("within", 15))
    now = db.utcnow()
    query = sa.select(db.heartbeat.c.hostname, sa.func.max(db.heartbeat.c.beat_at)
                      ).group_by(db.heartbeat.c.hostname)
    live = []
    with db.engine().connect() as conn:
        for hostname, last in conn.execute(query):
            if (now - last).total_seconds() <= within:
                version = conn.execute(sa.select(db.heartbeat.c.version).where(
                    db.heartbeat.c.hostname == hostname, db.heartbeat.c.beat_at == last)).scalar()
                live.append({"hostname": hostname, "last_beat": last.isoformat(),
                             "version": version})
    return jsonify(live=live, now=now.isoformat())


@app.get("/v1.0/standin/migrations")
def migrations():
    with db.engine().connect() as conn:
        rows = conn.execute(sa.select(db.migration_run).order_by(db.migration_run.c.id))
        return jsonify([_row(r) for r in rows])


def _model_call(action):
    try:
        return action()
    except (FileNotFoundError, NotADirectoryError) as exc:
        return jsonify(error_code="not_found", message=str(exc)), 404
    except ValueError as exc:
        return jsonify(error_code="bad_request", message=str(exc)), 400
    except OSError as exc:  # a read-only directory, for one
        return jsonify(error_code="cannot_write", message=str(exc)), 500
    except models.GitCommandError as exc:
        return jsonify(error_code="git_error", message=str(exc)), 500


@app.post("/v1.0/process-groups")
def create_process_group():
    body = request.get_json(silent=True) or {}
    return _model_call(lambda: (jsonify(id=models.create_group(body)), 201))


@app.post("/v1.0/process-models/<group>")
def create_process_model(group):
    body = request.get_json(silent=True) or {}
    return _model_call(lambda: (jsonify(id=models.create_model(group, body)), 201))


@app.get("/v1.0/process-models/<ident>")
def show_process_model(ident):
    return _model_call(lambda: jsonify(models.read_model(ident)))


@app.delete("/v1.0/process-models/<ident>")
def delete_process_model(ident):
    return _model_call(lambda: (models.delete_model(ident), jsonify(ok=True))[1])


@app.put("/v1.0/process-models/<ident>/files/<name>")
def update_process_model_file(ident, name):
    return _model_call(lambda: (models.write_file(ident, name, request.get_data()), jsonify(ok=True))[1])


@app.get("/v1.0/process-models/<ident>/files/<name>")
def show_process_model_file(ident, name):
    return _model_call(lambda: Response(models.read_file(ident, name), mimetype="application/xml"))


@app.post("/v1.0/process-instances/<ident>")
def start_process_instance(ident):
    """Upstream creates an instance here and runs it with .../run; the stand-in
    does both: the instance is a job that a worker runs from the model's BPMN
    file on its own host (GET /v1.0/standin/jobs/<id> shows the outcome)."""
    def start():
        models.path_of(ident)  # refuses a bad identifier
        return jsonify(id=_queue_job(jobs.MODEL_PREFIX + ident)), 201
    return _model_call(start)


def _queue_job(payload):
    with db.engine().begin() as conn:
        job_id = conn.execute(db.job.insert().values(
            payload=payload, status="queued", created_at=db.utcnow())).inserted_primary_key[0]
    COUNTERS["jobs_created"] += 1
    if settings.is_true("SPIFFWORKFLOW_BACKEND_CELERY_ENABLED"):
        from src.spiffworkflow_backend.background_processing.celery_worker import celery_app
        celery_app.send_task(jobs.TASK_NAME, args=[job_id])
    else:  # upstream runs process instances in the request without celery
        jobs.run_job(job_id)
    return job_id


def build_wsgi():
    """Wrap the app like upstream: optional ProxyFix, optional path prefix."""
    wsgi = app.wsgi_app
    prefix = settings.env("SPIFFWORKFLOW_BACKEND_WSGI_PATH_PREFIX").rstrip("/")
    if prefix:
        inner = wsgi

        def root(environ, start_response):
            # Upstream serves the Prometheus endpoint at the port's root, outside the prefix.
            if environ.get("PATH_INFO") == "/metrics":
                return inner(environ, start_response)
            return Response("Not Found", status=404)(environ, start_response)

        wsgi = DispatcherMiddleware(root, {prefix: wsgi})
    if settings.is_true("SPIFFWORKFLOW_BACKEND_USE_WERKZEUG_MIDDLEWARE_PROXY_FIX"):
        count = int(settings.env("SPIFFWORKFLOW_BACKEND_PROXY_COUNT_FOR_PROXY_FIX", "1"))
        wsgi = ProxyFix(wsgi, x_for=count, x_proto=count, x_host=count, x_port=count,
                        x_prefix=count)
    app.wsgi_app = wsgi
    return app


application = build_wsgi()
