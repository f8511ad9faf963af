#!/usr/bin/env bash
# Installs a real NetBox for the test suite (test/netbox) under
# .tools/netbox-<version>/ and caches a migrated, seeded database dump there:
#   - a venv made with the machine image's pyenv Python 3.12 holding the
#     `netbox` wheel from PyPI, its runtime requirements and pynetbox;
#   - Debian's PostgreSQL 15 and redis-server (apt-installed when missing);
#   - migrate.dump: `pg_dump -Fc` of a migrated database (the migrate runs
#     once per NetBox version: 336 migrations, 5-10 minutes on two cores);
#   - seeded-<pepper>-<seed>.dump: that database plus the users, tokens,
#     permissions and objects of test/netbox/seed.json (v2 tokens are HMACs
#     keyed by the pepper in test/netbox/configuration.py, hence the key);
#   - cluster-<pepper>-<seed>/: a stopped PostgreSQL cluster made from that
#     dump, which the harness copies for each NetBox it starts;
#   - .tools/netbox.json: what test/netbox/harness.ts needs to start it.
# PostgreSQL and Redis run only while the script does, as its own processes
# on free loopback ports. A second run with nothing changed is a no-op.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

NETBOX_VERSION=4.7.3
PYNETBOX_VERSION=7.9.0
PYTHON_VERSION=3.12.1
PG_MAJOR=15

tools="$root/.tools/netbox-$NETBOX_VERSION"
venv="$tools/venv"
conf="$root/test/netbox/configuration.py"
seed_json="$root/test/netbox/seed.json"
seed_py="$root/test/netbox/py/seed.py"
manifest="$root/.tools/netbox.json"
pg_bin="/usr/lib/postgresql/$PG_MAJOR/bin"

log() { echo "setup-netbox: $*"; }
die() { echo "setup-netbox: $*" >&2; exit 1; }
total=$(date +%s)

# NetBox 4.7 requires Python >= 3.12; the image's system python3 is 3.11.
# NETBOX_PYTHON, when set, names the interpreter to use instead.
find_python() {
  if [[ -n "${NETBOX_PYTHON:-}" ]]; then echo "$NETBOX_PYTHON"; return; fi
  local prefix=""
  if command -v pyenv >/dev/null; then prefix="$(pyenv prefix "$PYTHON_VERSION" 2>/dev/null || true)"; fi
  [[ -n "$prefix" ]] || prefix="${PYENV_ROOT:-$HOME/.pyenv}/versions/$PYTHON_VERSION"
  [[ -x "$prefix/bin/python3.12" ]] ||
    die "Python $PYTHON_VERSION not found (pyenv prefix $PYTHON_VERSION; looked in $prefix). Install it with 'pyenv install $PYTHON_VERSION' or set NETBOX_PYTHON to a Python >= 3.12."
  echo "$prefix/bin/python3.12"
}

install_packages() {
  local need=()
  command -v redis-server >/dev/null || need+=(redis-server)
  [[ -x "$pg_bin/postgres" ]] || need+=("postgresql-$PG_MAJOR")
  # NetBox's migrations create the ltree extension.
  [[ -f "/usr/share/postgresql/$PG_MAJOR/extension/ltree.control" ]] || need+=(postgresql-contrib)
  ((${#need[@]})) || return 0
  [[ "$(id -u)" == 0 ]] || die "missing Debian packages: ${need[*]} (apt-get install ${need[*]})"
  local start
  start=$(date +%s)
  log "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  log "installed ${need[*]} in $(( $(date +%s) - start ))s"
}

# The wheel's Requires-Dist pins psycopg[c,pool] (compiled from source against
# libpq headers) and the documentation builders (mkdocs*, zensical), which only
# `netbox upgrade` uses to render the docs. Install the wheel without them and
# with psycopg's prebuilt binary instead: the same pins otherwise.
build_venv() {
  local stamp="netbox==$NETBOX_VERSION pynetbox==$PYNETBOX_VERSION python==$PYTHON_VERSION"
  if [[ -f "$venv/.writegate-stamp" ]] && [[ "$(cat "$venv/.writegate-stamp")" == "$stamp" ]]; then
    log "venv ready ($stamp)"
    return
  fi
  local py start
  py="$(find_python)"
  start=$(date +%s)
  log "building the venv ($stamp) with $py"
  rm -rf "$venv"
  mkdir -p "$tools"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps "netbox==$NETBOX_VERSION"
  local deps
  mapfile -t deps < <("$venv/bin/python" - <<'EOF'
import re
from importlib.metadata import requires

for req in requires('netbox'):
    if ';' in req:  # optional extras (ldap, s3, sentry, ...)
        continue
    name = re.split(r'[\[=<>~! ]', req, maxsplit=1)[0].lower()
    if name.startswith('mkdocs') or name == 'zensical':
        continue
    print(req.replace('psycopg[c,pool]', 'psycopg[binary,pool]'))
EOF
  )
  ((${#deps[@]} > 20)) || die "could not read netbox's requirements from its metadata"
  "$venv/bin/pip" install -q "${deps[@]}" "pynetbox==$PYNETBOX_VERSION" >"$tools/pip.log" 2>&1 ||
    { cat "$tools/pip.log" >&2; die "pip install failed"; }
  # pip's dependency check names the packages left out on purpose; show anything else.
  grep -v -E "requires (mkdocs|zensical|psycopg-c)|dependency conflicts|^$" "$tools/pip.log" || true
  "$venv/bin/python" -c 'import django, psycopg, psycopg_pool, pynetbox' ||
    die "the venv at $venv cannot import django, psycopg and pynetbox"
  echo "$stamp" >"$venv/.writegate-stamp"
  log "venv built in $(( $(date +%s) - start ))s ($(du -sm "$venv" | cut -f1) MB)"
}

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# PostgreSQL refuses to run as root: as root, run it as the Debian `postgres` user.
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

work="" pg_data="" redis_pid=""
stop_servers() {
  [[ -n "$pg_data" && -f "$pg_data/postmaster.pid" ]] &&
    { as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true; }
  [[ -n "$redis_pid" ]] && { kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null || true; }
  [[ -n "$work" ]] && rm -rf "$work"
  work="" pg_data="" redis_pid=""
}
trap stop_servers EXIT

start_servers() {
  work="$(mktemp -d "${TMPDIR:-/tmp}/writegate-netbox-setup-XXXXXX")"
  chmod 755 "$work"
  pg_data="$work/pg"
  mkdir -p "$pg_data" "$work/root/conf"
  [[ "$(id -u)" == 0 ]] && chown postgres: "$pg_data"
  cp "$conf" "$work/root/conf/configuration.py"
  pg_port="$(free_port)"
  redis_port="$(free_port)"
  as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  # A throwaway cluster: durability settings off, as the harness runs it.
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -o \
    "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
  redis_pid=$!
  export NETBOX_ROOT="$work/root" WG_NETBOX_DB_PORT="$pg_port" WG_NETBOX_REDIS_PORT="$redis_port"
}

pg() { "$pg_bin/$1" -h 127.0.0.1 -p "$pg_port" -U postgres "${@:2}"; }

# Keyed by the pepper line and the seed inputs; the folder keys the version.
pepper="$(grep '^API_TOKEN_PEPPERS' "$conf" | sha256sum | cut -c1-12)"
seedkey="$(cat "$seed_json" "$seed_py" | sha256sum | cut -c1-12)"
seeded="$tools/seeded-$pepper-$seedkey.dump"
cluster="$tools/cluster-$pepper-$seedkey"

prepare_dump() {
  local start
  if [[ -f "$seeded" ]]; then
    log "database dump ready ($seeded)"
    return
  fi
  start_servers
  pg createdb netbox
  if [[ -f "$tools/migrate.dump" ]]; then
    log "restoring the migrated database ($tools/migrate.dump)"
    pg pg_restore --no-owner -d netbox "$tools/migrate.dump"
  else
    start=$(date +%s)
    log "netbox migrate (once per NetBox version; 5-10 minutes on two cores)"
    "$venv/bin/netbox" migrate --no-input >"$work/migrate.log" 2>&1 ||
      { tail -40 "$work/migrate.log" >&2; die "netbox migrate failed"; }
    pg pg_dump -Fc netbox >"$tools/migrate.dump.tmp"
    mv "$tools/migrate.dump.tmp" "$tools/migrate.dump"
    log "migrated in $(( $(date +%s) - start ))s ($(grep -c '  Applying ' "$work/migrate.log") migrations)"
  fi
  start=$(date +%s)
  WG_NETBOX_SEED="$seed_json" "$venv/bin/netbox" shell --no-imports -c "$(cat "$seed_py")"
  pg pg_dump -Fc netbox >"$seeded.tmp"
  mv "$seeded.tmp" "$seeded"
  find "$tools" -maxdepth 1 -name 'seeded-*.dump' ! -name "$(basename "$seeded")" -delete
  log "seeded in $(( $(date +%s) - start ))s ($seeded)"
  stop_servers
}

# A stopped PostgreSQL cluster holding the seeded database twice: `netbox_tpl`
# (the template reset() copies) and `netbox`. The harness starts each NetBox on
# a copy of this folder: a copy takes well under a second where initdb plus
# pg_restore take 10-20 s on two busy cores.
prepare_cluster() {
  local start
  if [[ -f "$cluster/PG_VERSION" ]]; then
    log "database cluster ready ($cluster)"
    return
  fi
  start=$(date +%s)
  start_servers
  pg createdb netbox_tpl
  pg pg_restore --no-owner -d netbox_tpl "$seeded"
  pg createdb -T netbox_tpl netbox
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null
  find "$tools" -maxdepth 1 -name 'cluster-*' -exec rm -rf {} +
  rm -f "$pg_data/server.log"
  mv "$pg_data" "$cluster"
  stop_servers
  log "database cluster made in $(( $(date +%s) - start ))s ($cluster, $(du -sm "$cluster" | cut -f1) MB)"
}

write_manifest() {
  "$venv/bin/python" - "$manifest" <<EOF
import json, sys
json.dump({
    'netbox': '$NETBOX_VERSION',
    'pynetbox': '$PYNETBOX_VERSION',
    'python': '$venv/bin/python',
    'bin': '$venv/bin',
    'pgBin': '$pg_bin',
    'redisServer': '$(command -v redis-server)',
    'dump': '$seeded',
    'cluster': '$cluster',
}, open(sys.argv[1], 'w'), indent=2)
EOF
}

install_packages
build_venv
prepare_dump
prepare_cluster
write_manifest
log "done in $(( $(date +%s) - total ))s (NetBox $NETBOX_VERSION, pynetbox $PYNETBOX_VERSION)"
