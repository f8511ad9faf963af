#!/usr/bin/env bash
# Installs everything writegate needs on a fresh machine with Node 20 and Go:
# npm packages, the pinned OPA build, and the compiled gateway (dist/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; }
npm ci --no-audit --no-fund
bash scripts/setup-opa.sh
npm run build --silent
# The simulators and benchmarks (not the gateway; never in dist/ or the image) go to dist-dev/, for `writegate demo`.
npm run build:dev --silent
# Link the `writegate` bin (package.json depends on itself as file:.) now that dist/ exists, so `npx writegate` works.
npm rebuild writegate >/dev/null
echo "setup: done (writegate $(node dist/cli/index.js --version), $(.tools/bin/opa version | head -1))"
