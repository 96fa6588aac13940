"""The production server as a user meets it: gunicorn started as `make run` starts it, and a
client that talks HTTP/1.1 to it over one keep-alive connection with its own cookies (a
browser tab), timing each request from the first byte sent to the last byte read."""
import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf[_-]token" (?:value|content)="([^"]+)"')


class Reply(NamedTuple):
    status: int
    headers: dict       # lower-case names
    body: bytes         # as sent (gzip when the server compressed it)
    seconds: float


class Client:
    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        headers = {"Accept-Encoding": "gzip", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        # gunicorn closes a connection idle for 2 s (its keep-alive): then reconnect once.
        for retry in (False, True):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if retry:
                    raise
        seconds = time.perf_counter() - started
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data, seconds)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def login(self, name, password):
        """Sign in through the login form, with its CSRF token."""
        token = CSRF.search(self.get("/login").body.decode()).group(1)
        form = urllib.parse.urlencode({"name": name, "password": password, "csrf_token": token})
        reply = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if reply.status != 302:
            raise RuntimeError(f"login as {name} failed: HTTP {reply.status}")
        return self


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A server process on a free loopback port: ``wait`` until ``probe`` answers 200, ``stop``."""
    name = "the server"
    probe = "/"

    def start(self, cmd, log_path, env=None):
        self.port = free_port()
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(cmd(self.port), env=env, cwd=ROOT, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def wait(self, seconds=120):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log.name}")
            try:
                if Client(self.port).get(self.probe).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {self.probe} within {seconds} s; see {self.log.name}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Server(Served):
    """gunicorn serving ``app:create_app()`` on a free loopback port, with the command line of
    webmap/serve.py (gthread workers, WORKERS of them, 8 threads each, an access log)."""
    name, probe = "gunicorn", "/healthz"

    def __init__(self, database_url, secret_key, log_path):
        gunicorn = Path(sys.executable).with_name("gunicorn")
        cmd = lambda port: [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
                            "--workers", os.environ.get("WORKERS", "2"), "--threads", "8",
                            "--access-logfile", "-", "app:create_app()"]
        self.start(cmd, log_path, dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=secret_key))
