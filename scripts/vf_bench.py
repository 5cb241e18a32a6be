"""Shared parts of the benchmark scripts: a VisionFlow server on a free loopback port with a
fresh data dir, JSON calls, and a logged-in user."""
import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None, raw=None, ctype="application/json"):
    """One request; answers the decoded JSON body."""
    req = urllib.request.Request(base + path, method=method)
    req.add_header("content-type", ctype)
    if token:
        req.add_header("authorization", "Bearer " + token)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, data, timeout=600) as r:
        return json.loads(r.read() or b"null")


@contextlib.contextmanager
def server(binary, settings):
    """`visionflow serve` with `settings` (VISIONFLOW_* variables) on a fresh data dir;
    yields (base URL, process) once it answers, and stops it afterwards."""
    port = free_port()
    env = dict(os.environ)
    env.update(settings)
    env.update({
        "VISIONFLOW_LISTEN": f"127.0.0.1:{port}",
        "VISIONFLOW_DATA_DIR": tempfile.mkdtemp(prefix="vf-bench-"),
        "VISIONFLOW_LOG__LEVEL": "warn",
    })
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                call(base, "GET", "/readyz")
                break
            except Exception:
                time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def login(base):
    """Registers the user `bench` and answers its access token."""
    call(base, "POST", "/register", {"username": "bench", "email": "bench@example.com", "password": "secure_password_123"})
    return call(base, "POST", "/login", {"username": "bench", "password": "secure_password_123"})["access_token"]
