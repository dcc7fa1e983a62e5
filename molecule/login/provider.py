#!/usr/bin/env python3
"""The site's OpenID Connect provider of the login scenario: a small one, for the tests only.

Runs on the proxy host over https with a certificate signed by the scenario's
CA, as a site's provider would (the backend must trust it through
spiff_ca_certificates). Python's standard library and the openssl command
only, since the sandbox VM has nothing more. What the backend uses of a
provider: the discovery document, the authorization endpoint (a form with
the ids #username, #password and #spiff-login-button), the token endpoint
(authorization code, the client's id and secret in HTTP Basic auth) and the
JWKS (an RS256 key as n and e). Each request is logged on stdout (the unit's
journal).

Usage: provider.py CONFIG.json
CONFIG: {"issuer", "port", "certificate", "key", "state_dir", "clients": {id: secret},
         "users": {name: {"password", "email", "name"}}}
"""

import base64
import hashlib
import html
import http.server
import json
import secrets
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

CONFIG = json.loads(Path(sys.argv[1]).read_text())
ISSUER = CONFIG["issuer"].rstrip("/")
SIGNING_KEY = Path(CONFIG["state_dir"]) / "signing-key.pem"
CODES = {}  # code -> (user, client id, redirect_uri, expiry)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key():
    """The RSA key tokens are signed with, made once in the state directory."""
    if not SIGNING_KEY.exists():
        SIGNING_KEY.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", str(SIGNING_KEY)], check=True, capture_output=True)
        SIGNING_KEY.chmod(0o600)
    modulus = subprocess.run(["openssl", "rsa", "-in", str(SIGNING_KEY), "-noout", "-modulus"], check=True,
                             capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    n = bytes.fromhex(modulus)
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": hashlib.sha256(n).hexdigest()[:16],
            "n": b64url(n), "e": b64url((65537).to_bytes(3, "big"))}


JWK = signing_key()


def sign(claims):
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": JWK["kid"]}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(SIGNING_KEY)], check=True,
                               capture_output=True, input=f"{header}.{body}".encode()).stdout
    return f"{header}.{body}.{b64url(signature)}"


def discovery():
    return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth", "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks", "end_session_endpoint": f"{ISSUER}/logout",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"]}


def form(params, error=""):
    hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""), quote=True)}"/>'
                     for name in ("client_id", "redirect_uri", "state", "scope", "response_type"))
    return ('<!doctype html><html><head><title>Site login</title></head><body><h1>The site\'s OpenID provider</h1>'
            f'<p id="error">{html.escape(error)}</p><form method="post" action="{ISSUER}/auth">'
            '<input type="text" id="username" name="username"/><input type="password" id="password" name="password"/>'
            f'{hidden}<input type="submit" id="spiff-login-button" value="Sign in"/></form></body></html>')


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        print(f"{self.client_address[0]} {fmt % args}", flush=True)

    def answer(self, status, body, kind="application/json", headers=()):
        data = (json.dumps(body) if kind == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def params(self):
        length = int(self.headers.get("Content-Length") or 0)
        return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        if url.path == "/.well-known/openid-configuration":
            self.answer(200, discovery())
        elif url.path == "/jwks":
            self.answer(200, {"keys": [JWK]})
        elif url.path == "/auth":
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            if params.get("client_id") not in CONFIG["clients"]:
                self.answer(400, {"error": "unauthorized_client"})
            else:
                self.answer(200, form(params), "text/html; charset=utf-8")
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):  # noqa: N802
        path, params = urlsplit(self.path).path, self.params()
        if path == "/auth":
            self.sign_in(params)
        elif path == "/token":
            self.token(params)
        else:
            self.answer(404, {"error": "not_found"})

    def sign_in(self, params):
        user = CONFIG["users"].get(params.get("username", ""))
        target = params.get("redirect_uri", "")
        if params.get("client_id") not in CONFIG["clients"] or urlsplit(target).scheme != "https":
            self.answer(400, {"error": "invalid_request"})
        elif user is None or not secrets.compare_digest(params.get("password", ""), user["password"]):
            self.answer(200, form(params, "Wrong user name or password."), "text/html; charset=utf-8")
        else:
            code = secrets.token_urlsafe(24)
            CODES[code] = (params["username"], params["client_id"], target, time.time() + 60)
            query = urlencode({"code": code, "state": params.get("state", "")})
            self.answer(302, "", "text/plain", [("Location", f"{target}?{query}")])

    def token(self, params):
        try:
            client_id, secret = base64.b64decode(self.headers.get("Authorization", "")[6:]).decode().split(":", 1)
        except ValueError:
            client_id, secret = "", ""
        if not secrets.compare_digest(CONFIG["clients"].get(client_id, "\0"), secret):
            print(f"token refused: client {client_id!r} gave a wrong secret", flush=True)
            self.answer(401, {"error": "invalid_client"})
            return
        name, code_client, target, expiry = CODES.pop(params.get("code", ""), (None, None, None, 0))
        if name is None or code_client != client_id or target != params.get("redirect_uri") or expiry < time.time():
            self.answer(400, {"error": "invalid_grant"})
            return
        user, now = CONFIG["users"][name], int(time.time())
        claims = {"iss": ISSUER, "sub": name, "aud": client_id, "azp": client_id, "iat": now, "exp": now + 3600,
                  "email": user["email"], "preferred_username": name, "name": user["name"]}
        token = sign(claims)
        print(f"login of {name} for client {client_id}", flush=True)
        self.answer(200, {"access_token": token, "id_token": token, "refresh_token": token, "token_type": "Bearer",
                          "expires_in": 3600})


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CONFIG["certificate"], CONFIG["key"])
    server = http.server.ThreadingHTTPServer(("0.0.0.0", CONFIG["port"]), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"OpenID provider {ISSUER} listening on {CONFIG['port']}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
