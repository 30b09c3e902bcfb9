#!/usr/bin/env bash
# Writes the krew manifest for VERSION (to OUT, default dist/krew.yaml) from
# the archives and SHA256SUMS in dist/. The krew.yaml at the top of the
# repository is the released version's ("make release VERSION=vX.Y.Z").
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:?usage: hack/krew.sh VERSION [OUT]}
OUT=${2:-dist/krew.yaml}
REPO=${REPO:-https://github.com/kubectl-mesh/kubectl-mesh}
[ -f dist/SHA256SUMS ] || { echo "krew: run 'make dist VERSION=$VERSION' first" >&2; exit 2; }

platform() { # os arch
  local os=$1 arch=$2 bin=kubectl-mesh archive sha
  [ "$os" = windows ] && bin=kubectl-mesh.exe
  archive="kubectl-mesh_${VERSION}_${os}_${arch}.tar.gz"
  sha=$(awk -v a="$archive" '$2 == a {print $1}' dist/SHA256SUMS)
  [ -n "$sha" ] || { echo "krew: $archive is not in dist/SHA256SUMS" >&2; exit 2; }
  cat <<EOT
  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $REPO/releases/download/$VERSION/$archive
    sha256: $sha
    bin: $bin
    files:
    - from: $bin
      to: .
    - from: LICENSE
      to: .
EOT
}

{
cat <<EOT
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: mesh
spec:
  version: $VERSION
  homepage: $REPO
  shortDescription: Debug Istio and Envoy meshes - what each proxy holds and why
  description: |
    kubectl mesh shows what each Envoy in an Istio (or any Envoy) service mesh
    actually holds: listeners with every filter chain match, routes with their
    whole matches and actions, clusters with load balancing and TLS mode,
    endpoints with health, and certificates - including what istioctl
    proxy-config hides: header and method matches, weighted clusters,
    redirects, warming and rejected config - and traces one request through
    them with the reason at each hop, through sidecars or through Istio's
    ambient ztunnels and waypoints. It reads live pods or saved dumps (Envoy,
    ztunnel, istioctl and egctl formats, JSON or YAML) and never prints key
    material.
  caveats: |
    Reading live pods needs RBAC to:
      - get and list pods; get and create pods/portforward (Envoy admin port)
      - get workloads and services (deploy/NAME, sts/NAME, ds/NAME, svc/NAME, ... targets)
      - get pods/log (access logs)
      - create serviceaccounts/token (istiod's xDS debug port, 15012)
      - get and list namespaces, gateways and gatewayclasses (ambient mode)
    Saved dumps need no cluster access: kubectl mesh listeners -f dump.json

    For "kubectl mesh <TAB>" completion (kubectl 1.26+), link the binary
    under the name kubectl calls for plugin completion:
      ln -s "\$(command -v kubectl-mesh)" \\
        "\$(dirname "\$(command -v kubectl-mesh)")/kubectl_complete-mesh"
  platforms:
EOT
for p in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  platform "${p%/*}" "${p#*/}"
done
} > "$OUT"
echo "wrote $OUT for $VERSION"
