"""Connector proxy stand-in: liveness, command list and echo.

Like connector-proxy-demo v3.0.0 it does not check CONNECTOR_PROXY_API_KEY
(a request without the key is answered): only the network protects it. An
empty key still stops it at start, as the contract says.
"""

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("SPIFF_STANDIN_VERSION", "unknown")
API_KEY = os.environ.get("CONNECTOR_PROXY_API_KEY")
COMMANDS = [{"id": "http/GetRequestV2", "parameters": [{"id": "url", "type": "str"}]},
            {"id": "http/PostRequestV2", "parameters": [{"id": "url", "type": "str"},
                                                        {"id": "data", "type": "any"}]}]


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Standin-Version", VERSION)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/liveness":
            return self.reply(200, {"ok": True, "version": VERSION})
        if self.path == "/v1/commands":
            return self.reply(200, COMMANDS)
        if self.path == "/v1/auths":
            return self.reply(200, [])
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        if not self.path.startswith("/v1/do/"):
            return self.reply(404, {"error": "not found"})
        size = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(size).decode() if size else ""
        try:
            params = json.loads(raw) if raw else {}
        except ValueError:
            params = raw
        self.reply(200, {"command": self.path[len("/v1/do/"):], "echo": params,
                         "version": VERSION})


def main():
    if API_KEY is not None and not API_KEY:
        print("ERROR: CONNECTOR_PROXY_API_KEY is set but empty: unset it or give it a value",
              file=sys.stderr)
        sys.exit(1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("CONNECTOR_PROXY_PORT") or 7004)
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"connector stand-in {VERSION} on port {port} (the API key is not checked, as upstream)",
          flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
