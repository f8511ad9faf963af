#!/usr/bin/env bash
# Installs a real third-party AWS implementation for the AWS tests (test/aws):
# `moto[server]` from PyPI in a venv under .tools/moto-<version>/, made with the
# machine image's pyenv Python 3.11. `moto_server -H 127.0.0.1 -p PORT` then
# serves IAM and EC2 (the Query protocol) at `/`; test/aws/harness.ts starts one
# per test file. A second run with nothing changed is a no-op.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

MOTO_VERSION=5.2.5
PYTHON_VERSION=3.11.7

tools="$root/.tools/moto-$MOTO_VERSION"
venv="$tools/venv"
manifest="$root/.tools/moto.json"

log() { echo "setup-moto: $*"; }
die() { echo "setup-moto: $*" >&2; exit 1; }

# MOTO_PYTHON, when set, names the interpreter to use instead of pyenv's.
find_python() {
  if [[ -n "${MOTO_PYTHON:-}" ]]; then echo "$MOTO_PYTHON"; return; fi
  local prefix=""
  if command -v pyenv >/dev/null; then prefix="$(pyenv prefix "$PYTHON_VERSION" 2>/dev/null || true)"; fi
  [[ -n "$prefix" ]] || prefix="${PYENV_ROOT:-$HOME/.pyenv}/versions/$PYTHON_VERSION"
  [[ -x "$prefix/bin/python3" ]] ||
    die "Python $PYTHON_VERSION not found (pyenv prefix $PYTHON_VERSION; looked in $prefix). Install it with 'pyenv install $PYTHON_VERSION' or set MOTO_PYTHON to a Python >= 3.9."
  echo "$prefix/bin/python3"
}

stamp="moto[server]==$MOTO_VERSION python==$PYTHON_VERSION"
if [[ -f "$venv/.writegate-stamp" ]] && [[ "$(cat "$venv/.writegate-stamp")" == "$stamp" ]] && [[ -f "$manifest" ]]; then
  log "venv ready ($stamp)"
  exit 0
fi
py="$(find_python)"
start=$(date +%s)
log "building the venv ($stamp) with $py"
rm -rf "$venv"
mkdir -p "$tools"
"$py" -m venv "$venv"
"$venv/bin/pip" install -q "moto[server]==$MOTO_VERSION" >"$tools/pip.log" 2>&1 ||
  { cat "$tools/pip.log" >&2; die "pip install failed"; }
"$venv/bin/moto_server" --help >/dev/null || die "the venv at $venv has no working moto_server"
echo "$stamp" >"$venv/.writegate-stamp"
printf '{"version":"%s","motoServer":"%s"}\n' "$MOTO_VERSION" "$venv/bin/moto_server" >"$manifest"
log "venv built in $(( $(date +%s) - start ))s ($(du -sm "$venv" | cut -f1) MB)"
