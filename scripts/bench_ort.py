#!/usr/bin/env python3
"""ONNX Runtime side of `visionflow bench`: median milliseconds per forward pass of each
default model, and of the whole ALPR pipeline (vehicles on ORT, then RapidOCR without the
direction classifier on each vehicle crop), on the same files and input sizes the candle
side uses. Prints one JSON object.

    scripts/bench_ort.py MODELS_DIR SAMPLES_DIR RUNS WARMUP THREADS

Needs: pip install onnxruntime opencv-python-headless rapidocr-onnxruntime==1.4.4
"""
import json
import os
import statistics
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort


def median_ms(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def session(path, threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def letterbox(img, size=640):
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    dw, dh = (size - nw) / 2, (size - nh) / 2
    img = cv2.copyMakeBorder(img, int(round(dh - 0.1)), int(round(dh + 0.1)), int(round(dw - 0.1)),
                             int(round(dw + 0.1)), cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return img[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0, r, (dw, dh)


def main():
    models, samples, runs, warmup, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    out = {"runtime": f"onnxruntime {ort.__version__}", "threads": threads}
    bus = cv2.imread(os.path.join(samples, "bus.jpg"))
    x, _, _ = letterbox(bus)
    for name in ("vehicles", "people"):
        s = session(os.path.join(models, name, "source.onnx"), threads)
        inp = s.get_inputs()[0].name
        out[name] = median_ms(lambda: s.run(None, {inp: x}), runs, warmup)
    det = session(os.path.join(models, "ocr-det", "source.onnx"), threads)
    xd = np.random.default_rng(0).standard_normal((1, 3, 736, 1152)).astype(np.float32)
    out["ocr-det"] = median_ms(lambda: det.run(None, {"x": xd}), runs, warmup)
    rec = session(os.path.join(models, "ocr-rec", "source.onnx"), threads)
    xr = np.random.default_rng(0).standard_normal((1, 3, 48, 320)).astype(np.float32)
    out["ocr-rec"] = median_ms(lambda: rec.run(None, {"x": xr}), runs, warmup)

    from rapidocr_onnxruntime import RapidOCR
    engine = RapidOCR(det_model_path=os.path.join(models, "ocr-det", "source.onnx"),
                      rec_model_path=os.path.join(models, "ocr-rec", "source.onnx"),
                      intra_op_num_threads=threads)
    veh = session(os.path.join(models, "vehicles", "source.onnx"), threads)
    car = cv2.imread(os.path.join(samples, "rear_car.png"))

    def alpr():
        xi, r, (dw, dh) = letterbox(car)
        p = veh.run(None, {"images": xi})[0][0]
        scores = p[4:10].max(0)
        i = int(scores.argmax())
        cx, cy, w, h = p[:4, i]
        x1 = int(max(0, (cx - w / 2 - dw) / r)); y1 = int(max(0, (cy - h / 2 - dh) / r))
        x2 = int(min(car.shape[1], (cx + w / 2 - dw) / r)); y2 = int(min(car.shape[0], (cy + h / 2 - dh) / r))
        return engine(car[y1:y2, x1:x2], use_cls=False)

    out["alpr"] = median_ms(alpr, max(3, runs // 4), 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
