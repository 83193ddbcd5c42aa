#!/usr/bin/env bash
# Install test: installs this repository into a fresh temporary app the way a user does before the package is
# published, `npm install git+file://<repo>#<HEAD commit>`, which clones the commit, installs its devDependencies,
# runs the `prepare` script (the build) and packs `files`; then loads both builds from the app: ESM `import` and
# CommonJS `require`. It tests the committed HEAD, not uncommitted changes. Bounded: the install gives up after 180 s (about 70-150 s: npm installs the devDependencies in its clone).
# Usage: bash test/install/run.sh   (.ci/run runs it after npm test, as npm run test:install)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { printf '\n[install +%ss] %s\n' "$SECONDS" "$*"; }

commit="$(git -C "$root" rev-parse HEAD)"
if [[ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]]; then
  log "note: uncommitted changes are not part of this test (it installs commit $commit)"
fi

app="$(mktemp -d)"
trap 'rm -rf "$app"' EXIT
cd "$app"
printf '{ "name": "install-test-app", "version": "1.0.0", "private": true }\n' > package.json

log "npm install git+file://$root#$commit"
timeout 180 npm install --prefer-offline --no-audit --no-fund --loglevel=error "git+file://$root#$commit"

test -f node_modules/nestjs-trace/dist/esm/index.js || { echo "install: dist/esm missing (prepare did not build)"; exit 1; }
test -f node_modules/nestjs-trace/dist/cjs/index.js || { echo "install: dist/cjs missing (prepare did not build)"; exit 1; }

log "ESM import and CommonJS require from the app"
node --input-type=module -e '
  import "reflect-metadata";
  const lib = await import("nestjs-trace");
  for (const name of ["TraceModule", "Trace", "NoTrace", "TraceContext"]) if (!lib[name]) throw new Error("ESM: no export " + name);
  console.log("import  -> " + import.meta.resolve("nestjs-trace") + " (" + Object.keys(lib).length + " exports)");
'
node -e '
  require("reflect-metadata");
  const lib = require("nestjs-trace");
  for (const name of ["TraceModule", "Trace", "NoTrace", "TraceContext"]) if (!lib[name]) throw new Error("CJS: no export " + name);
  console.log("require -> " + require.resolve("nestjs-trace") + " (" + Object.keys(lib).length + " exports)");
'
log "passed in ${SECONDS}s"
