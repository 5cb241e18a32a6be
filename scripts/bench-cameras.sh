#!/usr/bin/env bash
# Camera benchmark (release build): N loopback RTSP cameras, 720p at 25 fps, analysis at
# 5 fps, 60 s per N = 1, 2, 4, 8. Arguments go to scripts/bench_cameras.py (see its
# docstring), e.g. `scripts/bench-cameras.sh --counts 1,4 --seconds 30`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release --bin visionflow
[ -f data/models/people/model.json ] || ./target/release/visionflow models fetch
[ -f data/samples/bus.jpg ] || python3 scripts/fetch-samples.py data/samples
exec python3 scripts/bench_cameras.py "$@"
