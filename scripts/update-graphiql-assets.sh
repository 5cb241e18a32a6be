#!/usr/bin/env bash
# Re-fetches the GraphiQL page's assets from the npm registry (see src/http/assets/graphiql/LICENSES.md).
set -euo pipefail
dest="$(cd "$(dirname "$0")/.." && pwd)/src/http/assets/graphiql"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent graphiql@3.8.3 react@18.3.1 react-dom@18.3.1 >/dev/null
for f in *.tgz; do mkdir "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
cp graphiql-3.8.3/package/graphiql.min.js graphiql-3.8.3/package/graphiql.min.css "$dest/"
cp react-18.3.1/package/umd/react.production.min.js react-dom-18.3.1/package/umd/react-dom.production.min.js "$dest/"
echo "updated $dest"
