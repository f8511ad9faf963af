#!/usr/bin/env bash
# The whole test suite: policy checks and unit tests with the pinned OPA,
# the TypeScript type check, then vitest (unit, integration with a real OPA,
# end to end with real kubectl).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup-opa.sh >/dev/null
# The real kube-apiserver and etcd for test/real-kube (built once, then a no-op).
bash scripts/setup-kube.sh
opa="${OPA_BIN:-$root/.tools/bin/opa}"
echo "== opa fmt / check / test (policies/)"
"$opa" fmt --list --fail policies/
"$opa" check --strict policies/
"$opa" test policies/
echo "== tsc (strict)"
npx tsc -p tsconfig.json --noEmit
npx tsc -p test/tsconfig.json --noEmit
echo "== vitest"
npx vitest run
