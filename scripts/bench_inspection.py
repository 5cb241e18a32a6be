#!/usr/bin/env python3
"""A batch of N images in one `POST /api/detect` against N single-image calls.

Starts `visionflow serve` on a fresh data dir with the installed models, registers a user
and times, after one warm-up call: one request carrying N images (one inference job,
`inspection.batch_size` images per forward pass), then N requests of one image each. The
images cycle through bus.jpg, zidane.jpg and rear_car.png from the samples directory.

    python3 scripts/bench_inspection.py [--images 10] [--binary target/release/visionflow]
        [--models data/models] [--samples data/samples] [--batch-size 1]
"""
import argparse
import os
import sys
import time
import uuid

from vf_bench import call, login, server






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
    p.add_argument("--batch-size", type=int, default=1)
    a = p.parse_args()
    names = ["bus.jpg", "zidane.jpg", "rear_car.png"]
    imgs = [(names[i % 3], open(os.path.join(a.samples, names[i % 3]), "rb").read()) for i in range(a.images)]
    settings = {
        "VISIONFLOW_MODELS__DIR": os.path.abspath(a.models),
        "VISIONFLOW_INSPECTION__BATCH_SIZE": str(a.batch_size),
        "VISIONFLOW_HTTP__MAX_BODY_BYTES": str(64 << 20),
    }
    with server(a.binary, settings) as (base, _):
        tok = login(base)
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


if __name__ == "__main__":
    sys.exit(main())
