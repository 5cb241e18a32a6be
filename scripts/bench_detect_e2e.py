#!/usr/bin/env python3
"""End-to-end latency of `POST /detect/image` against the Python ONNX Runtime + RapidOCR
pipeline on the same image, in one run on one machine.

VisionFlow side: wall time of each HTTP request as a client sees it (upload, decode,
vehicles, OCR, artifacts written, rows committed, JSON answer), sequential requests.
Python side: decode the same bytes with OpenCV, vehicles with onnxruntime on the same ONNX
file, RapidOCR 1.4.4 (no direction classifier) on the best vehicle crop: the models only,
no storage and no HTTP. Prints medians and p90 in milliseconds, then one JSON line.

    scripts/bench_detect_e2e.py URL API_KEY IMAGE MODELS_DIR [RUNS] [THREADS]

Needs: pip install onnxruntime opencv-python-headless rapidocr-onnxruntime==1.4.4
"""
import json
import os
import statistics
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ort import letterbox, session  # noqa: E402


def post(url, key, name, data, location):
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + (
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"location\"\r\n\r\n{location}\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    req = urllib.request.Request(url.rstrip("/") + "/detect/image", data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "X-API-Key": key})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def main():
    url, key, image, models = sys.argv[1:5]
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else os.cpu_count()
    data = open(image, "rb").read()
    name = os.path.basename(image)

    plates = set()
    server, client = [], []
    for i in range(runs + 2):
        t = time.perf_counter()
        d = post(url, key, name, data, "Bench Gate")
        ms = (time.perf_counter() - t) * 1000
        if i >= 2:
            client.append(ms)
            server.append(d["processing_time"] * 1000)
        plates.update(e["plate"]["plate_text"] for e in d["list_vehicle_and_plate_information"] if e["plate"])

    import cv2
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR
    engine = RapidOCR(det_model_path=os.path.join(models, "ocr-det", "source.onnx"),
                      rec_model_path=os.path.join(models, "ocr-rec", "source.onnx"),
                      intra_op_num_threads=threads)
    veh = session(os.path.join(models, "vehicles", "source.onnx"), threads)

    def pipeline():
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        xi, r, (dw, dh) = letterbox(img)
        p = veh.run(None, {"images": xi})[0][0]
        i = int(p[4:10].max(0).argmax())
        cx, cy, w, h = p[:4, i]
        x1 = int(max(0, (cx - w / 2 - dw) / r)); y1 = int(max(0, (cy - h / 2 - dh) / r))
        x2 = int(min(img.shape[1], (cx + w / 2 - dw) / r)); y2 = int(min(img.shape[0], (cy + h / 2 - dh) / r))
        res, _ = engine(img[y1:y2, x1:x2], use_cls=False)
        return [t for _, t, _ in (res or [])]

    py_plates = pipeline()
    py = []
    for _ in range(runs):
        t = time.perf_counter()
        pipeline()
        py.append((time.perf_counter() - t) * 1000)

    print(f"image {name}, {runs} runs after 2 warm-ups, {threads} threads")
    print(f"{'path':<52}{'median ms':>10}{'p90 ms':>10}")
    print(f"{'VisionFlow POST /detect/image (client wall time)':<52}{statistics.median(client):>10.1f}{pct(client, 0.9):>10.1f}")
    print(f"{'  of which inference (processing_time)':<52}{statistics.median(server):>10.1f}{pct(server, 0.9):>10.1f}")
    print(f"{'Python onnxruntime + RapidOCR (models only)':<52}{statistics.median(py):>10.1f}{pct(py, 0.9):>10.1f}")
    print(f"ratio VisionFlow end-to-end / Python models-only: {statistics.median(client) / statistics.median(py):.2f}x")
    print(f"plates read: VisionFlow {sorted(plates)}, Python {py_plates}")
    print(json.dumps({"client_ms": statistics.median(client), "inference_ms": statistics.median(server),
                      "python_ms": statistics.median(py), "runs": runs, "threads": threads}))


if __name__ == "__main__":
    main()
