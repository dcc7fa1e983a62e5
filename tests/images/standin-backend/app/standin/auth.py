"""Login, the built-in OpenID provider, permissions and CORS of the API stand-in.

What a deployer meets upstream (v3.0.0), reproduced so that tests fail where
the real backend would:
- the built-in provider (<prefix>/openid) signs with an RSA pair kept in
  SPIFFWORKFLOW_BACKEND_OPEN_ID_CACHE_DIR (openid-private.pem,
  openid-public.pem), made there if absent; without the setting each
  container makes its own in /tmp, so replicas reject each other's tokens;
- the backend fetches its provider's discovery document itself, from
  SPIFFWORKFLOW_BACKEND_OPEN_ID_SERVER_INTERNAL_URL or else the public URL,
  with TLS verified by requests (REQUESTS_CA_BUNDLE), so a self-signed public
  URL fails the login with 500;
- tokens are checked against the provider's JWKS as this replica fetched it;
  the issuer must be the provider's URL (or its internal URL with
  SPIFFWORKFLOW_BACKEND_OPEN_ID_INTERNAL_URL_IS_VALID_ISSUER=true);
- users, groups and permissions come from the file at
  SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_ABSOLUTE_PATH, or a bundled file by
  SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_NAME (example.yml: admin/admin);
- CORS origins become the pattern ^https?://<value>(.*).
"""

import base64
import fcntl
import html
import json
import os
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jwt
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, jsonify, make_response, redirect, request

from . import settings

KEY_ID = "spiff_backend_built_in_key"
BUNDLED = Path(__file__).resolve().parent / "permissions"
openid = Blueprint("openid", __name__)
_KEYS = {}
_DISCOVERY = {}
_JWKS = {}
# The endpoints the stand-in guards; BASIC is what upstream grants every user.
BASIC_PATHS = ("/v1.0/user-groups/for-current-user", "/v1.0/standin/me")


# ---------------------------------------------------------------- signing keys
def _key_dir():
    return Path(settings.env("SPIFFWORKFLOW_BACKEND_OPEN_ID_CACHE_DIR")
                or Path(tempfile.gettempdir()) / "spiffworkflow-dev-openid-keys")


def signing_keys():
    """(private PEM, public PEM): read from the key directory, made there once if absent."""
    if _KEYS:
        return _KEYS["private"], _KEYS["public"]
    directory = _key_dir()
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "openid-private.pem", directory / "openid-public.pem"
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (private_path.exists() and public_path.exists()):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
            os.chmod(private_path, 0o600)
            public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
        _KEYS["private"], _KEYS["public"] = private_path.read_text(), public_path.read_text()
    return _KEYS["private"], _KEYS["public"]


# ---------------------------------------------------------------- permissions
def permissions():
    path = settings.env("SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_ABSOLUTE_PATH")
    if not path:
        path = BUNDLED / (settings.env("SPIFFWORKFLOW_BACKEND_PERMISSIONS_FILE_NAME") or "example.yml")
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def _groups_of(claims, doc):
    names = {claims.get("email"), claims.get("preferred_username"), claims.get("sub")} - {None}
    found = {"everybody"}
    for group, spec in (doc.get("groups") or {}).items():
        if names & set((spec or {}).get("users") or []):
            found.add(group)
    found.update(claims.get("groups") or [])
    return found


def allowed(claims, path):
    """Whether a permission of the file grants `path` to the user (uri /* or a prefix, or BASIC)."""
    doc = permissions()
    groups = _groups_of(claims, doc)
    for rule in (doc.get("permissions") or {}).values():
        rule = rule or {}
        if not groups & set(rule.get("groups") or []) or "deny" in (rule.get("allowed_permission") or ""):
            continue
        uri = str(rule.get("uri", ""))
        if uri == "/*" or (uri == "BASIC" and path in BASIC_PATHS):
            return True
        if uri.startswith("/") and path.startswith("/v1.0" + uri.rstrip("*")):
            return True
    return False


# ---------------------------------------------------------------- the backend's side of a login
def _server(internal=False):
    public = settings.env("SPIFFWORKFLOW_BACKEND_OPEN_ID_SERVER_URL").rstrip("/")
    inner = settings.env("SPIFFWORKFLOW_BACKEND_OPEN_ID_SERVER_INTERNAL_URL").rstrip("/")
    return (inner or public) if internal else public


def endpoint(name, internal=False):
    """An endpoint of the provider's discovery document, fetched (with TLS verified) from the internal URL."""
    inner = _server(internal=True)
    if not _DISCOVERY:
        # requests verifies TLS with its CA bundle, or REQUESTS_CA_BUNDLE: as upstream.
        _DISCOVERY.update(requests.get(f"{inner}/.well-known/openid-configuration", timeout=15).json())
    value = _DISCOVERY[name]
    return value if internal else value.replace(inner, _server())


def _backend_url():
    return settings.env("SPIFFWORKFLOW_BACKEND_URL", "http://localhost:7000").rstrip("/")


def _client():
    return (settings.env("SPIFFWORKFLOW_BACKEND_OPEN_ID_CLIENT_ID") or "spiffworkflow-backend",
            settings.env("SPIFFWORKFLOW_BACKEND_OPEN_ID_CLIENT_SECRET_KEY") or "JXeQExm0JhQPLumgHtIIqf52bDalHz0q")


def login():
    final = request.args.get("redirect_url") or settings.env("SPIFFWORKFLOW_BACKEND_URL_FOR_FRONTEND", "/")
    state = base64.urlsafe_b64encode(json.dumps({"final_url": final}).encode()).decode()
    query = urlencode({"state": state, "response_type": "code", "client_id": _client()[0],
                       "scope": "openid profile email", "redirect_uri": f"{_backend_url()}/v1.0/login_return"})
    return redirect(f"{endpoint('authorization_endpoint')}?{query}")


def login_return():
    final = json.loads(base64.urlsafe_b64decode(request.args["state"]))["final_url"]
    client_id, secret = _client()
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    answer = requests.post(endpoint("token_endpoint", internal=True), timeout=15,
                           headers={"Authorization": f"Basic {basic}"},
                           data={"grant_type": "authorization_code", "code": request.args["code"],
                                 "redirect_uri": f"{_backend_url()}/v1.0/login_return"})
    answer.raise_for_status()
    tokens = answer.json()
    claims = decode(tokens["id_token"])
    response = redirect(final)
    for name in ("access_token", "id_token"):
        response.set_cookie(name, tokens[name], path="/", secure=_backend_url().startswith("https"), samesite="Lax")
    response.set_cookie("authentication_identifier", "default", path="/")
    print(f"login of {claims.get('preferred_username')}", flush=True)
    return response


def _jwks(force=False):
    uri = endpoint("jwks_uri", internal=True)
    if force or uri not in _JWKS:
        _JWKS[uri] = requests.get(uri, timeout=15).json()
    return _JWKS[uri]


def decode(token):
    """The token's claims, checked against the provider's key as this replica knows it."""
    kid = jwt.get_unverified_header(token).get("kid")
    keys = [k for k in _jwks()["keys"] if k.get("kid") == kid] or [k for k in _jwks(force=True)["keys"]
                                                                      if k.get("kid") == kid]
    if not keys:
        raise jwt.InvalidTokenError(f"key {kid} not in the provider's JWKS")
    key = keys[0]
    if "x5c" in key:  # the built-in provider publishes the PEM, base64-encoded
        public = serialization.load_pem_public_key(base64.b64decode(key["x5c"][0]))
    else:
        public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
    issuers = [_server()]
    if settings.is_true("SPIFFWORKFLOW_BACKEND_OPEN_ID_INTERNAL_URL_IS_VALID_ISSUER"):
        issuers.append(_server(internal=True))
    claims = jwt.decode(token, public, algorithms=["RS256"], audience=[_client()[0], "account"],
                        options={"verify_iss": False})
    if claims.get("iss", "").rstrip("/") not in [i.rstrip("/") for i in issuers]:
        raise jwt.InvalidIssuerError(f"issuer {claims.get('iss')} is not one of {issuers}")
    return claims


def current_user():
    """(claims, None) for a request with a valid token, else (None, error response)."""
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else request.cookies.get("access_token")
    if not token:
        return None, (jsonify(error_code="not_authorized", message="No authorization token was available."), 401)
    try:
        return decode(token), None
    except jwt.InvalidTokenError as exc:
        print(f"Cannot decode token: {type(exc).__name__}: {exc}", flush=True)
        return None, (jsonify(error_code="invalid_token", message="Cannot decode token."), 401)


def guarded(path):
    """None when the request may go on, else the error response (401, or 403 without permission)."""
    claims, error = current_user()
    if error:
        return error
    if not allowed(claims, path):
        return jsonify(error_code="unauthorized", message=f"User {claims.get('preferred_username')} is not"
                       f" authorized to {request.method} {path}"), 403
    request.environ["standin.claims"] = claims
    return None


# ---------------------------------------------------------------- CORS
def cors_patterns():
    values = re.split(r",\s*", settings.env("SPIFFWORKFLOW_BACKEND_CORS_ALLOW_ORIGINS", "*"))
    return [re.compile(f"^https?://{value}(.*)") for value in values if value]


def add_cors(response):
    origin = request.headers.get("Origin")
    if origin and any(pattern.match(origin) for pattern in cors_patterns()):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Vary"] = "Origin"
    return response


# ---------------------------------------------------------------- the built-in provider
def _host_url():
    return request.host_url.rstrip("/")


def _prefixed(path):
    return f"{_host_url()}{request.script_root}/openid{path}"


@openid.get("")
def index():
    return jsonify(ok=True)


@openid.get("/.well-known/openid-configuration")
def well_known():
    return jsonify(issuer=_prefixed(""), authorization_endpoint=_prefixed("/auth"), token_endpoint=_prefixed("/token"),
                   end_session_endpoint=_prefixed("/end_session"), jwks_uri=_prefixed("/jwks"))


@openid.get("/auth")
def auth(error=""):
    values = request.values
    hidden = "".join(f'<input type="hidden" name="{n}" value="{html.escape(values.get(n, ""), quote=True)}"/>'
                     for n in ("state", "response_type", "client_id", "scope", "redirect_uri"))
    return (f'<!doctype html><html><head><title>Login</title></head><body><form method="post" '
            f'action="{_prefixed("/form_submit")}"><p id="error">{html.escape(error)}</p>'
            '<input type="text" id="username" name="Uname" placeholder="Username"/>'
            '<input type="password" id="password" name="Pass" placeholder="Password"/>'
            f'{hidden}<input type="submit" id="spiff-login-button" value="Login"/></form></body></html>')


def _users():
    return permissions().get("users") or {}


@openid.post("/form_submit")
def form_submit():
    users, name = _users(), request.values.get("Uname", "")
    if name in users and request.values.get("Pass") == str(users[name].get("password")):
        target = request.values.get("redirect_uri", "")
        if urlsplit(target).scheme not in ("http", "https"):
            return make_response("Invalid redirect_uri", 400)
        return redirect(target + "?" + urlencode({"state": request.values.get("state"),
                                                   "code": name + ":this_is_not_secure_do_not_use_in_production"}))
    return auth("Login failed.  Please try again.")


@openid.post("/token")
def token():
    name = request.values.get("code", ":").split(":")[0]
    user = _users().get(name)
    if user is None:
        return jsonify(error="invalid_grant"), 400
    client_id = base64.b64decode(request.headers.get("Authorization", "Basic ")[6:]).decode().split(":")[0]
    now = int(time.time())
    claims = {"iss": _prefixed(""), "aud": client_id, "iat": now, "exp": now + 2 * 86400, "sub": name,
              "email": user.get("email"), "preferred_username": user.get("preferred_username", name)}
    signed = jwt.encode(claims, signing_keys()[0], algorithm="RS256", headers={"kid": KEY_ID})
    return jsonify(access_token=signed, id_token=signed, refresh_token=signed)


@openid.get("/jwks")
def jwks():
    public = base64.b64encode(signing_keys()[1].encode()).decode()
    return jsonify(keys=[{"kid": KEY_ID, "kty": "RSA", "x5c": [public]}])
