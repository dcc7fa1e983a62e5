"""Wait until a server in maintenance has no session left on this HAProxy.

  drain_wait.py SOCKET BACKEND SERVER TIMEOUT

Reads `show stat` from the admin socket every half second until the server's
current sessions (scur) are 0 or TIMEOUT seconds have passed; prints
{"left": <sessions still open>, "waited": <seconds>} as JSON. A server the
proxy does not list counts as drained.
"""

import csv
import json
import socket
import sys
import time


def current_sessions(path, backend, server):
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(5)
    conn.connect(path)
    conn.sendall(b"show stat\n")
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    for row in csv.DictReader(data.decode().lstrip("# ").splitlines()):
        if row.get("pxname") == backend and row.get("svname") == server:
            return int(row.get("scur") or 0)
    return 0


def main(path, backend, server, timeout):
    started = time.monotonic()
    left = current_sessions(path, backend, server)
    while left and time.monotonic() - started < float(timeout):
        time.sleep(0.5)
        left = current_sessions(path, backend, server)
    print(json.dumps({"left": left, "waited": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
