#!/usr/bin/env bash
# Builds the real control-plane components of the end-to-end stack from the
# Go module proxy, in build-only modules generated here (never in the
# project's go.mod), into a versioned cache outside the repository. A second
# run finds the binaries and builds nothing. Prints the bin directory.
#
#   hack/e2e/build.sh            # etcd and kube-apiserver
#   hack/e2e/build.sh etcd       # one of them
set -euo pipefail
CACHE=${CACHE:-$HOME/.cache/kubectl-mesh}
K8S_VERSION=v1.37.2      # k8s.io/kubernetes
STAGING_VERSION=v0.37.2  # its staging modules (k8s.io/api, apiserver, ...)
ETCD_VERSION=v3.7.3      # go.etcd.io/etcd/server/v3
ISTIO_VERSION=v0.0.0-20260827124520-eed52ebb66ad  # istio.io/istio (pilot-discovery)
BIN="$CACHE/e2e/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"
mkdir -p "$BIN"
export GOFLAGS=-mod=mod GOWORK=off

# quiet runs a command with its output kept in a log, shown if it fails.
quiet() {
  local log
  log=$(mktemp)
  "$@" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; return 1; }
  rm -f "$log"
}

# workdir makes an empty build-only module and cds into it.
workdir() {
  local dir
  dir=$(mktemp -d)
  cd "$dir"
  go mod init "e2e.build/$1" >/dev/null 2>&1
  go mod edit -go=1.26
}

build_etcd() {
  [ -x "$BIN/etcd" ] && return
  echo "e2e: building etcd $ETCD_VERSION (once)" >&2
  ( workdir etcd
    cat > main.go <<'GO'
// etcd's own entry point, built from the module proxy for the e2e stack.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    quiet go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    quiet go mod tidy
    go build -trimpath -o "$BIN/etcd.tmp" . && mv "$BIN/etcd.tmp" "$BIN/etcd" )
}

build_apiserver() {
  [ -x "$BIN/kube-apiserver" ] && return
  echo "e2e: building kube-apiserver $K8S_VERSION (once; 15-25 minutes on 2 cores)" >&2
  ( workdir apiserver
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
    # them with ./staging; outside its tree they are the v0.x releases.
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    for m in $(grep -E '^\s*k8s.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk '{print $1}' | sort -u); do
      go mod edit -replace="$m=$m@$STAGING_VERSION"
    done
    quiet go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION"
    local v=k8s.io/component-base/version
    local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    go build -trimpath -ldflags "-X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor" \
      -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver && mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver" )
}

# build_istiod builds istiod (pilot-discovery) from the Go module proxy as
# the module itself pins its dependencies (no replace directives), into its
# own versioned directory, with Istio's CRDs from the same module. Prints
# its directory.
build_istiod() {
  local dir="$CACHE/e2e/istio-$ISTIO_VERSION/bin"
  mkdir -p "$dir"
  if ! [ -x "$dir/pilot-discovery" ]; then
    echo "e2e: building pilot-discovery $ISTIO_VERSION (once; 10-20 minutes on 2 cores)" >&2
    ( cd "$(mktemp -d)" && quiet env GOBIN="$dir" go install "istio.io/istio/pilot/cmd/pilot-discovery@$ISTIO_VERSION" )
  fi
  local src
  src=$(go mod download -json "istio.io/istio@$ISTIO_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  # Istio's CRDs, from the same module.
  [ -f "$dir/crd-all.gen.yaml" ] || cp "$src/manifests/charts/base/files/crd-all.gen.yaml" "$dir/crd-all.gen.yaml"
  # The Gateway API's standard CRDs (waypoints are Gateways), at the
  # version that istio.io/istio requires.
  if ! [ -f "$dir/gateway-api-crds.yaml" ]; then
    local gwv gw
    gwv=$(awk '$1 == "sigs.k8s.io/gateway-api" {print $2; exit}' "$src/go.mod")
    gw=$(go mod download -json "sigs.k8s.io/gateway-api@$gwv" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    for f in gatewayclasses gateways httproutes grpcroutes referencegrants; do
      cat "$gw/config/crd/standard/gateway.networking.k8s.io_$f.yaml"
      echo "---"
    done > "$dir/gateway-api-crds.yaml.tmp" && mv "$dir/gateway-api-crds.yaml.tmp" "$dir/gateway-api-crds.yaml"
  fi
  echo "$dir"
}

# build_ztunnel_standin builds hack/e2e/ztunnel-standin (its own module)
# against the istio.io/istio the stack's istiod is built from, for its
# generated xDS types; rebuilt when its source changes. Prints the binary.
build_ztunnel_standin() {
  local here src sum out
  here=$(cd "$(dirname "$0")" && pwd)
  src="$here/ztunnel-standin/main.go"
  sum=$(sha256sum "$src" | cut -c1-12)
  out="$CACHE/e2e/istio-$ISTIO_VERSION/bin/ztunnel-standin-$sum"
  [ -x "$out" ] && { echo "$out"; return; }
  echo "e2e: building the ztunnel stand-in against istio.io/istio $ISTIO_VERSION (once)" >&2
  mkdir -p "$(dirname "$out")"
  ( workdir ztunnel-standin
    cp "$src" main.go
    quiet go get "istio.io/istio@$ISTIO_VERSION"
    quiet go mod tidy
    go build -trimpath -o "$out.tmp" . && mv "$out.tmp" "$out" )
  echo "$out"
}

for c in "${@:-etcd kube-apiserver}"; do
  for one in $c; do
    case $one in
      etcd) build_etcd ;;
      kube-apiserver) build_apiserver ;;
      pilot-discovery) build_istiod; exit 0 ;;
      ztunnel-standin) build_ztunnel_standin; exit 0 ;;
      *) echo "e2e: unknown component $one" >&2; exit 2 ;;
    esac
  done
done
echo "$BIN"
