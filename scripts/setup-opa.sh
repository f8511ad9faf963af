#!/usr/bin/env bash
# Builds the pinned OPA release from its Go module (tools/opa/go.mod) into
# .tools/bin/opa. Skipped when that binary already reports the pinned version.
# OPA_BIN, when set, names a binary to use instead (nothing is built).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -n "${OPA_BIN:-}" ]]; then
  echo "setup-opa: using OPA_BIN=$OPA_BIN ($("$OPA_BIN" version | head -1))"
  exit 0
fi
want="$(grep -oE "github.com/open-policy-agent/opa v[0-9.]+" "$root/tools/opa/go.mod" | awk "{print \$2}")"
bin="$root/.tools/bin/opa"
if [[ -x "$bin" ]] && [[ "$("$bin" version | awk '/^Version:/{print "v"$2}')" == "$want" ]]; then
  echo "setup-opa: OPA $want already built at $bin"
  exit 0
fi
command -v go >/dev/null || { echo "setup-opa: Go is required to build OPA ($want)" >&2; exit 1; }
mkdir -p "$root/.tools/bin"
start=$(date +%s)
echo "setup-opa: building OPA $want from the Go module proxy (a cold build takes a few minutes)"
(cd "$root/tools/opa" && go build -trimpath -o "$bin" .)
echo "setup-opa: built $("$bin" version | head -1) in $(( $(date +%s) - start ))s"
