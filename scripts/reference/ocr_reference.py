#!/usr/bin/env python3
"""Reference text reads from RapidOCR for VisionFlow's OCR parity tests.

Runs `rapidocr_onnxruntime` 1.4.4 (PP-OCRv4 det + rec on ONNX Runtime, the same ONNX files
`visionflow models fetch` installs) on the sample images with the direction classifier off
(`use_cls=False`, as VisionFlow runs: on test_plate_2.png the classifier turns "301" upside
down and reads "TOC"), and writes tests/fixtures/reference/ocr_<image>.json.

Regenerate (needs `pip install rapidocr-onnxruntime==1.4.4 opencv-python-headless`):
    scripts/reference/ocr_reference.py data/samples tests/fixtures/reference
"""
import json
import os
import sys

import cv2
from rapidocr_onnxruntime import RapidOCR


def main():
    samples, out = sys.argv[1:3]
    engine = RapidOCR()
    for image in ("test_plate_1.png", "test_plate_2.png", "rear_car.png"):
        # A BGR array from cv2, not a path: for RGBA PNGs RapidOCR's own loader hands the
        # networks RGB instead of BGR.
        res, _ = engine(cv2.imread(os.path.join(samples, image)), use_cls=False)
        lines = [{"text": t, "confidence": float(c), "box": [[float(x), float(y)] for x, y in box]} for box, t, c in (res or [])]
        path = os.path.join(out, f"ocr_{image.rsplit('.', 1)[0]}.json")
        with open(path, "w") as f:
            json.dump({"image": image, "runtime": "rapidocr_onnxruntime 1.4.4, use_cls=False, cv2.imread input", "lines": lines}, f, ensure_ascii=False)
        print(path, [l["text"] for l in lines])


if __name__ == "__main__":
    main()
