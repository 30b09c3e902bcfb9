#!/usr/bin/env bash
# Times whole commands of kubectl mesh and istioctl proxy-config on the same
# generated dumps, side by side in one run: median wall time (to the
# millisecond) and median peak RSS of RUNS runs each (hack/runstat). The dumps
# and istioctl are cached in CACHE.
# SIZES: the sidecar dumps scaled from examples/istio-sidecar.json; VARIED: the
# other generator's dump (0: none); ONECORE: the size timed with GOMAXPROCS=1
# (0: none).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CACHE:-$HOME/.cache/kubectl-mesh}
RUNS=${RUNS:-5}
SIZES=${SIZES:-"1000 5000 10000"}
ISTIO_VERSION=v0.0.0-20260827124520-eed52ebb66ad
ISTIOCTL=${ISTIOCTL:-$CACHE/bin/istioctl}
MESH=bin/kubectl-mesh
DEFAULT_COMMANDS='listeners
routes
clusters
endpoints
secrets
listeners -o json
routes -o yaml
clusters -o yaml
endpoints -o json
endpoints -o yaml
all -o yaml'

command -v bc >/dev/null || { echo "bench: needs bc (apt-get install bc)" >&2; exit 2; }
mkdir -p "$CACHE/bin" "$CACHE/bench"
if [ ! -x "$ISTIOCTL" ]; then
  echo "bench: building istioctl $ISTIO_VERSION into $CACHE/bin (once; several minutes)" >&2
  GOBIN="$CACHE/bin" go install "istio.io/istio/istioctl/cmd/istioctl@$ISTIO_VERSION"
fi
for n in $SIZES; do
  f="$CACHE/bench/mesh-$n.json"
  [ -s "$f" ] || go run ./hack/gendump -services "$n" -endpoints 2 -o "$f"
done

# Both binaries run from copies written the same way. Peak RSS counts the
# binary's own pages, and a file fresh from the linker sits in the page cache
# in a layout that maps more of it: the same kubectl mesh binary peaks at
# 72 MB running "version" from the linker's file and 46 MB from a cp of it
# (istioctl: 106 MB and 86 MB for "listeners" on a small dump).
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
cp "$MESH" "$BIN/kubectl-mesh"
cp "$ISTIOCTL" "$BIN/istioctl"
MESH=$BIN/kubectl-mesh
ISTIOCTL=$BIN/istioctl
go build -o "$BIN/runstat" ./hack/runstat

# measure CMD... [--- CMD...]: prints "median_seconds median_rss_mb" of
# RUNS runs, a line a command; two commands take turns (see runstat: a host
# slower for a few seconds slows both, and their ratio holds).
measure() { "$BIN/runstat" -n "$RUNS" "$@"; }

# compare LABEL FILE [ENV NOTE]: times the commands read one per line of both
# tools on FILE, with ENV (e.g. GOMAXPROCS=1) for both, one row each; NOTE
# follows the command in its row.
compare() {
  local label=$1 f=$2 env=${3:-} note=${4:-} size c kind mine mt mr it ir
  size=$(( $(stat -c %s "$f") / 1000000 ))
  while IFS= read -r c; do
    [ -n "$c" ] || continue
    set -- $c
    kind=$1; shift
    mine=$kind; [ "$kind" = all ] && mine=config
    { read -r mt mr; read -r it ir; } < <(measure env $env $MESH "$mine" -f "$f" "$@" --- env $env "$ISTIOCTL" proxy-config "$kind" -f "$f" "$@")
    [ -n "$note" ] && c="$c $note"
    printf '%-8s %-7s %-22s %10s %10s %7.1fx %12s %12s %7.0f%%\n' "$label" "$size" "$c" "$mt" "$it" \
      "$(echo "$it / $mt" | bc -l)" "$mr" "$ir" "$(echo "100 * $mr / $ir" | bc -l)"
  done
}

printf '%-8s %-7s %-22s %10s %10s %8s %12s %12s %8s\n' SERVICES MB COMMAND "mesh s" "istioctl s" SPEEDUP "mesh MB" "istioctl MB" "MEM %"
# Start-up: the median wall time of 21 runs, to a tenth of a millisecond,
# and the median peak RSS; for the version alone (istioctl's without asking
# the cluster) and a listing of the small example dump.
startup() { "$BIN/runstat" -n 21 -p 4 "$@"; }
for pair in "version|version --remote=false" "listeners -f examples/istio-sidecar.json|proxy-config listeners -f examples/istio-sidecar.json"; do
  { read -r mt mr; read -r it ir; } < <(startup $MESH ${pair%%|*} --- "$ISTIOCTL" ${pair#*|})
  printf '%-8s %-7s %-22s %10s %10s %7.1fx %12s %12s %7.0f%%\n' "start" "-" "$(p=${pair%%|*}; [ "${p#* -f}" != "$p" ] && echo "${p%% -f*} (example)" || echo "$p")" "$mt" "$it" \
    "$(echo "$it / $mt" | bc -l)" "$mr" "$ir" "$(echo "100 * $mr / $ir" | bc -l)"
done
for n in $SIZES; do
  # One command per line; COMMANDS overrides, e.g. COMMANDS=$'listeners\nroutes -o json'.
  compare "$n" "$CACHE/bench/mesh-$n.json" < <(printf '%s\n' "${COMMANDS:-$DEFAULT_COMMANDS}")
done

# The other generator's dump (hack/gendump -varied: gateway-shaped, names,
# filter chains, routes, subsets and endpoints varied), and the listings on
# one core (GOMAXPROCS=1 for both tools: the machine is often busy).
VARIED=${VARIED:-5000}
if [ "$VARIED" != 0 ]; then
  v="$CACHE/bench/varied-$VARIED.json"
  [ -s "$v" ] || go run ./hack/gendump -varied -services "$VARIED" -o "$v"
  compare "${VARIED}v" "$v" < <(printf '%s\n' "${COMMANDS:-$DEFAULT_COMMANDS}")
fi
ONECORE=${ONECORE:-5000}
if [ "$ONECORE" != 0 ]; then
  f="$CACHE/bench/mesh-$ONECORE.json"
  [ -s "$f" ] || go run ./hack/gendump -services "$ONECORE" -endpoints 2 -o "$f"
  compare "$ONECORE" "$f" GOMAXPROCS=1 "(1 core)" < <(printf '%s\n' listeners routes clusters endpoints secrets)
fi

# diff of two dumps of the same size: the dump against a copy with one
# cluster in 250 changed (a connect timeout), as two proxies of one mesh
# differ. istioctl compares no two files.
printf '\n%-8s %-7s %-22s %10s %8s\n' SERVICES MB COMMAND "mesh s" "mesh MB"
for n in $SIZES; do
  f="$CACHE/bench/mesh-$n.json"
  g="$CACHE/bench/mesh-$n-changed.json"
  [ -s "$g" ] || awk '/"connect_timeout": "10s"/ { if (++c % 250 == 0) sub(/"10s"/, "\"11s\"") } { print }' "$f" > "$g"
  read -r mt mr < <(measure $MESH diff -f "$f" -f "$g")
  printf '%-8s %-7s %-22s %10s %8s\n' "$n" "$(( $(stat -c %s "$f") / 1000000 ))" "diff -f A -f B" "$mt" "$mr"
done

# status over many proxies: istiod's syncz for as many proxies as services.
printf '\n%-8s %-22s %10s %8s\n' PROXIES COMMAND "mesh s" "mesh MB"
for n in $SIZES; do
  s="$CACHE/bench/syncz-$n.json"
  [ -s "$s" ] || go run ./hack/gendump -syncz "$n" -o "$s"
  read -r mt mr < <(measure $MESH status -f "$s")
  printf '%-8s %-22s %10s %8s\n' "$n" "status -f syncz" "$mt" "$mr"
done

# trace and route-check: per-request latency after load (target: a trace on
# the 5000-service dump under 50 ms) and route-check tests per second.
echo
go test -run '^$' -bench 'Trace5000|RouteCheck' -benchtime "${BENCHTIME:-2s}" ./pkg/trace ./pkg/routecheck | grep -E '^Benchmark'
