#!/usr/bin/env bash
# Installs Debian's `chromium` for the audit report test (test/e2e/audit-html.test.ts), which opens report.html in
# headless Chromium and checks a screenshot. Debian's package (not a downloaded build) so that its libraries come
# with it; a second run with it installed is a no-op.
set -euo pipefail
if command -v chromium >/dev/null; then
  echo "setup-chromium: $(chromium --version 2>/dev/null || echo chromium) ready"
  exit 0
fi
[[ "$(id -u)" == 0 ]] || { echo "setup-chromium: chromium is missing; install Debian's package: apt-get install chromium" >&2; exit 1; }
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
echo "setup-chromium: $(chromium --version) installed"
