#!/usr/bin/env bash
# The benchmark's baseline (n) is nginx as a plain reverse proxy (Debian package).
set -euo pipefail
if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light
fi
