#!/usr/bin/env bash
# Builds the Terraform Kubernetes provider for the Terraform end-to-end tests
# (test/terraform) from the Go module proxy, at the one pseudo-version the
# proxy serves, into .tools/terraform-provider-kubernetes-<version>/, and
# names that folder in .tools/terraform-providers.json for the tests, which
# install it with a CLI config of their own (dev_overrides), so nothing is
# written to ~/.terraform.d. Skipped when the binary is already there.
# Cold (empty module and build caches) this took 698 s on 2 cores shared with
# other builds and test suites (about 5.5 minutes on a quiet machine), 1.3 GB
# of memory at its peak; the stripped binary is 62 MB. It runs at a lower
# priority with at most two compile jobs so that it does not starve other work
# on the machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

KUBERNETES_PROVIDER_MODULE=github.com/hashicorp/terraform-provider-kubernetes
KUBERNETES_PROVIDER_VERSION=v1.13.4-0.20260821094251-3a33fb6cc605

log() { echo "setup-terraform-providers: $*"; }

dir="$root/.tools/terraform-provider-kubernetes-$KUBERNETES_PROVIDER_VERSION"
bin="$dir/terraform-provider-kubernetes"
manifest="$root/.tools/terraform-providers.json"
write_manifest() {
  printf '{"kubernetes":{"version":"%s","dir":"%s"}}\n' "$KUBERNETES_PROVIDER_VERSION" "$dir" >"$manifest"
}
if [[ -x "$bin" ]]; then
  write_manifest
  log "Kubernetes provider $KUBERNETES_PROVIDER_VERSION already built at $bin"
  exit 0
fi
command -v go >/dev/null || { echo "setup-terraform-providers: Go is required to build $KUBERNETES_PROVIDER_MODULE" >&2; exit 1; }
start=$(date +%s)
log "building $KUBERNETES_PROVIDER_MODULE@$KUBERNETES_PROVIDER_VERSION from the Go module proxy (cold: about 5.5 minutes)"
mkdir -p "$dir"
# Built into a temporary name and renamed, so that an interrupted build is not
# taken for a finished one by the check above.
GOBIN="$dir/.partial" GOMAXPROCS=2 CGO_ENABLED=0 nice -n 10 \
  go install -trimpath -p 2 -ldflags="-s -w" "$KUBERNETES_PROVIDER_MODULE@$KUBERNETES_PROVIDER_VERSION"
mv "$dir/.partial/terraform-provider-kubernetes" "$bin"
rmdir "$dir/.partial"
write_manifest
log "built $bin in $(( $(date +%s) - start ))s ($(du -m "$bin" | cut -f1) MB)"
