#!/usr/bin/env bash
# Re-fetches the assets of /docs (Swagger UI) and /redoc (ReDoc) from the npm registry
# (see src/http/assets/docs/LICENSES.md). VisionFlow serves them itself: no CDN.
set -euo pipefail
dest="$(cd "$(dirname "$0")/.." && pwd)/src/http/assets/docs"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent swagger-ui-dist@5.35.0 redoc@3.0.1 >/dev/null
for f in *.tgz; do mkdir "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
mkdir -p "$dest"
cp swagger-ui-dist-5.35.0/package/swagger-ui-bundle.js swagger-ui-dist-5.35.0/package/swagger-ui.css "$dest/"
cp redoc-3.0.1/package/bundles/redoc.standalone.js "$dest/"
echo "updated $dest"
