#!/usr/bin/env python3
"""Fetches the real sample images the tests use, from PyPI source distributions.

- bus.jpg, zidane.jpg: Ultralytics' own samples, from the `ultralytics` sdist;
- test_plate_1.png, test_plate_2.png: licence-plate crops, from the `fast-plate-ocr` sdist;
- rear_car.png: a real rear-car photo (plate 5AU 5341), from the `fast-alpr` sdist.

Each sdist is found through PyPI's simple index (the API pip itself uses), checked
against the sha256 the index publishes, and only the listed files are extracted into DEST
(default data/samples). Idempotent.
"""
import hashlib
import io
import os
import re
import sys
import tarfile
import urllib.request

SOURCES = {
    ("ultralytics", "8.4.190"): {
        "ultralytics-8.4.190/ultralytics/assets/bus.jpg": "bus.jpg",
        "ultralytics-8.4.190/ultralytics/assets/zidane.jpg": "zidane.jpg",
    },
    ("fast-alpr", "0.4.0"): {
        "fast_alpr-0.4.0/assets/test_image.png": "rear_car.png",
    },
    ("fast-plate-ocr", "1.1.0"): {
        "fast_plate_ocr-1.1.0/test/assets/test_plate_1.png": "test_plate_1.png",
        "fast_plate_ocr-1.1.0/test/assets/test_plate_2.png": "test_plate_2.png",
    },
}


def main():
    dest = sys.argv[1] if len(sys.argv) > 1 else "data/samples"
    os.makedirs(dest, exist_ok=True)
    for (name, version), files in SOURCES.items():
        if all(os.path.isfile(os.path.join(dest, f)) for f in files.values()):
            continue
        index = urllib.request.urlopen(f"https://pypi.org/simple/{name}/", timeout=60).read().decode()
        wanted = f"{name.replace('-', '_')}-{version}.tar.gz"
        links = re.findall(r'href="([^"#]+)#sha256=([0-9a-f]{64})"', index)
        url, sha = next((u, h) for u, h in links if u.rsplit("/", 1)[-1].lower() == wanted.lower())
        data = urllib.request.urlopen(url, timeout=300).read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha:
            sys.exit(f"checksum mismatch for {wanted}: {digest}")
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member, out in files.items():
                with open(os.path.join(dest, out), "wb") as f:
                    f.write(tar.extractfile(member).read())
        print(f"{name}=={version}: {', '.join(files.values())}")
    print(f"samples in {dest}")


if __name__ == "__main__":
    main()
