#!/usr/bin/env python3
"""Reference detections from ONNX Runtime for VisionFlow's YOLO parity tests.

Runs each model's own ONNX file (the `source.onnx` that `visionflow models fetch` installs)
with onnxruntime on CPU, with the Ultralytics pre/post-processing re-implemented in numpy:
cv2 decode, LetterBox (ultralytics/data/augment.py), non_max_suppression, scale_boxes,
process_mask + scale_image (ultralytics/utils/ops.py). Writes one JSON fixture per
(model, image) into OUT_DIR: detections with class, confidence, bbox in source pixels and,
for segment models, the mask as run-length encoding (alternating 0/1 runs, row-major,
starting with 0s).

Regenerate (needs `pip install onnxruntime opencv-python-headless numpy`):
    scripts/reference/yolo_reference.py data/models data/samples tests/fixtures/reference
"""
import hashlib
import json
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort

CONF, IOU, MAX_DET = 0.25, 0.7, 300


def letterbox(img, size=640):
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = int(round(w * r)), int(round(h * r))
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    if (w, h) != (new_w, new_h):
        img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return img, r, (left, top), (new_w, new_h)


def nms(boxes, scores, classes, iou):
    order = np.argsort(-scores, kind="stable")
    keep = []
    for i in order:
        ok = True
        for k in keep:
            if classes[k] != classes[i]:
                continue
            xx1, yy1 = max(boxes[i, 0], boxes[k, 0]), max(boxes[i, 1], boxes[k, 1])
            xx2, yy2 = min(boxes[i, 2], boxes[k, 2]), min(boxes[i, 3], boxes[k, 3])
            inter = max(0.0, xx2 - xx1) * max(0.0, yy2 - yy1)
            a = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
            b = (boxes[k, 2] - boxes[k, 0]) * (boxes[k, 3] - boxes[k, 1])
            if inter / (a + b - inter + 1e-9) > iou:
                ok = False
                break
        if ok:
            keep.append(i)
        if len(keep) >= MAX_DET:
            break
    return keep


def rle(mask):
    flat = mask.reshape(-1).astype(np.uint8)
    runs, cur, n = [], 0, 0
    for v in flat:
        if v == cur:
            n += 1
        else:
            runs.append(n)
            cur, n = v, 1
    runs.append(n)
    return runs


def run(model_dir, image_path):
    onnx_path = os.path.join(model_dir, "source.onnx")
    info = json.load(open(os.path.join(model_dir, "model.json")))
    names = info["names"]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    img0 = cv2.imread(image_path)
    h0, w0 = img0.shape[:2]
    img, gain, (padx, pady), (new_w, new_h) = letterbox(img0)
    x = img[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    preds = outs[0][0].astype(np.float32)
    nc = len(names)
    scores_all = preds[4 : 4 + nc]
    cls = scores_all.argmax(0)
    conf = scores_all.max(0)
    sel = np.where(conf > CONF)[0]
    xywh = preds[:4, sel].T
    boxes = np.stack([xywh[:, 0] - xywh[:, 2] / 2, xywh[:, 1] - xywh[:, 3] / 2,
                      xywh[:, 0] + xywh[:, 2] / 2, xywh[:, 1] + xywh[:, 3] / 2], 1)
    keep = nms(boxes, conf[sel], cls[sel], IOU)
    dets = []
    protos = outs[1][0].astype(np.float32) if len(outs) > 1 else None
    for k in keep:
        i = sel[k]
        b = boxes[k]
        src = [float(np.clip((b[0] - padx) / gain, 0, w0)), float(np.clip((b[1] - pady) / gain, 0, h0)),
               float(np.clip((b[2] - padx) / gain, 0, w0)), float(np.clip((b[3] - pady) / gain, 0, h0))]
        d = {"class_id": int(cls[i]), "class": names[int(cls[i])], "confidence": float(conf[i]),
             "bbox": [round(v, 2) for v in src]}
        if protos is not None:
            c, mh, mw = protos.shape
            coefs = preds[4 + nc :, i]
            m = (coefs @ protos.reshape(c, -1)).reshape(mh, mw)
            x1, y1, x2, y2 = b * np.array([mw / 640, mh / 640, mw / 640, mh / 640])
            r = np.arange(mw)[None, :]
            cc = np.arange(mh)[:, None]
            m = m * ((r >= x1) & (r < x2) & (cc >= y1) & (cc < y2))
            m = cv2.resize(m, (640, 640), interpolation=cv2.INTER_LINEAR)
            m = (m > 0).astype(np.float32)
            m = m[pady : pady + new_h, padx : padx + new_w]
            m = cv2.resize(m, (w0, h0), interpolation=cv2.INTER_LINEAR) >= 0.5
            d["mask_area"] = int(m.sum())
            d["mask_rle"] = rle(m)
        dets.append(d)
    return {
        "model": info["name"],
        "onnx_sha256": hashlib.sha256(open(onnx_path, "rb").read()).hexdigest(),
        "image": os.path.basename(image_path),
        "image_size": [w0, h0],
        "runtime": f"onnxruntime {ort.__version__}, opencv {cv2.__version__}",
        "conf": CONF,
        "iou": IOU,
        "detections": dets,
    }


def main():
    models, samples, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    for model in ("vehicles", "people"):
        for image in ("bus.jpg", "zidane.jpg"):
            res = run(os.path.join(models, model), os.path.join(samples, image))
            path = os.path.join(out, f"yolo_{model}_{image.split('.')[0]}.json")
            with open(path, "w") as f:
                json.dump(res, f, separators=(",", ":"))
            print(path, [(d["class"], round(d["confidence"], 3)) for d in res["detections"]])


if __name__ == "__main__":
    main()
