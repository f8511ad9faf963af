#!/usr/bin/env bash
# The whole test suite: policy checks and unit tests with the pinned OPA,
# the TypeScript type check, then vitest (unit, integration with a real OPA,
# end to end with real kubectl, a real kube-apiserver and a real NetBox).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup-opa.sh >/dev/null
# The real kube-apiserver and etcd for test/real-kube (built once, then a no-op).
bash scripts/setup-kube.sh
# The real NetBox for test/netbox: a venv, PostgreSQL, Redis and a migrated database dump (cached, then a no-op).
bash scripts/setup-netbox.sh
# A real AWS implementation for test/aws: moto[server] in a venv (cached, then a no-op).
bash scripts/setup-moto.sh
# Terraform's Kubernetes provider for test/terraform (built once from the Go module proxy, then a no-op).
bash scripts/setup-terraform-providers.sh
# Debian's chromium for the audit report test (installed once, then a no-op).
bash scripts/setup-chromium.sh
opa="${OPA_BIN:-$root/.tools/bin/opa}"
echo "== opa fmt / check / test (policies/)"
"$opa" fmt --list --fail policies/
"$opa" check --strict policies/
"$opa" test policies/
echo "== tsc (strict)"
npx tsc -p tsconfig.json --noEmit
npx tsc -p test/tsconfig.json --noEmit
echo "== vitest"
mkdir -p .work
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.work/vitest.json || status=$?
# One plain closing line for CI: "N passed, N failed".
node -e 'const r = require("./.work/vitest.json"); console.log(`${r.numPassedTests} passed, ${r.numFailedTests + r.numPendingTests} failed`)' || true
exit "$status"
