#!/usr/bin/env bash
# Builds the pinned kube-apiserver (tools/kube-apiserver/go.mod) and etcd
# (tools/etcd/go.mod) from the Go module proxy into .tools/bin/, for the real
# Kubernetes API suite (test/real-kube). Each is skipped when the binary there
# already reports the pinned version. KUBE_APISERVER_BIN / ETCD_BIN, when set,
# name binaries to use instead (nothing is built for them).
# Cold (empty module and build caches, 2 cores) this takes about 4.5 minutes:
# etcd 45s, kube-apiserver 218s, downloading 0.7 GB of modules and filling
# 2.4 GB of build cache; later runs are no-ops.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin"

# The version a go.mod requires of module $1 (in a require block or not).
pinned() { grep -oE "(^|[[:space:]])$1 v[0-9.]+" "$2" | awk '{print $NF}'; }

build_kube_apiserver() {
  local want out="$bin/kube-apiserver"
  want="$(pinned k8s.io/kubernetes "$root/tools/kube-apiserver/go.mod")"
  if [[ -n "${KUBE_APISERVER_BIN:-}" ]]; then
    echo "setup-kube: using KUBE_APISERVER_BIN=$KUBE_APISERVER_BIN ($("$KUBE_APISERVER_BIN" --version))"
    return
  fi
  if [[ -x "$out" ]] && [[ "$("$out" --version)" == "Kubernetes $want" ]]; then
    echo "setup-kube: kube-apiserver $want already built at $out"
    return
  fi
  local start minor="${want#v1.}"
  minor="${minor%%.*}"
  start=$(date +%s)
  echo "setup-kube: building kube-apiserver $want from the Go module proxy (cold: several minutes)"
  # The version variables are what Kubernetes' own build stamps
  # (hack/lib/version.sh); without them the server reports v0.0.0-master.
  # CGO_ENABLED=0 as in Kubernetes' release builds of kube-apiserver.
  (cd "$root/tools/kube-apiserver" && CGO_ENABLED=0 go build -trimpath -o "$out" \
    -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$want -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver)
  echo "setup-kube: built $("$out" --version) in $(( $(date +%s) - start ))s"
}

build_etcd() {
  local want out="$bin/etcd"
  want="$(pinned go.etcd.io/etcd/server/v3 "$root/tools/etcd/go.mod")"
  if [[ -n "${ETCD_BIN:-}" ]]; then
    echo "setup-kube: using ETCD_BIN=$ETCD_BIN ($("$ETCD_BIN" --version | head -1))"
    return
  fi
  if [[ -x "$out" ]] && [[ "$("$out" --version | head -1)" == "etcd Version: ${want#v}" ]]; then
    echo "setup-kube: etcd $want already built at $out"
    return
  fi
  local start
  start=$(date +%s)
  echo "setup-kube: building etcd $want from the Go module proxy"
  (cd "$root/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$out" .)
  echo "setup-kube: built $("$out" --version | head -1) in $(( $(date +%s) - start ))s"
}

command -v go >/dev/null || [[ -n "${KUBE_APISERVER_BIN:-}" && -n "${ETCD_BIN:-}" ]] ||
  { echo "setup-kube: Go is required to build kube-apiserver and etcd" >&2; exit 1; }
total=$(date +%s)
build_etcd
build_kube_apiserver
echo "setup-kube: done in $(( $(date +%s) - total ))s"
