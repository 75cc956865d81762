#!/usr/bin/env bash
# Builds the Kubernetes control plane the test suite and the bench run on
# (kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok) and
# fetches the CRDs of the routers cutover writes (Gateway API's, Istio's
# VirtualService), at pinned versions, into a cache outside the repository
# keyed by those versions. Prints the cache directory. A second run finds the
# stamp and returns at once; a cold build takes ~8 min on 2 cores. A cache of
# the same binaries keyed by other CRD versions lends its binaries: then only
# the CRDs are fetched (seconds). Needs Go (1.24+) and the Go module proxy.
# Never writes into the repository.
set -euo pipefail

KUBERNETES_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.7.0
GATEWAY_API_VERSION=v1.3.0
# istio.io/api, whose tags follow Istio's releases: the CRDs Istio installs are generated there
ISTIO_API_VERSION=v1.31.4

BINARIES="kube-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
KEY="$BINARIES-gateway-api-$GATEWAY_API_VERSION-istio-$ISTIO_API_VERSION"
CACHE="${CUTOVER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cutover}"
DIR="$CACHE/$KEY"
STAMP="$DIR/.complete"

if [ -f "$STAMP" ]; then echo "$DIR"; exit 0; fi

log() { printf 'kube-binaries: %s\n' "$*" >&2; }
command -v go >/dev/null || { echo "kube-binaries: Go 1.24 or later is required to build the control plane (https://go.dev/dl/)" >&2; exit 1; }

mkdir -p "$(dirname "$DIR")"
# one build at a time per cache; the loser of the race waits and reuses the winner's
exec 9>"$DIR.lock"
flock 9
if [ -f "$STAMP" ]; then echo "$DIR"; exit 0; fi

WORK="$DIR.partial"
rm -rf "$WORK"
mkdir -p "$WORK/crds"
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
started=$(date +%s)

build_binaries() {
  mkdir -p "$WORK/bin" "$WORK/src/kubernetes" "$WORK/src/etcd"

  # Kubernetes: k8s.io/kubernetes is not meant to be required, its go.mod points its 31
  # staging modules at ./staging; a wrapper module replaces each with its published v0.x.
  minor_version="v0.${KUBERNETES_VERSION#v1.}"   # k8s.io/api v0.34.4 goes with v1.34.4
  minor="${minor_version#v0.}"; minor="${minor%%.*}"
  (
    cd "$WORK/src/kubernetes"
    printf 'module cutover.local/kube-build\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n' "$KUBERNETES_VERSION" > go.mod
    gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod")
    [ "$(echo "$staging" | wc -l)" -ge 30 ] || { echo "kube-binaries: no staging replaces found in $gomod" >&2; exit 1; }
    { echo; echo 'replace ('; for m in $staging; do echo "	$m => $m $minor_version"; done; echo ')'; } >> go.mod
    log "building kube-apiserver, kube-controller-manager, kube-scheduler $KUBERNETES_VERSION ($(echo "$staging" | wc -l) staging replaces)"
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags="$ldflags -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    go build -trimpath -ldflags "$ldflags" -o "$WORK/bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
  )

  log "building etcd $ETCD_VERSION"
  (
    cd "$WORK/src/etcd"
    printf 'module cutover.local/etcd-build\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > go.mod
    go build -trimpath -ldflags "-s -w" -o "$WORK/bin/etcd" go.etcd.io/etcd/server/v3
  )

  log "installing kwok $KWOK_VERSION"
  GOBIN="$WORK/bin" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  rm -rf "$WORK/src"
}

# the same binaries, in a complete cache keyed by other CRD versions: linked, not built again
earlier=""
for d in "$CACHE/$BINARIES"-*; do
  if [ -f "$d/.complete" ] && [ -d "$d/bin" ]; then earlier="$d"; break; fi
done
if [ -n "$earlier" ]; then
  log "binaries of $(basename "$earlier") reused; fetching the CRDs only"
  cp -al "$earlier/bin" "$WORK/bin" 2>/dev/null || cp -a "$earlier/bin" "$WORK/bin"
else
  build_binaries
fi

log "copying Gateway API $GATEWAY_API_VERSION CRDs"
gw=$(GOFLAGS= go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
cp "$gw"/config/crd/standard/*.yaml "$WORK/crds/"

log "copying Istio's VirtualService CRD ($ISTIO_API_VERSION)"
istio=$(GOFLAGS= go mod download -json "istio.io/api@$ISTIO_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
# one of the fourteen in the generated file: the one cutover writes (a document per CRD, separated by ---)
awk 'BEGIN { RS = "\n---\n" } /\n  name: virtualservices\.networking\.istio\.io\n/ { print }' \
  "$istio/kubernetes/customresourcedefinitions.gen.yaml" > "$WORK/crds/networking.istio.io_virtualservices.yaml"
grep -q '^  name: virtualservices.networking.istio.io$' "$WORK/crds/networking.istio.io_virtualservices.yaml" ||
  { echo "kube-binaries: no VirtualService CRD in istio.io/api@$ISTIO_API_VERSION" >&2; exit 1; }
chmod u+w "$WORK/crds/"*.yaml

"$WORK/bin/kube-apiserver" --version >&2
rm -rf "$DIR"
mv "$WORK" "$DIR"
echo "built in $(($(date +%s) - started)) s with $(go version)" > "$STAMP"
log "done in $(($(date +%s) - started)) s: $DIR"
echo "$DIR"
