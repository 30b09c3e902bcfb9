#!/usr/bin/env bash
# Builds krew itself (sigs.k8s.io/krew, from the Go module proxy) into a
# versioned cache outside the repository, for the release test: the krew
# binary as kubectl-krew (so "kubectl krew" finds it) and krew's manifest
# validator, validate-krew-manifest. A second run builds nothing. Prints the
# bin directory.
set -euo pipefail
CACHE=${CACHE:-$HOME/.cache/kubectl-mesh}
KREW_VERSION=v0.4.3
BIN="$CACHE/krew-$KREW_VERSION/bin"
if [ ! -x "$BIN/kubectl-krew" ] || [ ! -x "$BIN/validate-krew-manifest" ]; then
  echo "krew: building krew $KREW_VERSION (once)" >&2
  mkdir -p "$BIN"
  log=$(mktemp)
  # Outside any module, so the project's go.mod is not touched.
  (cd "$(mktemp -d)" && GOWORK=off GOFLAGS=-mod=mod GOBIN="$BIN" \
    go install "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION") \
    >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  rm -f "$log"
  mv "$BIN/krew" "$BIN/kubectl-krew"
fi
echo "$BIN"
