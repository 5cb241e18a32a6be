#!/usr/bin/env bash
# End-to-end latency of POST /detect/image (median of 20) against the Python onnxruntime +
# RapidOCR pipeline on the same image, in one run: builds the release server, starts it on
# a temporary data dir with the installed models, creates an account and an API key, runs
# scripts/bench_detect_e2e.py, stops the server.
#   scripts/bench-e2e.sh [IMAGE] [RUNS]      (default: data/samples/rear_car.png, 20)
set -euo pipefail
cd "$(dirname "$0")/.."
image="${1:-data/samples/rear_car.png}"
runs="${2:-20}"
models="${VF_MODELS_DIR:-$PWD/data/models}"
python3 -c "import onnxruntime, cv2, rapidocr_onnxruntime" 2>/dev/null \
  || pip install -q onnxruntime opencv-python-headless rapidocr-onnxruntime==1.4.4
cargo build --release --locked --bin visionflow
tmp="$(mktemp -d)"
port=18088
VISIONFLOW_MODELS__DIR="$models" ./target/release/visionflow serve --data-dir "$tmp" \
  --listen "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
url="http://127.0.0.1:$port"
curl -sf -H 'content-type: application/json' -d '{"username":"bench","email":"bench@example.com","password":"bench-password-1"}' "$url/register" >/dev/null
token="$(curl -sf -H 'content-type: application/json' -d '{"username":"bench","password":"bench-password-1"}' "$url/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
key="$(curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"query":"mutation { createApiKey(input: {name: \"bench\"}) { key } }"}' "$url/graphql" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["createApiKey"]["key"])')"
python3 scripts/bench_detect_e2e.py "$url" "$key" "$image" "$models" "$runs" "$(nproc)"
