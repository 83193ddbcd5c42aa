#!/usr/bin/env bash
# Runs a Nest app's own Jest suite twice, without and with nestjs-trace on everywhere (trace-everywhere.cjs), and
# compares the results; the library's JSON reports of the second run are kept for reading.
# Usage: bash scripts/real-app-check/run.sh <app-dir> [<jest config, relative to app-dir>] [jest args...]
#   e.g. bash scripts/real-app-check/run.sh ~/cats-app test/jest-e2e.json
# The app must have its dependencies installed (Jest, ts-jest, @nestjs/testing). The packed library is installed into
# the app's node_modules with `npm install --no-save` (its package.json and lock file are left as they are).
# Not part of npm test: it needs an app from outside this repository.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
app="$(cd "${1:?usage: run.sh <app-dir> [jest config] [jest args...]}" && pwd)"
config="${2:-package.json}"
shift $(( $# >= 2 ? 2 : 1 ))
out="$(mktemp -d)"

cd "$root"
[[ -f dist/cjs/index.js ]] || npm run build
npm pack --silent --ignore-scripts --pack-destination "$out" >/dev/null
(cd "$app" && npm install --no-save --no-audit --no-fund "$out"/nestjs-trace-*.tgz >/dev/null)

# A config next to the app's own, so its relative paths (rootDir, roots) keep their meaning.
config_dir="$(dirname "$app/$config")"
wrapper="$config_dir/.trace-everywhere.jest.config.cjs"
trap 'rm -f "$wrapper"' EXIT
cat > "$wrapper" <<JS
const path = require('node:path');
const file = path.join(__dirname, $(node -e 'console.log(JSON.stringify(require("path").basename(process.argv[1])))' "$config"));
const base = file.endsWith('package.json') ? require(file).jest ?? {} : require(file);
module.exports = { ...base, setupFiles: [...(base.setupFiles ?? []), $(node -e 'console.log(JSON.stringify(process.argv[1]))' "$here/trace-everywhere.cjs")] };
JS

run() {
  local name="$1" cfg="$2"
  shift 2
  (cd "$app" && npx jest --config "$cfg" --json --outputFile "$out/$name.json" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr") || true
  node -e '
    const r = require(process.argv[1]);
    console.log(process.argv[2].padEnd(9), "tests", r.numTotalTests, "passed", r.numPassedTests, "failed", r.numFailedTests);
  ' "$out/$name.json" "$name"
}
run baseline "$app/$config" "$@"
run traced "$wrapper" "$@"

node -e '
  const fs = require("fs");
  const [base, traced, stdout] = process.argv.slice(1);
  const results = (file) => new Map(require(file).testResults.flatMap((s) => s.assertionResults.map((a) => [s.name + " › " + a.fullName, a.status])));
  const a = results(base), b = results(traced);
  const broken = [...a].filter(([name, status]) => status === "passed" && b.get(name) !== "passed").map(([name]) => name);
  const reports = fs.readFileSync(stdout, "utf8").split("\n").filter((l) => l.startsWith("{\"type\":\"trace\""))
    .map((l) => JSON.parse(l));
  const count = (key) => reports.reduce((m, r) => ((m[key(r)] = (m[key(r)] ?? 0) + 1), m), {});
  console.log("reports", reports.length, JSON.stringify(count((r) => r.outcome)), JSON.stringify(count((r) => r.transport)));
  const synthetic = reports.filter((r) => ["RejectedBeforeHandler", "ServerErrorResponse"].includes(r.error?.name));
  console.log("synthetic errors", synthetic.length, JSON.stringify(synthetic.map((r) => [r.route, r.error.message])));
  // The other direction is a change too (e.g. an unhandled rejection the side chain of a traced Promise now handles).
  const fixed = [...b].filter(([name, status]) => status === "passed" && a.get(name) !== "passed").map(([name]) => name);
  if (fixed.length) console.log("passed with the library, not without it (a change to read):\n  " + fixed.join("\n  "));
  if (broken.length) { console.log("passed without the library, not with it:\n  " + broken.join("\n  ")); process.exitCode = 1; }
  else console.log("every test that passes without the library passes with it");
' "$out/baseline.json" "$out/traced.json" "$out/traced.stdout"
echo "outputs (Jest JSON, stdout with the reports, stderr): $out"
