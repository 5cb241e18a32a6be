#!/usr/bin/env python3
"""A batch of N images in one `POST /api/detect` against N single-image calls.

Starts `visionflow serve` on a fresh data dir with the installed models, registers a user
and times, after one warm-up call: one request carrying N images (one inference job,
`inspection.batch_size` images per forward pass), then N requests of one image each. The
images cycle through bus.jpg, zidane.jpg and rear_car.png from the samples directory.

    python3 scripts/bench_inspection.py [--images 10] [--binary target/release/visionflow]
        [--models data/models] [--samples data/samples] [--batch-size 4]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None, raw=None, ctype="application/json"):
    req = urllib.request.Request(base + path, method=method)
    req.add_header("content-type", ctype)
    if token:
        req.add_header("authorization", "Bearer " + token)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, data, timeout=600) as r:
        return json.loads(r.read() or b"null")


def multipart(files):
    boundary = "vfbench" + uuid.uuid4().hex
    out = bytearray()
    for name, data in files:
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"images\"; filename=\"{name}\"\r\n".encode()
        out += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=10)
    p.add_argument("--binary", default="target/release/visionflow")
    p.add_argument("--models", default="data/models")
    p.add_argument("--samples", default="data/samples")
    p.add_argument("--batch-size", type=int, default=4)
    a = p.parse_args()
    names = ["bus.jpg", "zidane.jpg", "rear_car.png"]
    imgs = [(names[i % 3], open(os.path.join(a.samples, names[i % 3]), "rb").read()) for i in range(a.images)]
    port = free_port()
    data = tempfile.mkdtemp(prefix="vf-bench-inspection-")
    env = dict(os.environ)
    env.update({
        "VISIONFLOW_LISTEN": f"127.0.0.1:{port}",
        "VISIONFLOW_DATA_DIR": data,
        "VISIONFLOW_MODELS__DIR": os.path.abspath(a.models),
        "VISIONFLOW_INSPECTION__BATCH_SIZE": str(a.batch_size),
        "VISIONFLOW_HTTP__MAX_BODY_BYTES": str(64 << 20),
        "VISIONFLOW_LOG__LEVEL": "warn",
    })
    srv = subprocess.Popen([a.binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                call(base, "GET", "/readyz")
                break
            except Exception:
                time.sleep(0.2)
        call(base, "POST", "/register", {"username": "bench", "email": "bench@example.com", "password": "secure_password_123"})
        tok = call(base, "POST", "/login", {"username": "bench", "password": "secure_password_123"})["access_token"]
        body, ctype = multipart(imgs[:1])
        call(base, "POST", "/api/detect", token=tok, raw=body, ctype=ctype)  # warm-up
        body, ctype = multipart(imgs)
        t0 = time.monotonic()
        batch = call(base, "POST", "/api/detect", token=tok, raw=body, ctype=ctype)
        t_batch = time.monotonic() - t0
        assert len(batch) == a.images, batch
        t0 = time.monotonic()
        for img in imgs:
            body, ctype = multipart([img])
            call(base, "POST", "/api/detect", token=tok, raw=body, ctype=ctype)
        t_single = time.monotonic() - t0
        inf = sum(r["processing_time"] for r in batch)
        print(f"images                 {a.images} ({', '.join(names)} in turn), batch_size {a.batch_size}")
        print(f"one batch request      {t_batch:.2f} s = {t_batch / a.images * 1e3:.0f} ms/image "
              f"(inference {inf:.2f} s of it)")
        print(f"{a.images} single requests    {t_single:.2f} s = {t_single / a.images * 1e3:.0f} ms/image")
        print(f"batch / singles        {t_batch / t_single:.2f}")
        return 0
    finally:
        srv.terminate()
        try:
            srv.wait(15)
        except subprocess.TimeoutExpired:
            srv.kill()


if __name__ == "__main__":
    sys.exit(main())
