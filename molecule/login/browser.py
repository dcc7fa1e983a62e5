#!/usr/bin/env python3
"""Log in to Spiff Arena in a real headless browser (Debian's chromium), as a user would.

Drives chromium through chromedriver's W3C WebDriver protocol (plain HTTP,
no Python package needed): opens the URL, follows the frontend's login link
to the provider's form, types the user and password, submits, and waits for
the home page to show the user's name. Then, with that session (the page's
own token), it calls the API `calls` times and an admin endpoint once.
Prints one JSON object: the name shown, the API statuses, the replicas that
answered, the admin endpoint's status. Keeps a screenshot of the home page.

Usage: browser.py URL USER PASSWORD SCREENSHOT [--resolve HOST=IP] [--calls N]
"""

import argparse
import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element key


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self, resolve):
        driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
        self.port = free_port()
        self.proc = subprocess.Popen([driver, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,800", "--no-proxy-server"]
        if resolve:
            # Sandbox names resolve only inside the sandbox: map them here.
            args.append("--host-resolver-rules=" + ", ".join(f"MAP {h} {ip}" for h, ip in resolve.items()))
        # The sandbox proxy's certificate is self-signed: this test browser accepts it.
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "acceptInsecureCerts": True,
                                                 "goog:chromeOptions": {"args": args,
                                                                        "binary": "/usr/bin/chromium"}}}}
        deadline = time.monotonic() + 20
        while True:
            try:
                self.session = self.call("POST", "/session", caps)["sessionId"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def call(self, method, path, body=None):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.loads(answer.read())["value"]

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def find(self, css, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            found = self.s("POST", "/elements", {"using": "css selector", "value": css})
            if found:
                return found[0][ELEMENT]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {css} on {self.s('GET', '/url')}: {self.text('body')[:500]}")
            time.sleep(0.3)

    def text(self, css):
        found = self.s("POST", "/elements", {"using": "css selector", "value": css})
        return self.s("GET", f"/element/{found[0][ELEMENT]}/text") if found else ""

    def script(self, code, *args):
        return self.s("POST", "/execute/async", {"script": code, "args": list(args)})

    def close(self):
        try:
            self.s("DELETE", "")
        finally:
            self.proc.terminate()
            self.proc.wait(10)


CALLS = """
const [count, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  const statuses = [], hosts = [];
  for (let i = 0; i < count; i++) {
    const r = await window.spiffApi("/standin/me");
    statuses.push(r.status);
    hosts.push(r.headers.get("X-Standin-Hostname"));
  }
  const admin = (await window.spiffApi("/secrets")).status;
  done({statuses, hosts, admin});
})().catch(e => done({error: String(e)}));
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("screenshot")
    parser.add_argument("--resolve", action="append", default=[])
    parser.add_argument("--calls", type=int, default=50)
    opts = parser.parse_args()
    browser = Browser(dict(item.split("=", 1) for item in opts.resolve))
    try:
        browser.s("POST", "/timeouts", {"script": 120000, "pageLoad": 60000})
        browser.s("POST", "/url", {"url": opts.url})
        browser.s("POST", f"/element/{browser.find('#spiff-login')}/click")
        browser.s("POST", f"/element/{browser.find('#username')}/value", {"text": opts.user})
        browser.s("POST", f"/element/{browser.find('#password')}/value", {"text": opts.password})
        browser.s("POST", f"/element/{browser.find('#spiff-login-button')}/click")
        name = browser.s("GET", f"/element/{browser.find('#user-name')}/text")
        with open(opts.screenshot, "wb") as handle:
            handle.write(base64.b64decode(browser.s("GET", "/screenshot")))
        result = browser.script(CALLS, opts.calls)
        result.update(name=name, title=browser.s("GET", "/title"), url=browser.s("GET", "/url"))
        print(json.dumps(result))
    except Exception as exc:  # the page as it was, for the failure message
        try:
            with open(opts.screenshot, "wb") as handle:
                handle.write(base64.b64decode(browser.s("GET", "/screenshot")))
            page = browser.text("body")[:1000]
        except Exception:
            page = ""
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "page": page}))
        return 1
    finally:
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
