#!/usr/bin/env bash
# Builds release archives: kubectl-mesh (kubectl-mesh.exe on Windows) with the
# LICENSE, for linux/darwin/windows on amd64/arm64, and their sha256 sums
# (each archive's in ARCHIVE.sha256, all of them in SHA256SUMS). VERSION is
# stamped into the binary ("kubectl mesh version" prints it).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:-dev}
rm -rf dist && mkdir -p dist
for platform in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  os=${platform%/*}; arch=${platform#*/}
  dir=$(mktemp -d)
  bin=kubectl-mesh; [ "$os" = windows ] && bin=kubectl-mesh.exe
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X github.com/kubectl-mesh/kubectl-mesh/pkg/cmd.version=$VERSION" -o "$dir/$bin" ./cmd/kubectl-mesh
  cp LICENSE "$dir/"
  archive="dist/kubectl-mesh_${VERSION}_${os}_${arch}.tar.gz"
  tar --sort=name --mtime='2000-01-01 00:00Z' --owner=0 --group=0 --numeric-owner -C "$dir" -czf "$archive" "$bin" LICENSE
  rm -rf "$dir"
done
(cd dist && sha256sum *.tar.gz > SHA256SUMS && for a in *.tar.gz; do sha256sum "$a" > "$a.sha256"; done)
cat dist/SHA256SUMS
