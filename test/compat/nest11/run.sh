#!/usr/bin/env bash
# Nest 11 compatibility suite: runs the HTTP (Express, Fastify) and Socket.IO e2e essentials against NestJS 11,
# consuming nestjs-trace exactly as a Nest 11 (CommonJS) app does: the package is packed and installed into this
# folder's node_modules, so `require('nestjs-trace')` goes through the `exports` "require" condition to dist/cjs, and
# the library's own `require('@nestjs/...')` resolves to the Nest 11 copies here (requiring ../../../dist/cjs directly
# would make Node resolve them from the repo root, i.e. Nest 12).
# Usage: bash test/compat/nest11/run.sh [jest args...]   (npm test runs it after npm run build)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
log() { printf '\n[compat:nest11 +%ss] %s\n' "$SECONDS" "$*"; }

cd "$root"
if [[ -f dist/cjs/index.js && -f dist/esm/index.js && -f dist/cjs/package.json ]]; then
  log "using the existing build in dist/ (run 'npm run build' to refresh it)"
else
  log "dist/ is missing: npm run build"
  npm run build
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log "npm pack (the files a user would install) -> $tmp"
npm pack --silent --ignore-scripts --pack-destination "$tmp" >/dev/null
tarball="$(ls "$tmp"/*.tgz)"
echo "$(basename "$tarball")"

cd "$here"
# npm ci wipes node_modules; skip it while the installed tree still matches package-lock.json and this Node.
stamp_file=node_modules/.compat-nest11-stamp
stamp="$(node -e 'const c=require("crypto"),f=require("fs");console.log(c.createHash("sha256").update(f.readFileSync("package-lock.json")).update(f.readFileSync("package.json")).update(process.version).digest("hex"))')"
if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
  log "node_modules is up to date with package-lock.json: skipping npm ci"
else
  log "npm ci in test/compat/nest11 (Nest 11 dependencies)"
  npm ci --prefer-offline --no-audit --no-fund
  echo "$stamp" > "$stamp_file"
fi

log "npm install --no-save $(basename "$tarball")"
rm -rf node_modules/nestjs-trace # never reuse a previous build's copy
npm install --no-save --prefer-offline --no-audit --no-fund "$tarball"

node -e '
  const v = (n) => require(n + "/package.json").version;
  console.log("node " + process.version + ", nestjs-trace " + v("nestjs-trace") + " -> " + require.resolve("nestjs-trace"));
  console.log(["@nestjs/common", "@nestjs/core", "@nestjs/websockets", "@nestjs/platform-express", "@nestjs/platform-socket.io"].map((n) => n + "@" + v(n)).join(", "));
'

# Type-check the specs against the installed declarations, both ways a CommonJS app resolves them: classic
# `module: commonjs` (node10: the top-level "types") and `module: node16` (the "require" condition of `exports`,
# i.e. dist/cjs/*.d.ts), the latter with skipLibCheck off so the library's declarations are checked against Nest 11.
log "tsc --noEmit (module commonjs, node10 resolution)"
node_modules/.bin/tsc -p tsconfig.json
log "tsc --noEmit (module node16, exports 'require' condition, skipLibCheck false)"
node_modules/.bin/tsc -p tsconfig.json --module node16 --moduleResolution node16 --skipLibCheck false

log "jest (CommonJS, ts-jest) against NestJS 11"
node_modules/.bin/jest --runInBand "$@"
log "passed in ${SECONDS}s"
